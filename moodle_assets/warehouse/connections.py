"""One shared DuckDB instance per database file per process.

Nested or concurrent ``connect()`` calls in one process (a lookup while a write is open, two
threads) must share one instance: DuckDB refuses to attach a file twice in a process.
Connections are cursors on the shared instance, and the file (with its lock) is detached as
soon as the last cursor is closed, so the lock is held only briefly.

The file is attached under the catalog name DuckDB itself gives it when a client opens it
(``data/warehouse.duckdb`` -> ``warehouse``), so the project's SQL runs exactly as an analyst's
does. A file whose name is also a schema's (``moodle.duckdb``) or a name DuckDB keeps for
itself is attached as ``warehouse`` instead, and the clash is logged with what to do
(:func:`.paths.clashing_name_problem`).

Creating a DuckDB instance costs 10-30 ms (its buffer manager and thread pool), attaching
a file about 1 ms. So the in-memory instances the files are attached to are kept in a
small pool and reused: a materialisation opens and closes the file several times, and
each open costs an ``ATTACH`` and each close a ``DETACH``, not a new instance.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass

import duckdb

from .locking import InProcessConflict
from .paths import catalog_name, clashing_name_problem
from .sql import quote

FALLBACK_CATALOG = "warehouse"
_RESERVED = {"memory", "system", "temp", "main"}  # catalogs of the in-memory instance the file is attached to
_warned: set[str] = set()
log = logging.getLogger(__name__)

_registry_lock = threading.Lock()
_instances: dict[str, _Instance] = {}
_idle_roots: list[duckdb.DuckDBPyConnection] = []  # in-memory instances with no file attached
_MAX_IDLE_ROOTS = 2


@dataclass
class _Instance:
    root: duckdb.DuckDBPyConnection
    read_only: bool
    catalog: str
    users: int = 0


def attach_name(path: str) -> str:
    """The catalog to attach ``path`` as: DuckDB's own name for it, unless that clashes."""
    name = catalog_name(path) or FALLBACK_CATALOG
    problem = clashing_name_problem(path)
    if problem and path not in _warned:
        _warned.add(path)
        log.warning(problem)
    return FALLBACK_CATALOG if problem or name.lower() in _RESERVED else name


class SharedConnection:
    """A cursor on the shared instance of one database file; ``close()`` releases it."""

    def __init__(self, key: str, cursor: duckdb.DuckDBPyConnection) -> None:
        self._key = key
        self.cursor = cursor

    def close(self) -> None:
        self.cursor.close()
        with _registry_lock:
            instance = _instances[self._key]
            instance.users -= 1
            if instance.users == 0:
                del _instances[self._key]
                _release_root(instance.root, instance.catalog)


def open_file(path: str, read_only: bool) -> SharedConnection:
    """Open (or join) this process's instance of the database file at ``path``.

    Raises DuckDB's lock error when another process holds the file, and InProcessConflict
    when a writer asks while only readers hold it here; both are retried by the caller.
    A reader joins an open writer instance (it could not open the file read-only anyway).
    """
    key = os.path.abspath(path)
    with _registry_lock:
        instance = _instances.get(key)
        if instance is None:
            root = _idle_roots.pop() if _idle_roots else duckdb.connect(":memory:")
            catalog = attach_name(key)
            try:
                literal = "'" + key.replace("'", "''") + "'"
                options = " (READ_ONLY)" if read_only else ""
                root.execute(f"ATTACH {literal} AS {quote(catalog)}{options}")
            except BaseException:
                _park(root)
                raise
            instance = _instances[key] = _Instance(root, read_only, catalog)
        elif instance.read_only and not read_only:
            raise InProcessConflict(
                f"{key} is open read-only in this process; a writer has to wait until it is closed."
            )
        instance.users += 1
        try:
            cursor = instance.root.cursor()
            cursor.execute(f"USE {quote(instance.catalog)}")
        except BaseException:
            instance.users -= 1
            if instance.users == 0:
                del _instances[key]
                _release_root(instance.root, instance.catalog)
            raise
    return SharedConnection(key, cursor)


def _release_root(root: duckdb.DuckDBPyConnection, catalog: str) -> None:
    """Detach the file (releasing its lock; DuckDB checkpoints a written file first) and keep
    the instance for the next open. Called with the registry lock held."""
    try:
        root.execute(f"DETACH {quote(catalog)}")
        # And whatever a query attached beside it (ATTACH 'other.duckdb' AS x): a reused instance starts clean.
        for (other,) in root.execute(
            "SELECT database_name FROM duckdb_databases() WHERE NOT internal AND database_name <> 'memory'"
        ).fetchall():
            root.execute(f"DETACH {quote(other)}")
    except BaseException:
        root.close()  # closing the instance releases the file in any case
        raise
    _park(root)


def _park(root: duckdb.DuckDBPyConnection) -> None:
    if len(_idle_roots) < _MAX_IDLE_ROOTS:
        _idle_roots.append(root)
    else:
        root.close()
