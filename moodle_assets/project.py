"""The project folder: where relative paths (warehouse, snapshot, reports, your endpoints) live.

Dagster loads the code location from wherever it was started (``dagster dev`` in another
folder, a daemon, a step process), so a path such as ``data/warehouse.duckdb`` or
``moodle_endpoints.yaml`` must not depend on the working directory. It resolves from the
project folder, found in this order:

1. ``MOODLE_PROJECT_DIR``, when set (a folder that must exist);
2. the nearest folder above this package holding a ``pyproject.toml`` whose ``[tool.dagster]``
   ``module_name`` is ``moodle_assets.definitions`` — this checkout (an editable install), or a
   deployment folder whose own virtualenv has the package installed;
3. the working directory, for a package installed elsewhere with no ``MOODLE_PROJECT_DIR``.
"""

from __future__ import annotations

import functools
import os
import tomllib
from pathlib import Path

PROJECT_DIR_ENV = "MOODLE_PROJECT_DIR"
SITES_FILE_ENV = "MOODLE_SITES_FILE"
DEFAULT_SITES_FILE = "moodle_sites.yaml"
# MOODLE_SITES_FILE=none: no sites file, even with moodle_sites.yaml in the project folder.
SITES_FILE_OFF = "none"
DEFINITIONS_MODULE = "moodle_assets.definitions"


class SettingError(ValueError):
    """A setting names something that is not there; the message names the setting and the path."""


def _is_project(folder: Path) -> bool:
    pyproject = folder / "pyproject.toml"
    if not pyproject.is_file():
        return False
    try:
        config = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    return config.get("tool", {}).get("dagster", {}).get("module_name") == DEFINITIONS_MODULE


@functools.cache
def installed_project_dir() -> Path | None:
    """The folder above the package that declares this project's code location, if any."""
    package = Path(__file__).resolve().parent
    return next((folder for folder in package.parents if _is_project(folder)), None)


def project_dir() -> Path:
    """The folder relative paths resolve from (see the module docstring for the rule)."""
    setting = os.environ.get(PROJECT_DIR_ENV, "").strip()
    if setting:
        folder = Path(setting).expanduser().resolve()
        if not folder.is_dir():
            raise SettingError(
                f"{PROJECT_DIR_ENV} is {setting!r}, but {folder} is not a folder: "
                f"set it to your project folder, or unset it"
            )
        return folder
    return installed_project_dir() or Path.cwd().resolve()


def project_path(path: str | os.PathLike) -> Path:
    """``path`` with ``~`` expanded, relative paths taken from the project folder."""
    expanded = Path(path).expanduser()
    return expanded if expanded.is_absolute() else project_dir() / expanded


def sites_file() -> Path | None:
    """The sites file (:mod:`moodle_assets.sites`), None when there is none.

    ``$MOODLE_SITES_FILE`` if set (it must exist: a setting naming a missing file is a
    mistake, never a quiet fall-back to one site), else ``moodle_sites.yaml`` in the project
    folder when it is there. Without a file there is one site, from MOODLE_URL/MOODLE_TOKEN.
    ``MOODLE_SITES_FILE=none`` switches the file off: one site, whatever the project folder
    holds (the single-site ``moodle-assets demo`` runs so).
    """
    setting = os.environ.get(SITES_FILE_ENV, "").strip()
    if setting.lower() == SITES_FILE_OFF:
        return None
    if setting:
        path = project_path(setting)
        if not path.is_file():
            raise SettingError(
                f"{SITES_FILE_ENV} is {setting!r}, but there is no file {path}: point it at your sites file, "
                f"or unset it to use {DEFAULT_SITES_FILE} in the project folder"
            )
        return path
    path = project_dir() / DEFAULT_SITES_FILE
    return path if path.is_file() else None
