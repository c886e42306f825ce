"""DuckDB load time against rows: the project's staging and load path on harvested tables.

    python bench/load_time.py DB_PATH [TABLE ...]

Reads each table (default: the fan-out chain's) of a harvested warehouse, stages its rows
as the assets do (``StagedRecords``) and loads them into a new file with
``Warehouse.replace_table`` (one transaction, as an asset's load). Prints one ``RESULT
{json}`` line: per table the rows, the seconds to stage them and the seconds of the load
transaction, so loads at 1x, 10x and 100x can be compared per row.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import CHAIN, emit  # noqa: E402


def main() -> None:
    import duckdb

    from moodle_assets.warehouse import StagedRecords, Warehouse

    source, tables = sys.argv[1], sys.argv[2:] or CHAIN
    out: dict[str, dict] = {}
    folder = tempfile.mkdtemp(prefix="load-time-")
    target = Warehouse(os.path.join(folder, "load.duckdb"), lock_timeout=10)
    with duckdb.connect(source, read_only=True) as con:
        for table in tables:
            columns = [
                r[0]
                for r in con.execute(f'DESCRIBE moodle."{table}"').fetchall()
                if r[0] not in ("_loaded_at", "_item")
            ]
            select = ", ".join(f'"{c}"' for c in columns)
            # Rows as Moodle-shaped dicts (JSON columns back to objects), as the fetch yields them.
            rows = [
                json.loads(line)
                for (line,) in con.execute(
                    f'SELECT to_json(t)::VARCHAR FROM (SELECT {select} FROM moodle."{table}") t'
                ).fetchall()
            ]
            started = time.perf_counter()
            with StagedRecords() as staged:
                for i in range(0, len(rows), 500):
                    staged.add(rows[i : i + 500])
                staged.paths()
                staged_s = time.perf_counter() - started
                loaded = time.perf_counter()
                target.replace_table(f"moodle.{table}", staged)
                load_s = time.perf_counter() - loaded
            out[table] = {
                "rows": len(rows),
                "stage_s": round(staged_s, 4),
                "load_s": round(load_s, 4),
                "load_us_per_row": round(1e6 * load_s / max(len(rows), 1), 2),
                "stage_us_per_row": round(1e6 * staged_s / max(len(rows), 1), 2),
            }
            del rows
    emit({"side": "load_time", "tables": out})


if __name__ == "__main__":
    main()
