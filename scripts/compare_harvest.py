"""Harvest the demo Moodle fully and compare two harvests row for row.

A behaviour check for changes to the engine: run ``snapshot`` before and after, then
``compare``. Every table of schema ``moodle`` is dumped row for row (``_loaded_at`` left out,
rows sorted), with the HTTP calls the demo server received (as a sorted multiset: calls run
concurrently, so their order varies).

    .venv/bin/python scripts/compare_harvest.py snapshot before.json
    .venv/bin/python scripts/compare_harvest.py snapshot after.json
    .venv/bin/python scripts/compare_harvest.py compare before.json after.json
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import warnings
from collections import Counter
from pathlib import Path

DEMO_NOW = 1795700000  # the tests' clock: 2026-11-26
LOAD_TIMES = ("_loaded_at", "loaded_at")
PARTITIONS = ("2026-11-01", "2026-11-30")  # a range of calendar_events' daily partitions


def snapshot(out: str) -> None:
    warnings.filterwarnings("ignore")
    os.environ["MOODLE_ASSETS_NOW"] = str(DEMO_NOW)
    with tempfile.TemporaryDirectory() as folder:
        os.environ["MOODLE_PROJECT_DIR"] = folder
        os.environ.pop("MOODLE_ENDPOINTS_FILE", None)
        from dagster import materialize

        from moodle_assets import clock
        from moodle_assets.demo.dataset import DemoConfig, generate
        from moodle_assets.demo.server import DEMO_TOKEN, DemoServer
        from tests.assets.helpers import endpoint_assets, resources, rows

        db = str(Path(folder) / "warehouse.duckdb")
        with clock.frozen(DEMO_NOW, environment=True), DemoServer(generate(DemoConfig(now=DEMO_NOW))) as server:
            res = resources(server.url, DEMO_TOKEN, db, max_concurrency=4)
            assets = endpoint_assets()
            plain = [a for a in assets if a.partitions_def is None]
            result = materialize(plain, resources=res, raise_on_error=False)
            assert result.success, "the unpartitioned harvest failed"
            for asset in (a for a in assets if a.partitions_def is not None):
                result = materialize(
                    [asset],
                    resources=res,
                    raise_on_error=False,
                    tags={
                        "dagster/asset_partition_range_start": PARTITIONS[0],
                        "dagster/asset_partition_range_end": PARTITIONS[1],
                    },
                )
                assert result.success, f"the partitioned harvest of {asset.key} failed"
            calls = sorted(json.dumps([c.function, c.fields, c.token_kind, c.method]) for c in server.calls)
            site = server.url.rstrip("/")
        tables = {}
        for (table,) in rows(
            db, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'moodle' ORDER BY 1"
        ):
            columns = [
                r[0]
                for r in rows(
                    db,
                    "SELECT column_name, data_type FROM information_schema.columns "
                    "WHERE table_schema = 'moodle' AND table_name = ? ORDER BY ordinal_position",
                    [table],
                )
            ]
            kept = [c for c in columns if c not in LOAD_TIMES]
            types = rows(
                db,
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'moodle' AND table_name = ? ORDER BY ordinal_position",
                [table],
            )
            select = ", ".join('"' + c + '"' for c in kept) or "1"
            data = sorted(
                json.dumps(list(r), default=str).replace(site, "SITE")
                for r in rows(db, f'SELECT {select} FROM moodle."{table}"')
            )
            tables[table] = {"columns": [list(t) for t in types if t[0] not in LOAD_TIMES], "rows": data}
    Path(out).write_text(json.dumps({"tables": tables, "calls": calls}))
    print(f"{out}: {len(tables)} tables, {sum(len(t['rows']) for t in tables.values())} rows, {len(calls)} calls")


def compare(before: str, after: str) -> int:
    a, b = json.loads(Path(before).read_text()), json.loads(Path(after).read_text())
    problems = []
    for table in sorted(set(a["tables"]) | set(b["tables"])):
        ta, tb = a["tables"].get(table), b["tables"].get(table)
        if ta is None or tb is None:
            problems.append(f"{table}: only in {'after' if ta is None else 'before'}")
        elif ta["columns"] != tb["columns"]:
            problems.append(f"{table}: columns differ: {ta['columns']} != {tb['columns']}")
        elif ta["rows"] != tb["rows"]:
            diff = Counter(ta["rows"]) - Counter(tb["rows"]), Counter(tb["rows"]) - Counter(ta["rows"])
            problems.append(f"{table}: {sum(diff[0].values())} rows only before, {sum(diff[1].values())} only after")
    if a["calls"] != b["calls"]:
        diff = Counter(a["calls"]) - Counter(b["calls"]), Counter(b["calls"]) - Counter(a["calls"])
        problems.append(f"calls: {sum(diff[0].values())} only before, {sum(diff[1].values())} only after")
    for p in problems:
        print(p)
    rows_total = sum(len(t["rows"]) for t in a["tables"].values())
    print(
        f"{len(a['tables'])} tables, {rows_total} rows, {len(a['calls'])} calls: "
        + ("identical" if not problems else f"{len(problems)} difference(s)")
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    if sys.argv[1:2] == ["snapshot"]:
        snapshot(sys.argv[2])
    elif sys.argv[1:2] == ["compare"]:
        sys.exit(compare(sys.argv[2], sys.argv[3]))
    else:
        sys.exit(__doc__)
