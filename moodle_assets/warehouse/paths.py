"""Where the warehouse lives.

The path is configuration, not code: ``MOODLE_DUCKDB_PATH`` points a deployment at its own
file, and a MotherDuck ``md:`` URI (the scale-out path) or ``:memory:`` must reach DuckDB
untouched, so only plain file paths get directories created or snapshots taken.

A relative file path resolves from the project folder (:func:`moodle_assets.project.project_dir`),
never from the working directory: ``dagster dev`` started in another folder, the daemon and
every step process must all open the same file.
"""

from __future__ import annotations

import os
from pathlib import Path

from moodle_assets.project import project_path

ENV_VAR = "MOODLE_DUCKDB_PATH"
DEFAULT_PATH = "data/moodle.duckdb"
SNAPSHOT_SUFFIX = "_snapshot"


def resolve_database_path(path: str | None = None) -> str:
    """Return the DuckDB database to use: ``path`` if given, else ``$MOODLE_DUCKDB_PATH``,
    else ``data/moodle.duckdb``; a relative file path is taken from the project folder and
    returned absolute. Empty strings count as unset, so an empty env var in a ``.env`` file
    does not silently open an in-memory database."""
    chosen = path or os.environ.get(ENV_VAR) or DEFAULT_PATH
    return resolve_local_path(chosen)


def resolve_local_path(path: str) -> str:
    """An absolute path for a local file (relative ones from the project folder); ``md:`` and
    ``:memory:`` unchanged."""
    if not is_local_file(path):
        return path
    return str(project_path(path))


def is_local_file(path: str) -> bool:
    """True for a database that is a file on this machine (not MotherDuck, not in memory)."""
    return not (path.startswith("md:") or path.startswith("motherduck:") or path.startswith(":memory:"))


def default_snapshot_path(path: str) -> str | None:
    """``data/moodle.duckdb`` -> ``data/moodle_snapshot.duckdb``; None where no file exists to copy."""
    if not is_local_file(path):
        return None
    p = Path(path)
    return str(p.with_name(f"{p.stem}{SNAPSHOT_SUFFIX}{p.suffix or '.duckdb'}"))


def ensure_parent_dir(path: str) -> None:
    """Create the directory of a local database file so a first run on a fresh checkout works."""
    if is_local_file(path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
