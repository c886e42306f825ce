"""The ``moodle._errors`` and ``moodle._loads`` tables.

Per-item failures of a fan-out (one course the service account may not read) must not sink
the load, but they must not vanish either: they are written in the same transaction as the
data they belong to, so the errors table always describes the rows actually in the table.
``_loads`` is the append-only history of every write, for freshness checks and audits.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import duckdb

from .notes import TableNotes, apply_notes
from .sql import TableName

SCHEMA = "moodle"
ERRORS_TABLE = f"{SCHEMA}._errors"
LOADS_TABLE = f"{SCHEMA}._loads"

_DDL = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
CREATE TABLE IF NOT EXISTS {ERRORS_TABLE} (
    table_name VARCHAR, partition_key VARCHAR, item JSON, "function" VARCHAR,
    errorcode VARCHAR, message VARCHAR, _loaded_at TIMESTAMP WITH TIME ZONE);
CREATE TABLE IF NOT EXISTS {LOADS_TABLE} (
    table_name VARCHAR, partition_key VARCHAR, row_count BIGINT,
    loaded_at TIMESTAMP WITH TIME ZONE, meta JSON);
"""

# Rows go in as parameter lists unnested side by side (DuckDB zips unnests in one SELECT):
# no Arrow or pandas object to register, so a write does not import pandas (~0.3 s per process).
_ERROR_FIELDS = ("partition_key", "item", "function", "errorcode", "message")


_NOTES = {
    ERRORS_TABLE: (
        (
            "The fan-out items Moodle refused in the latest load of each table (a course the "
            "account may not read): they are not in the table, and the rest loaded."
        ),
        {
            "table_name": "The table (schema.name) the item belongs to.",
            "partition_key": "The partition of that table the item was loaded for; NULL for a whole-table load.",
            "item": 'The lookup values of the refused item, e.g. {"courseid": 7}.',
            "function": "The Moodle web-service function that refused it.",
            "errorcode": "Moodle's error code (e.g. requireloginerror, nopermissions).",
            "message": "Moodle's error message.",
            "_loaded_at": "When the load that met the error was written (UTC).",
        },
    ),
    LOADS_TABLE: (
        (
            "One row per load of any table, raw or analytics (per partition for a partitioned "
            "table): the history of every write."
        ),
        {
            "table_name": "The table (schema.name) written.",
            "partition_key": "The partition written; NULL for a whole-table load.",
            "row_count": "Rows written by this load (of this partition).",
            "loaded_at": "When the load was written (UTC); the table's _loaded_at.",
            "meta": "What the load used: incremental mode and cut-off, Moodle's warnings, declared columns a "
            "value did not fit (widened); for analytics the parameters, such as now.",
        },
    ),
}


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(_DDL)
    described = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = ? "
        "AND table_name IN ('_errors', '_loads') AND comment IS NOT NULL",
        [SCHEMA],
    ).fetchall()[0][0]
    if described < len(_NOTES):
        for table, (description, columns) in _NOTES.items():
            apply_notes(con, TableName.parse(table), TableNotes(description, columns))


def replace_errors(
    con: duckdb.DuckDBPyConnection,
    table: str,
    partitions: Sequence[str] | None,
    errors: Sequence[Mapping[str, Any]],
    loaded_at: datetime,
) -> None:
    """Replace ``table``'s errors (all of them, or those of ``partitions``) with ``errors``.

    An error without a ``partition_key`` belongs to every partition of the load.
    """
    if partitions is None:
        con.execute(f"DELETE FROM {ERRORS_TABLE} WHERE table_name = ?", [table])
    else:
        con.execute(
            f"DELETE FROM {ERRORS_TABLE} WHERE table_name = ? AND partition_key IN (SELECT unnest(?::VARCHAR[]))",
            [table, list(partitions)],
        )
    rows = list(_error_rows(errors, partitions))
    if not rows:
        return
    columns = [[row[name] for row in rows] for name in _ERROR_FIELDS]
    con.execute(
        f'INSERT INTO {ERRORS_TABLE} (table_name, partition_key, item, "function", errorcode, message, _loaded_at) '
        'SELECT ?, partition_key, item::JSON, "function", errorcode, message, '
        "?::TIMESTAMPTZ FROM (SELECT unnest(?::VARCHAR[]) AS partition_key, unnest(?::VARCHAR[]) AS item, "
        'unnest(?::VARCHAR[]) AS "function", unnest(?::VARCHAR[]) AS errorcode, '
        "unnest(?::VARCHAR[]) AS message)",
        [table, loaded_at, *columns],
    )


def record_loads(
    con: duckdb.DuckDBPyConnection,
    table: str,
    row_counts: Mapping[str | None, int],
    loaded_at: datetime,
    meta: Mapping[str, Any] | None,
) -> None:
    """Append one ``_loads`` row per partition (key None for unpartitioned tables)."""
    meta_json = None if meta is None else json.dumps(dict(meta), ensure_ascii=False, default=str, separators=(",", ":"))
    keys = list(row_counts)
    counts = [int(row_counts[key]) for key in keys]
    con.execute(
        # by name: a shared warehouse of several sites adds a site column (warehouse.publish)
        f"INSERT INTO {LOADS_TABLE} (table_name, partition_key, row_count, loaded_at, meta) "
        "SELECT ?, partition_key, row_count, ?::TIMESTAMPTZ, ?::JSON "
        "FROM (SELECT unnest(?::VARCHAR[]) AS partition_key, unnest(?::BIGINT[]) AS row_count)",
        [table, loaded_at, meta_json, keys, counts],
    )


def _error_rows(errors: Sequence[Mapping[str, Any]], partitions: Sequence[str] | None) -> Iterator[dict[str, Any]]:
    for error in errors:
        row = {
            "item": json.dumps(error.get("item"), ensure_ascii=False, default=str, separators=(",", ":")),
            "function": _text(error.get("function")),
            "errorcode": _text(error.get("errorcode")),
            "message": _text(error.get("message")),
        }
        key = error.get("partition_key")
        if partitions is None or key is not None:
            yield {**row, "partition_key": _text(key)}
        else:
            for partition in partitions:
                yield {**row, "partition_key": partition}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
