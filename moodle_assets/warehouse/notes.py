"""What a table and its columns mean, kept in DuckDB itself, and its times as real times.

A load replaces a table, and a replaced table has lost its comments, so the comments are
written again in the load's own transaction (only those that differ: a partition load keeps
its table, and so its comments). SQL clients show them (``duckdb_columns()``, ``duckdb_tables()``,
``duckdb_views()``).

Moodle sends every time as unix seconds with 0 meaning "never" or "unset". A table with such
columns gets a view beside it (``moodle.courses`` -> ``moodle_t.courses``) with the same
columns, those as ``TIMESTAMP WITH TIME ZONE`` and NULL for 0, so an analyst filters and
groups by time without epoch arithmetic. The view is (re)created in the load's transaction
whenever the table's columns changed, since a DuckDB view refuses to run over a table whose
column types moved.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import duckdb

from .sql import TableName, quote

TIMESTAMPTZ = "TIMESTAMP WITH TIME ZONE"
EPOCH_NOTE = "Here a TIMESTAMP WITH TIME ZONE: NULL where the table has 0 (never, unset)."


@dataclass(frozen=True)
class TableNotes:
    """Comments for one table and the unix-time columns its time view converts."""

    description: str | None = None
    columns: Mapping[str, str] = field(default_factory=dict)  # column -> what it holds
    epoch_columns: Sequence[str] = ()  # unix seconds, 0 = never/unset
    epoch_view: str | None = None  # "schema.name" of the view with those as timestamps


def literal(text: str) -> str:
    """An SQL string literal (COMMENT ON takes no parameters)."""
    return "'" + text.replace("'", "''") + "'"


def epoch_view_sql(table: TableName | str, columns: Sequence[str], epoch_columns: Sequence[str]) -> str:
    """SELECT of ``table`` (or of a subquery) with each unix-time column as a timestamp (NULL for
    0, and for a value that is not a whole number of seconds: a column Moodle sent as text stays
    readable)."""
    source = table.sql if isinstance(table, TableName) else table
    times = [c for c in columns if c in set(epoch_columns)]
    if not times:
        return f"SELECT * FROM {source}"
    replace = ", ".join(f"TRY(to_timestamp(NULLIF(TRY_CAST({quote(c)} AS BIGINT), 0))) AS {quote(c)}" for c in times)
    return f"SELECT * REPLACE ({replace}) FROM {source}"


def _columns(con: duckdb.DuckDBPyConnection, name: TableName) -> dict[str, tuple[str, str | None]]:
    rows = con.execute(
        "SELECT column_name, data_type, comment FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = ? AND table_name = ? ORDER BY column_index",
        [name.schema, name.name],
    ).fetchall()
    return {column: (type_, comment) for column, type_, comment in rows}


def _comment(con: duckdb.DuckDBPyConnection, name: TableName) -> tuple[bool, str | None]:
    """(exists, comment) of a table or view."""
    rows = con.execute(
        "SELECT comment FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = ? "
        "AND table_name = ? UNION ALL SELECT comment FROM duckdb_views() WHERE database_name = current_database() "
        "AND schema_name = ? AND view_name = ?",
        [name.schema, name.name, name.schema, name.name],
    ).fetchall()
    return (bool(rows), rows[0][0] if rows else None)


def apply_notes(con: duckdb.DuckDBPyConnection, table: TableName, notes: TableNotes) -> None:
    """Write ``notes`` onto ``table`` (and its time view) inside the caller's transaction."""
    present = _columns(con, table)
    statements = []
    if notes.description and _comment(con, table)[1] != notes.description:
        statements.append(f"COMMENT ON TABLE {table.sql} IS {literal(notes.description)}")
    for column, text in notes.columns.items():
        if column in present and present[column][1] != text:
            statements.append(f"COMMENT ON COLUMN {table.sql}.{quote(column)} IS {literal(text)}")
    if notes.epoch_view:
        statements += _view_statements(con, table, present, notes)
    for statement in statements:
        con.execute(statement)


def _view_statements(
    con: duckdb.DuckDBPyConnection, table: TableName, present: Mapping[str, tuple[str, str | None]], notes: TableNotes
) -> list[str]:
    view = TableName.parse(notes.epoch_view or "")
    times = set(notes.epoch_columns) & set(present)
    wanted = {
        column: (
            TIMESTAMPTZ if column in times else type_,
            " ".join(filter(None, [notes.columns.get(column), EPOCH_NOTE if column in times else None])) or None,
        )
        for column, type_ in ((c, t) for c, (t, _) in present.items())
    }
    description = notes.description and (
        f"{notes.description}\n\nThe table {table} with its unix times as timestamps (NULL for 0)."
    )
    current = _columns(con, view)
    statements = []
    rebuilt = [(c, t) for c, (t, _) in current.items()] != [(c, t) for c, (t, _) in wanted.items()]
    if rebuilt:
        statements.append(f"CREATE SCHEMA IF NOT EXISTS {quote(view.schema)}")
        statements.append(f"CREATE OR REPLACE VIEW {view.sql} AS {epoch_view_sql(table, list(present), sorted(times))}")
        current = {}
    if description and (rebuilt or _comment(con, view)[1] != description):
        statements.append(f"COMMENT ON VIEW {view.sql} IS {literal(description)}")
    for column, (_, text) in wanted.items():
        if text and (column not in current or current[column][1] != text):
            statements.append(f"COMMENT ON COLUMN {view.sql}.{quote(column)} IS {literal(text)}")
    return statements
