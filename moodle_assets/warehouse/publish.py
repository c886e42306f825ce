"""Publishing one site's rows into the shared warehouse.

Each Moodle site is harvested by the single-site engine into its own DuckDB file
(``data/sites/north.duckdb``). That file is the engine's working state: the incremental items
it keeps and re-reads, its load history and refused items, tables it replaces and evolves at
will. Analysts and the analytics models read the shared file instead, where every table holds
every site's rows with a ``site`` column that is part of each key.

A site's publish replaces only that site's rows (or only some of its partitions), in one
transaction on the shared file: columns are added and widened, the site's old rows deleted and
its new rows inserted together, so a reader never sees a site half published, a run of one
site never shows half of another's, and a failure leaves the shared table as it was. Parallel
runs of different sites each write their own file and take turns only for the short publish
(:meth:`Warehouse.connect` takes this process's writer gate and retries the other processes'
file lock).

The rows travel as an Arrow table: they are read with the site file's connection, which is
closed before the shared file is opened, so this process never holds the two files at once
(and never opens a site file a second time in another DuckDB instance). Arrow drops DuckDB's
JSON alias, so every column is cast back to the site table's declared type on insert.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING

import duckdb

from . import bookkeeping
from .column_types import JSON, VARCHAR
from .load_steps import _describe, _evolve
from .notes import TableNotes, _columns, _comment, apply_notes
from .paths import is_local_file
from .sql import TableName, quote
from .warehouse import Warehouse
from .writers import writer_key

if TYPE_CHECKING:
    import pyarrow

SITE = "site"
SITE_NOTE = "The Moodle site these rows came from (its name in moodle_sites.yaml); part of every key."
_ROWS = "_publish_site_rows"  # the Arrow table's name while it is registered on the shared file's connection


class PublishError(ValueError):
    """A site's table cannot be published as it stands (missing, or using a reserved column)."""


@dataclass
class _SiteRows:
    """One table's rows read from a site's file, with what is needed to rebuild them elsewhere."""

    name: TableName
    types: dict[str, str]  # column -> declared DuckDB type, in the table's order
    comments: dict[str, str]  # column -> comment, for the columns that have one
    description: str | None
    rows: pyarrow.Table


def publish_site_rows(
    source: Warehouse,
    target: Warehouse,
    table: str,
    site: str,
    *,
    partition_column: str | None = None,
    partitions: Sequence[str] | None = None,
) -> int:
    """Replace ``site``'s rows of ``table`` in ``target`` with the rows of ``table`` in ``source``.

    With ``partitions``, only the rows whose ``partition_column`` (compared as text) is among
    them are read and replaced; the site's other partitions and every other site stay as they
    are. The target table is created if missing (``site`` first, then the source's columns with
    their types); columns it lacks are added, conflicting types widened, and its columns this
    source lacks are NULL for this site's rows. The table and column comments are copied.

    Returns the number of rows inserted. Raises :class:`PublishError` when the source has no
    such table, has its own ``site`` column, or lacks ``partition_column``; nothing is written then.
    """
    return publish_site(
        source, target, table, site, partition_column=partition_column, partitions=partitions, with_bookkeeping=False
    )


def publish_bookkeeping(source: Warehouse, target: Warehouse, site: str, table: str) -> dict[str, int]:
    """Replace ``site``'s ``moodle._errors`` and ``moodle._loads`` rows for ``table`` in ``target``.

    The rows of the source's bookkeeping tables whose ``table_name`` is ``table`` are copied
    into the target's tables of the same names, with a ``site`` column, in one transaction, so
    the items a site refused stay visible per site in the shared file beside its rows. The
    source keeps the whole load history, so its ``_loads`` rows replace the site's old ones.

    A bookkeeping table the source does not have yet is skipped silently: that site has never
    written one (no load, or no load since the table was introduced), so there is nothing of it
    to publish. Returns the rows published per bookkeeping table.
    """
    name = str(TableName.parse(table))
    _check(source, target, site)
    with source.connect(read_only=True) as con:
        found = [
            rows
            for book in (bookkeeping.ERRORS_TABLE, bookkeeping.LOADS_TABLE)
            if (rows := _read(con, TableName.parse(book), source, site, "table_name", [name])) is not None
        ]
    if not found:
        return {}
    with target._transaction() as con:
        return {str(rows.name): _write(con, site, rows, "table_name", [name]) for rows in found}


def publish_site(
    source: Warehouse,
    target: Warehouse,
    table: str,
    site: str,
    *,
    partition_column: str | None = None,
    partitions: Sequence[str] | None = None,
    with_bookkeeping: bool = True,
) -> int:
    """:func:`publish_site_rows` and :func:`publish_bookkeeping` in ONE transaction of the
    target: a run that stops half-way never leaves a site's rows without their load record
    (or the other way round). Returns the rows of ``table`` inserted."""
    name = TableName.parse(table)
    keys = None if partitions is None else [str(p) for p in partitions]
    if (partition_column is None) != (keys is None) or keys == []:
        raise ValueError(f"publish_site({table!r}) needs partition_column and partitions together, or neither.")
    _check(source, target, site)
    with source.connect(read_only=True) as con:
        found = _read(con, name, source, site, partition_column, keys)
        books = [
            rows
            for book in ((bookkeeping.ERRORS_TABLE, bookkeeping.LOADS_TABLE) if with_bookkeeping else ())
            if (rows := _read(con, TableName.parse(book), source, site, "table_name", [str(name)])) is not None
        ]
    if found is None:
        raise PublishError(
            f"Cannot publish {name} of site {site!r}: the site's file {source.path} has no table {name} "
            f"(materialise asset {name.asset_key} for that site first)."
        )
    with target._transaction() as con:
        inserted = _write(con, site, found, partition_column, keys)
        for rows in books:
            _write(con, site, rows, "table_name", [str(name)])
    return inserted


def _check(source: Warehouse, target: Warehouse, site: str) -> None:
    """Refuse what would fail later or publish under a wrong name, before either file is opened."""
    if not isinstance(site, str) or not site.strip():
        raise ValueError(f"A site to publish needs a name (as in moodle_sites.yaml), not {site!r}.")
    if writer_key(source.path) == writer_key(target.path):
        raise ValueError(f"The site's file and the shared warehouse are the same database ({source.path}).")
    if is_local_file(source.path) and not os.path.exists(source.path):
        # Opening it would create an empty file; a site that was never loaded has nothing to publish.
        raise PublishError(
            f"Cannot publish site {site!r}: its file {source.path} does not exist (load the site first)."
        )


def _read(
    con: duckdb.DuckDBPyConnection,
    name: TableName,
    source: Warehouse,
    site: str,
    filter_column: str | None,
    values: list[str] | None,
) -> _SiteRows | None:
    """``name``'s rows (those whose ``filter_column`` as text is among ``values``), its column types
    and comments; None when the source has no such table."""
    exists, description = _comment(con, name)
    columns = _columns(con, name)
    if not exists or not columns:
        return None
    reserved = [c for c in columns if c.lower() == SITE]
    if reserved:
        raise PublishError(
            f"Cannot publish {name} of site {site!r} from {source.path}: it has its own column {reserved[0]!r}, "
            f"and {SITE!r} is reserved in the shared warehouse for the site the rows came from; rename that column."
        )
    sql, params = f"SELECT * FROM {name.sql}", None
    if filter_column is not None:
        if filter_column not in columns:
            raise PublishError(
                f"Cannot publish partitions of {name} of site {site!r}: {name} in {source.path} has no column "
                f"{filter_column!r} (it has: {', '.join(columns)})."
            )
        sql += f" WHERE CAST({quote(filter_column)} AS VARCHAR) IN (SELECT unnest(?::VARCHAR[]))"
        params = [values]
    relation = con.sql(sql, params=params)
    rows = relation.to_arrow_table() if hasattr(relation, "to_arrow_table") else relation.fetch_arrow_table()
    return _SiteRows(
        name,
        {c: type_ for c, (type_, _) in columns.items()},
        {c: comment for c, (_, comment) in columns.items() if comment},
        description,
        rows,
    )


def _write(
    con: duckdb.DuckDBPyConnection, site: str, found: _SiteRows, filter_column: str | None, values: list[str] | None
) -> int:
    """Inside the target's transaction: shape the table for ``found``, replace the site's rows
    (of ``values`` of ``filter_column``), copy the comments. Returns the rows inserted."""
    name = found.name
    wanted = {SITE: VARCHAR, **found.types}
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(name.schema)}")
    existing = _describe(con, name)
    if not existing:
        con.execute(f"CREATE TABLE {name.sql} ({', '.join(f'{quote(c)} {t}' for c, t in wanted.items())})")
        existing = _describe(con, name)
    elif SITE not in existing:
        [(rows,)] = con.execute(f"SELECT count(*) FROM {name.sql}").fetchall()
        if rows:  # its rows would stay beside every site's with no site: refused, never mixed
            raise PublishError(
                f"{name} in the shared warehouse was loaded without sites (it has no site column and "
                f"{rows} rows): several sites need a warehouse of their own. Point MOODLE_DUCKDB_PATH at a "
                "new file and backfill every site."
            )
    target_types = _evolve(con, name, existing, wanted)
    delete, params = f"DELETE FROM {name.sql} WHERE {quote(SITE)} = ?", [site]
    if filter_column is not None:
        delete += f" AND CAST({quote(filter_column)} AS VARCHAR) IN (SELECT unnest(?::VARCHAR[]))"
        params.append(values)
    con.execute(delete, params)
    select = ", ".join(f"{_value(c, t, target_types[c])} AS {quote(c)}" for c, t in found.types.items())
    con.register(_ROWS, found.rows)
    try:
        [(inserted,)] = con.execute(
            f"INSERT INTO {name.sql} BY NAME SELECT ?::VARCHAR AS {quote(SITE)}, {select} FROM {quote(_ROWS)}", [site]
        ).fetchall()
    except BaseException:
        with suppress(duckdb.Error):  # an aborted transaction refuses even this; the cursor's end drops it
            con.unregister(_ROWS)
        raise
    con.unregister(_ROWS)
    apply_notes(con, name, TableNotes(found.description, {**found.comments, SITE: SITE_NOTE}))
    return int(inserted)


def _value(column: str, declared: str, target: str) -> str:
    """The Arrow column as the site's declared type (JSON again, not text), then as the shared
    table's type where that was widened (to JSON as a JSON value, as :func:`_evolve` converts)."""
    value = f"CAST({quote(column)} AS {declared})"
    if target == declared:
        return value
    return f"to_json({value})" if target == JSON else f"CAST({value} AS {target})"
