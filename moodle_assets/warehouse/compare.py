"""Compare two warehouses table by table, as an analyst querying them would see them.

The incremental refresh promises that a nightly run leaves every table as a full harvest of
the same site would; the incremental test and the benchmark check that promise with this.
Left out of the comparison: load bookkeeping (``_loaded_at``, ``_item``) and the values Moodle
stamps with the time of each request, so that any two harvests differ in them: the harvesting
account's own ``_lastloaded`` preference (``get_user_preferences`` stamps it when it loads
them), and the times of a competency rating not stored yet (``usercompetencycourse`` with id
0: the course competency report makes one on the fly, timecreated = timemodified = now).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import duckdb

BOOKKEEPING = ("_loaded_at", "_item")
LASTLOADED = re.compile(r'("name"\s*:\s*"_lastloaded"\s*,\s*"value"\s*:\s*)"?\d+"?')
UNSTORED_TIMES = re.compile(r'("time(?:created|modified)"\s*:\s*)\d+')


@dataclass
class TableDifference:
    """Rows only on one side (as column -> text), and the columns whose values differ."""

    only_left: list[dict] = field(default_factory=list)
    only_right: list[dict] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.only_left or self.only_right)


def data_tables(db: str, schema: str = "moodle") -> list[str]:
    """The tables analysts query (not ``_loads``, ``_errors``, ``_items``)."""
    with duckdb.connect(db, read_only=True) as con:
        return sorted(
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ? AND table_type = 'BASE TABLE' "
                "AND NOT starts_with(table_name, '_')",
                [schema],
            ).fetchall()
        )


def table_rows(db: str, table: str, schema: str = "moodle") -> tuple[list[str], Counter]:
    """The table's columns (bookkeeping left out) and its rows as a multiset of text tuples."""
    with duckdb.connect(db, read_only=True) as con:
        columns = [r[0] for r in con.execute(f'DESCRIBE {schema}."{table}"').fetchall() if r[0] not in BOOKKEEPING]
        select = ", ".join(f'CAST("{c}" AS VARCHAR)' for c in columns)
        rows = con.execute(f'SELECT {select} FROM {schema}."{table}"').fetchall()
    return columns, Counter(tuple(_mask(v) for v in row) for row in rows)


def _mask(value: str | None) -> str | None:
    if value is None:
        return value
    if "_lastloaded" in value:
        value = LASTLOADED.sub(r"\1<request time>", value)
    if value.startswith('{"userid"') and '"id":0,' in value and '"competencyid"' in value:
        value = UNSTORED_TIMES.sub(r"\1<request time>", value)
    return value


def compare_table(left_db: str, right_db: str, table: str) -> TableDifference:
    left_columns, left = table_rows(left_db, table)
    right_columns, right = table_rows(right_db, table)
    if left_columns != right_columns:
        return TableDifference(
            [{"columns": ", ".join(left_columns)}], [{"columns": ", ".join(right_columns)}], ["(columns)"]
        )
    only_left, only_right = list((left - right).elements()), list((right - left).elements())
    differing = sorted(
        {c for i, c in enumerate(left_columns) if {r[i] for r in only_left} != {r[i] for r in only_right}}
    )
    as_dicts = lambda rows: [dict(zip(left_columns, r, strict=True)) for r in rows]  # noqa: E731
    return TableDifference(as_dicts(only_left), as_dicts(only_right), differing)


def compare(left_db: str, right_db: str, tables: list[str] | None = None) -> dict[str, TableDifference]:
    """Every table of either file (or ``tables``) -> its difference (falsy when equal)."""
    left, right = set(data_tables(left_db)), set(data_tables(right_db))
    out = {}
    for table in tables or sorted(left | right):
        if table in left and table in right:
            out[table] = compare_table(left_db, right_db, table)
        else:  # a table only one side has: every row of it differs
            missing = "left" if table not in left else "right"
            out[table] = TableDifference(
                [{}] * (table in left), [{}] * (table in right), [f"(not in the {missing} file)"]
            )
    return out
