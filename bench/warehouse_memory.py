"""Memory and speed of staging and loading a large fan-out.

Stages N Moodle-shaped records (nested objects, lists, a context column) and loads them in
one transaction, printing peak RSS after each phase. Staging should leave RSS flat however
large N gets; only DuckDB's own buffers grow during the load.

    .venv/bin/python bench/warehouse_memory.py            # 200,000 records
    .venv/bin/python bench/warehouse_memory.py 1000000
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from moodle_assets.warehouse import StagedRecords, Warehouse


def rss_mb() -> float:
    """Current resident set size in MB (from /proc, falling back to the peak)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def records(course: int, per_course: int) -> Iterator[dict[str, Any]]:
    for i in range(per_course):
        userid = course * per_course + i
        yield {
            "id": userid,
            "username": f"student{userid}",
            "fullname": f"Student Number {userid} \u00e9\u00e8",
            "email": f"student{userid}@example.org",
            "lastaccess": 1_700_000_000 + i,
            "roles": [{"roleid": 5, "name": "", "shortname": "student", "sortorder": 0}],
            "enrolledcourses": [{"id": course, "fullname": f"Course {course}", "shortname": f"C{course}"}],
            "preferences": {"auth_forcepasswordchange": "0"} if i % 2 else {"htmleditor": "atto", "x": [1, 2]},
            "customfields": None,
        }


def main(total: int = 200_000, per_course: int = 1_000) -> None:
    print(f"records: {total:,}  start RSS {rss_mb():.0f} MB")
    with tempfile.TemporaryDirectory() as tmp:
        warehouse = Warehouse(str(Path(tmp) / "bench.duckdb"))
        started = time.perf_counter()
        with StagedRecords(staging_dir=tmp) as staged:
            checkpoints = {total // 4, total // 2, 3 * total // 4}
            for course in range(total // per_course):
                staged.add(records(course, per_course), context={"courseid": course})
                if staged.row_count in checkpoints:
                    print(f"  staged {staged.row_count:>9,}  RSS {rss_mb():6.0f} MB")
            staged.paths()
            size = sum(f.stat().st_size for f in staged.directory.iterdir()) / 2**20
            staged_s = time.perf_counter() - started
            print(
                f"staged   {staged.row_count:>9,}  RSS {rss_mb():6.0f} MB  peak {peak_mb():6.0f} MB  "
                f"{staged_s:5.1f}s  file {size:.0f} MB"
            )
            started = time.perf_counter()
            result = warehouse.replace_table("moodle.enrolled_users", staged)
            load_s = time.perf_counter() - started
        print(f"loaded   {result.row_count:>9,}  RSS {rss_mb():6.0f} MB  peak {peak_mb():6.0f} MB  {load_s:5.1f}s")
        print(f"columns: {result.columns}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)
