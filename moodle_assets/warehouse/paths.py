"""Where the warehouse lives.

The path is configuration, not code: ``MOODLE_DUCKDB_PATH`` points a deployment at its own
file, and a MotherDuck ``md:`` URI (the scale-out path) or ``:memory:`` must reach DuckDB
untouched, so only plain file paths get directories created or snapshots taken.

A relative file path resolves from the project folder (:func:`moodle_assets.project.project_dir`),
never from the working directory: ``dagster dev`` started in another folder, the daemon and
every step process must all open the same file.

DuckDB names a database after its file (``data/warehouse.duckdb`` is catalog ``warehouse``),
and a catalog named like a schema (``moodle``, ``moodle_t``, ``analytics``) makes
``moodle.courses`` ambiguous. So the default file is ``data/warehouse.duckdb``, an install that
still has the old default ``data/moodle.duckdb`` has it moved once (with its WAL and snapshot),
and a configured file with such a name works but is named in a warning with what to do.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from moodle_assets.project import project_path

ENV_VAR = "MOODLE_DUCKDB_PATH"
DEFAULT_PATH = "data/warehouse.duckdb"
LEGACY_DEFAULT_PATH = "data/moodle.duckdb"  # the default until the file's catalog clashed with schema moodle
SNAPSHOT_SUFFIX = "_snapshot"
SCHEMAS = ("moodle", "moodle_t", "analytics")  # the warehouse's schemas: no catalog may share a name

log = logging.getLogger(__name__)


def resolve_database_path(path: str | None = None) -> str:
    """Return the DuckDB database to use: ``path`` if given, else ``$MOODLE_DUCKDB_PATH``,
    else ``data/warehouse.duckdb``; a relative file path is taken from the project folder and
    returned absolute. Empty strings count as unset, so an empty env var in a ``.env`` file
    does not silently open an in-memory database. The default file takes over the old default's
    data (:func:`move_legacy_default`); a MotherDuck database named like a schema is refused."""
    chosen = path or os.environ.get(ENV_VAR) or DEFAULT_PATH
    resolved = resolve_local_path(chosen)
    if chosen == DEFAULT_PATH:
        move_legacy_default(resolved)
    elif not is_local_file(resolved) and (problem := clashing_name_problem(resolved)):
        raise ValueError(problem)  # md:moodle: even the project's own SQL would be ambiguous
    return resolved


def move_legacy_default(path: str) -> bool:
    """Move ``data/moodle.duckdb`` (the old default, with its ``.wal`` and its snapshot) to the
    default ``path`` when only the old one exists, saying so in one line; True if it moved.

    Renames within one folder are atomic, so of several processes starting at once one moves
    the file and the others find it moved.
    """
    new = Path(path)
    old = new.with_name(Path(LEGACY_DEFAULT_PATH).name)
    if new.exists() or not old.is_file():
        return False
    pairs = [(old, new), (Path(f"{old}.wal"), Path(f"{new}.wal"))]
    old_snapshot, new_snapshot = Path(default_snapshot_path(str(old)) or ""), Path(default_snapshot_path(path) or "")
    if old_snapshot.is_file() and not new_snapshot.exists():
        pairs.append((old_snapshot, new_snapshot))
    for source, target in pairs:
        try:
            os.rename(source, target)
        except FileNotFoundError:
            if source == old:
                return False  # another process moved it first
    log.warning(
        f"Moved the warehouse {old} to {new} (the new default name: a file named moodle.duckdb is "
        "catalog 'moodle' in DuckDB, which makes moodle.courses ambiguous). Nothing else changes."
    )
    return True


def catalog_name(path: str) -> str | None:
    """The catalog DuckDB gives the database at ``path`` when it is opened directly: the file name
    up to its first dot (``data/warehouse.duckdb`` -> ``warehouse``), the database of an ``md:``
    URI; None in memory."""
    if path.startswith(("md:", "motherduck:")):
        name = path.split(":", 1)[1].split("?", 1)[0]
        return name or None
    if not is_local_file(path):
        return None
    return Path(path).name.split(".", 1)[0]


def clashing_name_problem(path: str) -> str | None:
    """What to do when the database's own name is also a schema's (None when it is not)."""
    name = catalog_name(path)
    if name is None or name.lower() not in SCHEMAS:
        return None
    if not is_local_file(path):
        return (
            f"The MotherDuck database {path} is named like the warehouse's schema '{name}', so "
            f"'{name}.<table>' is ambiguous: use a database of another name, e.g. md:moodle_warehouse."
        )
    better = Path(path).with_name("warehouse.duckdb")
    return (
        f"The warehouse {path} is catalog '{name}' in DuckDB, the name of one of its schemas, so "
        f"'{name}.<table>' is ambiguous in a DuckDB client opened on it (the project itself works). "
        f"Rename it to, e.g., {better} (with its .wal) and set {ENV_VAR} to that, or unset {ENV_VAR} "
        f"for the default {DEFAULT_PATH}."
    )


def resolve_local_path(path: str) -> str:
    """An absolute path for a local file (relative ones from the project folder); ``md:`` and
    ``:memory:`` unchanged."""
    if not is_local_file(path):
        return path
    return str(project_path(path))


def is_local_file(path: str) -> bool:
    """True for a database that is a file on this machine (not MotherDuck, not in memory)."""
    return not path.startswith(("md:", "motherduck:", ":memory:"))


def default_snapshot_path(path: str) -> str | None:
    """``data/warehouse.duckdb`` -> ``data/warehouse_snapshot.duckdb``; None where no file exists to copy."""
    if not is_local_file(path):
        return None
    p = Path(path)
    return str(p.with_name(f"{p.stem}{SNAPSHOT_SUFFIX}{p.suffix or '.duckdb'}"))


def ensure_parent_dir(path: str) -> None:
    """Create the directory of a local database file so a first run on a fresh checkout works."""
    if is_local_file(path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
