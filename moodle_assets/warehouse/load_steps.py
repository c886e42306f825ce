"""The SQL steps of a load: the staged files' types and SELECT, the table's columns and how they
evolve (added, widened), and row counts per partition. Used inside a transaction of
:class:`moodle_assets.warehouse.warehouse.Warehouse`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import duckdb

from .column_types import JSON, VARCHAR, widen
from .sql import TableName, quote
from .staging import StagedRecords

LOADED_AT = "_loaded_at"
LOADED_AT_TYPE = "TIMESTAMP WITH TIME ZONE"
# A single Moodle record (a course with its summary files, a quiz attempt with its
# questions) can be large; DuckDB's 16 MB default would reject it.
MAX_RECORD_BYTES = 256 * 2**20
_NO_COLUMNS = "__no_columns__"


def _widened(records: StagedRecords, meta: Mapping[str, Any] | None) -> tuple[dict[str, str], Mapping[str, Any] | None]:
    """The declared columns this load's values did not fit, and the load's meta recording them."""
    widened = records.widened
    if not widened:
        return {}, meta
    return widened, {**(meta or {}), "widened": widened}


def _staged_types(records: StagedRecords) -> dict[str, str]:
    types = records.columns
    if LOADED_AT in types:
        raise ValueError(f"Column {LOADED_AT!r} is reserved for the load time; rename that field.")
    return types


def _staged_select(files: list[str], types: Mapping[str, str], loaded_at: datetime) -> tuple[str, list[Any]]:
    """SELECT over the staged NDJSON with an explicit column list: no type guessing, and
    JSON columns keep the staged text verbatim."""
    read_types = dict(types) or {_NO_COLUMNS: VARCHAR}
    select_list = "".join(f"{quote(c)}, " for c in types)
    sql = (
        f"SELECT {select_list}?::TIMESTAMPTZ AS {LOADED_AT} "
        f"FROM read_json(?, columns = ?, format = 'newline_delimited', "
        f"maximum_object_size = {MAX_RECORD_BYTES})"
    )
    return sql, [loaded_at, files, read_types]


def _describe(con: duckdb.DuckDBPyConnection, name: TableName) -> dict[str, str]:
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ? "
        "ORDER BY ordinal_position",
        [name.schema, name.name],
    ).fetchall()
    return dict(rows)


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    [(count,)] = con.execute(sql).fetchall()  # fetchall: DuckDB refuses other work on a half-read result
    return int(count)


def _evolve(
    con: duckdb.DuckDBPyConnection, name: TableName, existing: Mapping[str, str], staged: Mapping[str, str | None]
) -> dict[str, str]:
    """Add missing columns and widen conflicting ones; return the types to read staged data as.

    A staged type of None (this load had only nulls there) keeps the column as it is. A column
    holding only NULLs so far takes the staged type, even a narrower one: an older load typed it
    VARCHAR for want of values, and the type Moodle declares is what it should have been."""
    load_types: dict[str, str] = {}
    for column, staged_type in staged.items():
        current = existing.get(column)
        if current is None:
            con.execute(f"ALTER TABLE {name.sql} ADD COLUMN IF NOT EXISTS {quote(column)} {staged_type or VARCHAR}")
            load_types[column] = staged_type or VARCHAR
            continue
        wider = widen(current, staged_type) or VARCHAR
        if (
            wider == current != staged_type
            and staged_type is not None
            and not _count(con, f"SELECT count({quote(column)}) FROM {name.sql}")
        ):
            wider = staged_type
        if wider != current:
            using = f"to_json({quote(column)})" if wider == JSON else f"CAST({quote(column)} AS {wider})"
            con.execute(f"ALTER TABLE {name.sql} ALTER COLUMN {quote(column)} SET DATA TYPE {wider} USING {using}")
        load_types[column] = wider
    return load_types


def _partition_counts(
    con: duckdb.DuckDBPyConnection, select: str, params: list[Any], column: str, partitions: list[str], name: TableName
) -> dict[str | None, int]:
    """Rows per partition in the staged data; refuses rows outside ``partitions``, which a
    later re-run of these partitions would not delete (and so would duplicate)."""
    counts: dict[str | None, int] = {p: 0 for p in partitions}
    rows = con.execute(
        f"SELECT CAST({quote(column)} AS VARCHAR), count(*) FROM ({select}) GROUP BY 1", params
    ).fetchall()
    strays = sorted("NULL" if key is None else key for key, _ in rows if key not in counts)
    if strays:
        raise ValueError(
            f"Records for {name} fall outside the partitions being replaced ({', '.join(partitions)}): "
            f"{column} = {', '.join(strays[:10])}"
        )
    for key, count in rows:
        counts[key] = int(count)
    return counts
