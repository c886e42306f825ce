"""The DuckDB warehouse: atomic table loads, partition replace, schema evolution, lookups.

Every write is one short transaction over records already staged on disk, so no DuckDB
connection (and no file lock) is held while Moodle is being called, and a failure at any
step leaves the previous table exactly as it was. Other processes wanting to write wait on the
file lock (see :mod:`.locking`) for the few seconds a write takes; other threads of this process
(steps running side by side) on the per-file writer lock (see :mod:`.writers`).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from moodle_assets.warehouse.load_steps import (  # noqa: F401 (LOADED_AT* re-exported)
    _NO_COLUMNS,
    LOADED_AT,
    LOADED_AT_TYPE,
    MAX_RECORD_BYTES,
    _count,
    _describe,
    _evolve,
    _partition_counts,
    _staged_select,
    _staged_types,
    _widened,
)

from . import bookkeeping
from .column_types import VARCHAR
from .connections import SharedConnection, open_file
from .locking import retry_while_locked
from .notes import TableNotes, apply_notes
from .paths import default_snapshot_path, ensure_parent_dir, is_local_file, resolve_database_path
from .sql import TableName, quote
from .staging import StagedRecords
from .writers import reading, writing


@dataclass
class LoadResult:
    """What one write did, for the materialisation's metadata."""

    table: str
    row_count: int
    columns: dict[str, str]
    loaded_at: datetime
    partitions: list[str] | None = None
    widened: dict[str, str] | None = None  # declared columns a value did not fit, and their type now


class MissingTableError(LookupError):
    """A lookup read a table or column that has not been materialised yet."""

    def __init__(self, message: str, table: str, column: str | None = None) -> None:
        super().__init__(message)
        self.table = table
        self.column = column


class Warehouse:
    """One DuckDB database (a local file, ``:memory:`` or a MotherDuck ``md:`` URI)."""

    def __init__(
        self, path: str | None = None, lock_timeout: float = 120.0, snapshot_path: str | None = "auto"
    ) -> None:
        self.path: str = resolve_database_path(path)
        self.lock_timeout = lock_timeout
        if snapshot_path == "auto" or not is_local_file(self.path):
            self.snapshot_path = default_snapshot_path(self.path)
        else:
            self.snapshot_path = snapshot_path
        self._memory: duckdb.DuckDBPyConnection | None = None

    def __repr__(self) -> str:
        return f"Warehouse({self.path!r})"

    # -- connections -------------------------------------------------------------------

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection that is always closed, retrying the file lock up to ``lock_timeout``.

        Keep it short: while it is open, no other process can open the file. A local file is
        attached under the catalog name DuckDB gives it (see :mod:`.connections`), so SQL runs
        here as in a client opened on the file. An in-memory database lives
        as long as this object, so every call sees the same data. A reader asking while this
        process has the file open for writing shares that connection's instance.

        Inside this process a writer waits for any other thread's write to end first, and a
        reader opens the file only between writes (:mod:`.writers`), so steps running side by
        side as threads never have two write transactions in one DuckDB instance at once.
        """
        gate = writing(self.path, self.lock_timeout) if not read_only else reading(self.path, self.lock_timeout)
        with gate, self._connection(read_only) as con:
            yield con

    @contextmanager
    def _connection(self, read_only: bool) -> Iterator[duckdb.DuckDBPyConnection]:
        if self.path.startswith(":memory:"):
            if self._memory is None:
                self._memory = duckdb.connect(self.path)
            con = self._memory.cursor()
            release = con.close
        elif not is_local_file(self.path):
            con = retry_while_locked(
                lambda: duckdb.connect(self.path, read_only=read_only), self.path, self.lock_timeout
            )
            release = con.close
        else:
            ensure_parent_dir(self.path)
            if read_only and not os.path.exists(self.path):
                # DuckDB cannot open a missing file read-only; start an empty database.
                self._open_file(read_only=False).close()
            shared = self._open_file(read_only)
            con, release = shared.cursor, shared.close
        try:
            yield con
        finally:
            release()

    def _open_file(self, read_only: bool) -> SharedConnection:
        return retry_while_locked(
            lambda: open_file(self.path, read_only), self.path, self.lock_timeout, self.snapshot_path
        )

    @contextmanager
    def _transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self.connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
            except BaseException:
                try:
                    con.execute("ROLLBACK")
                except duckdb.Error:
                    pass  # the failed statement already aborted the transaction
                raise
            con.execute("COMMIT")

    # -- writes ------------------------------------------------------------------------

    def replace_table(
        self,
        table: str,
        records: StagedRecords,
        *,
        errors: Sequence[Mapping[str, Any]] | None = None,
        meta: Mapping[str, Any] | None = None,
        notes: TableNotes | None = None,
    ) -> LoadResult:
        """Replace ``table`` ("schema.name") with the staged records, atomically.

        The new table is built under a temporary name, the old one dropped and the new one
        renamed, all in one transaction together with this table's ``moodle._errors`` rows
        (replaced by ``errors``), a new ``moodle._loads`` row, and the table's ``notes``
        (comments, time view). Declared columns a value did not fit are in the load's
        ``meta`` as ``widened``.
        """
        name = TableName.parse(table)
        types = _staged_types(records)
        files = records.paths()
        loaded_at = datetime.now(UTC)
        building = TableName(name.schema, f"{name.name}__loading")
        select, params = _staged_select(files, types, loaded_at)
        widened, meta = _widened(records, meta)
        with self._transaction() as con:
            bookkeeping.ensure_tables(con)
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(name.schema)}")
            con.execute(f"CREATE OR REPLACE TABLE {building.sql} AS {select}", params)
            con.execute(f"DROP TABLE IF EXISTS {name.sql}")
            con.execute(f"ALTER TABLE {building.sql} RENAME TO {quote(name.name)}")
            row_count = _count(con, f"SELECT count(*) FROM {name.sql}")
            bookkeeping.replace_errors(con, str(name), None, errors or [], loaded_at)
            bookkeeping.record_loads(con, str(name), {None: row_count}, loaded_at, meta)
            if notes is not None:
                apply_notes(con, name, notes)
            columns = _describe(con, name)
        return LoadResult(str(name), row_count, columns, loaded_at, widened=widened)

    def replace_partitions(
        self,
        table: str,
        records: StagedRecords,
        *,
        partition_column: str,
        partitions: Sequence[str],
        errors: Sequence[Mapping[str, Any]] | None = None,
        meta: Mapping[str, Any] | None = None,
        notes: TableNotes | None = None,
    ) -> LoadResult:
        """Replace exactly ``partitions`` of ``table`` with the staged records, atomically.

        Records must carry ``partition_column`` (usually as load context) with values among
        ``partitions``; values are compared as text. In one transaction the table is created
        if missing, new columns are added, conflicting types widened, the partitions' old
        rows deleted and the new ones inserted by name, so re-running a backfill leaves no
        duplicates and other partitions untouched. Errors carrying a ``partition_key``
        belong to that partition, others to every partition of this load.
        """
        name = TableName.parse(table)
        partitions = [str(p) for p in partitions]
        if not partitions:
            raise ValueError(f"replace_partitions({table!r}) needs at least one partition.")
        staged = _staged_types(records)
        if records.row_count and partition_column not in staged:
            raise ValueError(
                f"Records for {name} lack the partition column {partition_column!r}; "
                "pass it as load context so every record carries its partition."
            )
        files = records.paths()
        loaded_at = datetime.now(UTC)
        widened, meta = _widened(records, meta)
        with self._transaction() as con:
            bookkeeping.ensure_tables(con)
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(name.schema)}")
            existing = _describe(con, name)
            if not existing:
                wanted = {partition_column: VARCHAR, **staged} if partition_column not in staged else staged
                definition = ", ".join(f"{quote(c)} {t}" for c, t in {**wanted, LOADED_AT: LOADED_AT_TYPE}.items())
                con.execute(f"CREATE TABLE {name.sql} ({definition})")
                existing = _describe(con, name)
            load_types = _evolve(con, name, existing, records.seen_types)
            select, params = _staged_select(files, load_types, loaded_at)
            counts = (
                _partition_counts(con, select, params, partition_column, partitions, name)
                if partition_column in load_types
                else {p: 0 for p in partitions}
            )
            con.execute(
                f"DELETE FROM {name.sql} WHERE CAST({quote(partition_column)} AS VARCHAR) IN "
                "(SELECT unnest(?::VARCHAR[]))",
                [partitions],
            )
            con.execute(f"INSERT INTO {name.sql} BY NAME {select}", params)
            bookkeeping.replace_errors(con, str(name), partitions, errors or [], loaded_at)
            bookkeeping.record_loads(con, str(name), counts, loaded_at, meta)
            if notes is not None:
                apply_notes(con, name, notes)
            columns = _describe(con, name)
        return LoadResult(str(name), sum(counts.values()), columns, loaded_at, partitions, widened)

    def create_table_as(
        self,
        table: str,
        sql: str,
        params: Sequence[Any] | Mapping[str, Any] | None = None,
        *,
        meta: Mapping[str, Any] | None = None,
        notes: TableNotes | None = None,
    ) -> LoadResult:
        """Build ``table`` (an ``analytics`` model) from a SELECT over the warehouse, atomically,
        with ``_loaded_at``, a ``moodle._loads`` row and its ``notes`` like any other load."""
        name = TableName.parse(table)
        loaded_at = datetime.now(UTC)
        with self._transaction() as con:
            bookkeeping.ensure_tables(con)
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(name.schema)}")
            con.execute(
                f"CREATE OR REPLACE TABLE {name.sql} AS "
                # A literal, not a parameter, so the model's own ? or $name parameters bind as written.
                f"SELECT *, TIMESTAMPTZ '{loaded_at.isoformat()}' AS {LOADED_AT} FROM ({sql}) AS model",
                params,
            )
            row_count = _count(con, f"SELECT count(*) FROM {name.sql}")
            bookkeeping.record_loads(con, str(name), {None: row_count}, loaded_at, meta)
            if notes is not None:
                apply_notes(con, name, notes)
            columns = _describe(con, name)
        return LoadResult(str(name), row_count, columns, loaded_at)

    # -- reads -------------------------------------------------------------------------

    def read_column(self, table: str, column: str, distinct: bool = True, where: str | None = None) -> list:
        """Non-null values of ``table.column``, sorted (distinct by default), for lookup macros.

        ``where`` is an SQL condition from the endpoint spec. Raises MissingTableError when
        the table or column is not there yet, naming the asset to materialise first.
        """
        name = TableName.parse(table)
        with self.connect(read_only=True) as con:
            columns = _describe(con, name)
            if not columns:
                raise MissingTableError(
                    f"Table {name} does not exist yet: materialise asset {name.asset_key} first.", str(name), column
                )
            if column not in columns:
                raise MissingTableError(
                    f"Table {name} has no column {column!r} (it has: {', '.join(columns)}); "
                    f"fix the lookup or re-materialise asset {name.asset_key} if its endpoint now returns it.",
                    str(name),
                    column,
                )
            condition = f"{quote(column)} IS NOT NULL" + (f" AND ({where})" if where else "")
            keyword = "DISTINCT " if distinct else ""
            rows = con.execute(
                f"SELECT {keyword}{quote(column)} FROM {name.sql} WHERE {condition} ORDER BY 1"
            ).fetchall()
        return [row[0] for row in rows]

    def query(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None, *, read_only: bool = True
    ) -> list[tuple]:
        """Run one statement and return its rows."""
        with self.connect(read_only=read_only) as con:
            return con.execute(sql, params).fetchall()

    def query_dicts(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None, *, read_only: bool = True
    ) -> list[dict[str, Any]]:
        """Run one statement and return its rows as dicts keyed by column name."""
        with self.connect(read_only=read_only) as con:
            cursor = con.execute(sql, params)
            names = [d[0] for d in cursor.description or []]
            return [dict(zip(names, row, strict=False)) for row in cursor.fetchall()]

    def table_exists(self, table: str) -> bool:
        """Whether ``table`` ("schema.name") has been materialised."""
        if is_local_file(self.path) and not os.path.exists(self.path):
            return False
        with self.connect(read_only=True) as con:
            return bool(_describe(con, TableName.parse(table)))

    # -- snapshot ----------------------------------------------------------------------

    def refresh_snapshot(self) -> str | None:
        """Copy the database to the snapshot file that analysts keep open; return its path.

        The copy is taken under the write lock after a CHECKPOINT (so the file holds every
        committed change and nothing moves mid-copy), by a child process (see below), written beside the snapshot and moved
        over it with ``os.replace``: a reader never sees a half-written file, and an open
        reader keeps its old copy until it reconnects. Returns None for ``md:``/``:memory:``
        databases, when snapshots are disabled, or before the database exists.
        """
        if not self.snapshot_path or not is_local_file(self.path) or not os.path.exists(self.path):
            return None
        target = Path(self.snapshot_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
        with self.connect() as con:
            con.execute("CHECKPOINT")  # the file's catalog: the connection's current one
            try:
                # Copied by another process: closing a descriptor of the file in this one
                # would drop this process's POSIX lock on it, letting another writer in.
                subprocess.run(["cp", "--", self.path, str(partial)], check=True, capture_output=True)
                # A stale WAL beside the old snapshot would be replayed onto the new one.
                Path(f"{target}.wal").unlink(missing_ok=True)
                os.replace(partial, target)
            finally:
                partial.unlink(missing_ok=True)
        return str(target)
