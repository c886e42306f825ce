"""Any folder: the definitions load the same from wherever Dagster is started.

Relative paths (the user's endpoints file, the warehouse, its snapshot and reports) resolve
from the project folder — MOODLE_PROJECT_DIR, else the folder of this project's
pyproject.toml above the package, else the working directory — never from the working
directory when a project folder is known. A setting that names a missing file is an error
naming the setting and the path.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from moodle_assets import project
from moodle_assets.analytics.dashboard import report_path
from moodle_assets.endpoints import load_specs
from moodle_assets.endpoints.loader import user_file_path
from moodle_assets.endpoints.spec import SpecError
from moodle_assets.warehouse import Warehouse

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "moodle_endpoints.example.yaml"

REPORT = """
import json, moodle_assets
from moodle_assets.definitions import defs, specs
from moodle_assets.project import project_dir
from moodle_assets.endpoints.loader import user_file_path
from moodle_assets.analytics.dashboard import report_path
from moodle_assets.warehouse import Warehouse
warehouse = Warehouse()
print(json.dumps({
    "package": moodle_assets.__file__, "project": str(project_dir()), "user_file": str(user_file_path()),
    "specs": [s.name for s in specs], "assets": len(defs.resolve_asset_graph().get_all_asset_keys()),
    "warehouse": warehouse.path, "snapshot": warehouse.snapshot_path, "report": str(report_path(warehouse.path)),
}))
"""


def checkout_copy(folder: Path) -> Path:
    """A checkout of the project in ``folder``: the package beside pyproject.toml, and a user's
    moodle_endpoints.yaml at its root (the example file, four endpoints)."""
    shutil.copytree(ROOT / "moodle_assets", folder / "moodle_assets", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", folder / "pyproject.toml")
    shutil.copy(EXAMPLE, folder / "moodle_endpoints.yaml")
    return folder


def test_definitions_loaded_from_another_folder_hold_the_user_endpoints_at_the_project_root(tmp_path):
    checkout = checkout_copy(tmp_path / "checkout")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOODLE_") or k == "MOODLE_ASSETS_NOW"}
    env["PYTHONPATH"] = str(checkout)
    done = subprocess.run(
        [sys.executable, "-c", REPORT], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # Every CLI command, the UI and each run load the definitions: a warning here is printed to
    # users on each of them (Dagster's beta notice for backfill_policy was, until silenced).
    assert done.stderr == "", done.stderr[-3000:]
    seen = json.loads(done.stdout.splitlines()[-1])
    assert seen["package"] == str(checkout / "moodle_assets" / "__init__.py")
    assert seen["project"] == str(checkout)
    assert seen["user_file"] == str(checkout / "moodle_endpoints.yaml")
    builtins = [s.name for s in load_specs(include_user=False)]
    users = [s.name for s in load_specs(EXAMPLE)][len(builtins) :]
    assert (len(builtins), len(users)) == (28, 4)
    assert seen["specs"] == builtins + users  # 32: nothing dropped for want of the working directory
    assert seen["assets"] == 32 + 6  # with the analytics
    assert seen["warehouse"] == str(checkout / "data" / "warehouse.duckdb")
    assert seen["snapshot"] == str(checkout / "data" / "warehouse_snapshot.duckdb")
    assert seen["report"] == str(checkout / "data" / "reports" / "course_dashboard.html")
    assert os.listdir(elsewhere) == []


def test_this_checkout_is_the_project_folder_from_any_working_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("MOODLE_PROJECT_DIR")
    monkeypatch.chdir(tmp_path)
    assert project.project_dir() == ROOT
    assert user_file_path() == ROOT / "moodle_endpoints.yaml"
    warehouse = Warehouse()
    assert warehouse.path == str(ROOT / "data" / "warehouse.duckdb")
    assert report_path(warehouse.path) == ROOT / "data" / "reports" / "course_dashboard.html"


def test_installed_without_a_project_the_working_directory_is_the_project_folder(monkeypatch, tmp_path):
    """A non-editable install outside any project folder, with no MOODLE_PROJECT_DIR."""
    monkeypatch.delenv("MOODLE_PROJECT_DIR")
    monkeypatch.setattr(project, "installed_project_dir", lambda: None)
    monkeypatch.chdir(tmp_path)
    assert project.project_dir() == tmp_path.resolve()
    assert Warehouse().path == str(tmp_path.resolve() / "data" / "warehouse.duckdb")
    assert user_file_path() == tmp_path.resolve() / "moodle_endpoints.yaml"


def test_moodle_project_dir_names_the_project_folder(monkeypatch, project_folder, tmp_path):
    shutil.copy(EXAMPLE, project_folder / "moodle_endpoints.yaml")
    try:
        monkeypatch.chdir(tmp_path)
        assert [s.name for s in load_specs()][-4:] == [s.name for s in load_specs(EXAMPLE)][-4:]
        assert len(load_specs()) == 32
    finally:
        (project_folder / "moodle_endpoints.yaml").unlink()
    assert len(load_specs()) == 28  # without the file: the built-in endpoints only, no error


def test_a_relative_endpoints_file_is_taken_from_the_project_folder(monkeypatch, project_folder, tmp_path):
    mine = project_folder / "config" / "endpoints.yaml"
    mine.parent.mkdir()
    shutil.copy(EXAMPLE, mine)
    try:
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("MOODLE_ENDPOINTS_FILE", "config/endpoints.yaml")
        assert user_file_path() == mine
        assert len(load_specs()) == 32
    finally:
        shutil.rmtree(mine.parent)


@pytest.mark.parametrize("setting", ["absolute", "relative"])
def test_an_endpoints_file_that_is_not_there_is_an_error_naming_the_setting_and_path(
    monkeypatch, project_folder, tmp_path, setting
):
    missing = tmp_path / "my_endpoints.yaml" if setting == "absolute" else Path("config/my_endpoints.yaml")
    where = missing if missing.is_absolute() else project_folder / missing
    monkeypatch.setenv("MOODLE_ENDPOINTS_FILE", str(missing))
    with pytest.raises(SpecError) as info:
        load_specs()
    assert info.value.problems == [
        f"MOODLE_ENDPOINTS_FILE is '{missing}', but there is no file {where}: point it at your endpoints file, "
        f"or unset it to use moodle_endpoints.yaml in the project folder ({project_folder})"
    ]
