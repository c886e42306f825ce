"""Where the database lives: argument, environment, default; md: and :memory: untouched; a
relative path is taken from the project folder, never the working directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from moodle_assets.analytics.dashboard import report_path
from moodle_assets.project import SettingError
from moodle_assets.warehouse import Warehouse, resolve_database_path
from moodle_assets.warehouse.paths import default_snapshot_path


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    """A project folder (MOODLE_PROJECT_DIR) and a different working directory."""
    folder = tmp_path / "project"
    folder.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.setenv("MOODLE_PROJECT_DIR", str(folder))
    monkeypatch.chdir(elsewhere)
    monkeypatch.delenv("MOODLE_DUCKDB_PATH", raising=False)
    return folder


def test_argument_beats_environment_beats_default(project: Path, monkeypatch) -> None:
    assert resolve_database_path() == str(project / "data" / "moodle.duckdb")
    monkeypatch.setenv("MOODLE_DUCKDB_PATH", "/srv/lms/warehouse.duckdb")
    assert resolve_database_path() == "/srv/lms/warehouse.duckdb"
    assert resolve_database_path("/x/other.duckdb") == "/x/other.duckdb"
    assert resolve_database_path("other.duckdb") == str(project / "other.duckdb")


def test_empty_environment_variable_means_default(project: Path, monkeypatch) -> None:
    monkeypatch.setenv("MOODLE_DUCKDB_PATH", "")
    assert resolve_database_path() == str(project / "data" / "moodle.duckdb")


def test_a_relative_setting_is_taken_from_the_project_folder(project: Path, monkeypatch) -> None:
    monkeypatch.setenv("MOODLE_DUCKDB_PATH", "warehouse/lms.duckdb")
    warehouse = Warehouse()
    assert warehouse.path == str(project / "warehouse" / "lms.duckdb")
    assert warehouse.snapshot_path == str(project / "warehouse" / "lms_snapshot.duckdb")
    assert report_path(warehouse.path) == project / "warehouse" / "reports" / "course_dashboard.html"
    assert report_path("warehouse/lms.duckdb") == project / "warehouse" / "reports" / "course_dashboard.html"
    with warehouse.connect():
        pass
    assert (project / "warehouse" / "lms.duckdb").is_file()
    assert warehouse.refresh_snapshot() == str(project / "warehouse" / "lms_snapshot.duckdb")
    assert os.listdir(".") == []  # nothing in the working directory


def test_a_project_folder_that_is_not_there_is_an_error_naming_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MOODLE_PROJECT_DIR", str(tmp_path / "nowhere"))
    monkeypatch.delenv("MOODLE_DUCKDB_PATH", raising=False)
    with pytest.raises(SettingError) as info:
        Warehouse()
    assert str(info.value).startswith(f"MOODLE_PROJECT_DIR is '{tmp_path / 'nowhere'}', but ")
    monkeypatch.setenv("MOODLE_DUCKDB_PATH", str(tmp_path / "abs.duckdb"))
    assert Warehouse().path == str(tmp_path / "abs.duckdb")  # an absolute path needs no project folder


@pytest.mark.parametrize("uri", ["md:moodle", "md:moodle?motherduck_token=abc", "motherduck:moodle", ":memory:"])
def test_remote_and_memory_paths_pass_through(uri: str, monkeypatch) -> None:
    assert resolve_database_path(uri) == uri
    monkeypatch.setenv("MOODLE_DUCKDB_PATH", uri)
    assert resolve_database_path() == uri


def test_home_is_expanded(monkeypatch) -> None:
    monkeypatch.setenv("HOME", "/home/analyst")
    assert resolve_database_path("~/lms.duckdb") == "/home/analyst/lms.duckdb"


def test_motherduck_warehouse_has_no_snapshot_and_never_connects(project: Path) -> None:
    warehouse = Warehouse("md:moodle", snapshot_path="elsewhere.duckdb")
    assert warehouse.path == "md:moodle"
    assert warehouse.snapshot_path is None
    assert warehouse.refresh_snapshot() is None
    assert os.listdir(project) == [] and os.listdir(".") == []


def test_snapshot_path_defaults_beside_the_database() -> None:
    assert default_snapshot_path("data/moodle.duckdb") == "data/moodle_snapshot.duckdb"
    assert default_snapshot_path("/x/lms.db") == "/x/lms_snapshot.db"
    assert default_snapshot_path("/x/lms") == "/x/lms_snapshot.duckdb"
    assert default_snapshot_path(":memory:") is None


def test_connect_creates_the_parent_directory(tmp_path: Path) -> None:
    warehouse = Warehouse(str(tmp_path / "nested" / "dir" / "moodle.duckdb"))
    with warehouse.connect() as con:
        assert con.execute("SELECT current_database()").fetchall() == [("warehouse",)]
    assert (tmp_path / "nested" / "dir" / "moodle.duckdb").is_file()


def test_default_path_is_in_the_project_folder_whatever_the_working_directory(project: Path) -> None:
    warehouse = Warehouse()
    assert warehouse.path == str(project / "data" / "moodle.duckdb")
    assert warehouse.snapshot_path == str(project / "data" / "moodle_snapshot.duckdb")
    with warehouse.connect():
        pass
    assert (project / "data" / "moodle.duckdb").is_file()
    assert os.listdir(".") == []
