"""``moodle-assets compare A B``: two warehouse files table by table, as an analyst sees them.

How an incremental refresh is checked against a real site: after a day, harvest the site
in full into a new file (`MOODLE_DUCKDB_PATH=full.duckdb`) and compare it with the nightly
file. Load bookkeeping and the values Moodle stamps with the request time are left out
(moodle_assets/warehouse/compare.py); every other difference is printed, with the columns
that differ and the first rows on each side. Exit 0 when every table is equal, 1 otherwise,
2 when a file is missing.
"""

from __future__ import annotations

import argparse
import os
import sys

from moodle_assets.warehouse.compare import compare

EXAMPLE_ROWS = 3


def run_compare(args: argparse.Namespace) -> int:
    for path in (args.left, args.right):
        if not os.path.isfile(path):
            print(f"compare: no warehouse file at {path}", file=sys.stderr)
            return 2
    differences = compare(args.left, args.right, args.table or None)
    differ = {t: d for t, d in differences.items() if d}
    for table, difference in differ.items():
        print(
            f"{table}: {len(difference.only_left)} rows only in {args.left}, {len(difference.only_right)} only in "
            f"{args.right}; columns that differ: {', '.join(difference.columns) or '(row counts only)'}"
        )
        for side, rows in ((args.left, difference.only_left), (args.right, difference.only_right)):
            for row in rows[:EXAMPLE_ROWS]:
                shown = {k: v for k, v in row.items() if k in difference.columns or k in ("id", "courseid", "userid")}
                print(f"  {side}: {shown}")
    print(f"{len(differences) - len(differ)} of {len(differences)} tables equal")
    return 1 if differ else 0


def add_compare_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare",
        help="Compare two warehouse files table by table (e.g. a nightly file with a full harvest).",
        description=__doc__.splitlines()[0],
    )
    p.add_argument("left", help="A warehouse file, e.g. data/warehouse.duckdb.")
    p.add_argument("right", help="Another, e.g. a full harvest of the same site into full.duckdb.")
    p.add_argument("--table", action="append", help="Only this table of schema moodle (repeatable).")
    p.set_defaults(func=run_compare)
