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
    assert resolve_database_path() == str(project / "data" / "warehouse.duckdb")
    monkeypatch.setenv("MOODLE_DUCKDB_PATH", "/srv/lms/warehouse.duckdb")
    assert resolve_database_path() == "/srv/lms/warehouse.duckdb"
    assert resolve_database_path("/x/other.duckdb") == "/x/other.duckdb"
    assert resolve_database_path("other.duckdb") == str(project / "other.duckdb")


def test_empty_environment_variable_means_default(project: Path, monkeypatch) -> None:
    monkeypatch.setenv("MOODLE_DUCKDB_PATH", "")
    assert resolve_database_path() == str(project / "data" / "warehouse.duckdb")


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


@pytest.mark.parametrize("uri", ["md:lms", "md:lms?motherduck_token=abc", "motherduck:lms", ":memory:"])
def test_remote_and_memory_paths_pass_through(uri: str, monkeypatch) -> None:
    assert resolve_database_path(uri) == uri
    monkeypatch.setenv("MOODLE_DUCKDB_PATH", uri)
    assert resolve_database_path() == uri


def test_home_is_expanded(monkeypatch) -> None:
    monkeypatch.setenv("HOME", "/home/analyst")
    assert resolve_database_path("~/lms.duckdb") == "/home/analyst/lms.duckdb"


def test_motherduck_warehouse_has_no_snapshot_and_never_connects(project: Path) -> None:
    warehouse = Warehouse("md:lms", snapshot_path="elsewhere.duckdb")
    assert warehouse.path == "md:lms"
    assert warehouse.snapshot_path is None
    assert warehouse.refresh_snapshot() is None
    assert os.listdir(project) == [] and os.listdir(".") == []


def test_a_motherduck_database_named_like_a_schema_is_refused(project: Path) -> None:
    """md:moodle is catalog moodle: moodle.courses would be ambiguous even in the project's SQL."""
    with pytest.raises(ValueError, match="named like the warehouse's schema 'moodle'.*md:moodle_warehouse"):
        Warehouse("md:moodle?motherduck_token=x")
    assert Warehouse("md:moodle_warehouse").path == "md:moodle_warehouse"


def test_snapshot_path_defaults_beside_the_database() -> None:
    assert default_snapshot_path("data/warehouse.duckdb") == "data/warehouse_snapshot.duckdb"
    assert default_snapshot_path("/x/lms.db") == "/x/lms_snapshot.db"
    assert default_snapshot_path("/x/lms") == "/x/lms_snapshot.duckdb"
    assert default_snapshot_path(":memory:") is None


def test_connect_creates_the_parent_directory(tmp_path: Path) -> None:
    warehouse = Warehouse(str(tmp_path / "nested" / "dir" / "warehouse.duckdb"))
    with warehouse.connect() as con:
        assert con.execute("SELECT current_database()").fetchall() == [("warehouse",)]
    assert (tmp_path / "nested" / "dir" / "warehouse.duckdb").is_file()


def test_default_path_is_in_the_project_folder_whatever_the_working_directory(project: Path) -> None:
    warehouse = Warehouse()
    assert warehouse.path == str(project / "data" / "warehouse.duckdb")
    assert warehouse.snapshot_path == str(project / "data" / "warehouse_snapshot.duckdb")
    with warehouse.connect():
        pass
    assert (project / "data" / "warehouse.duckdb").is_file()
    assert os.listdir(".") == []


def _a_legacy_install(project: Path) -> None:
    """data/moodle.duckdb (the old default) with a table, an uncheckpointed change in its WAL,
    and its snapshot."""
    import duckdb

    data = project / "data"
    data.mkdir()
    con = duckdb.connect(str(data / "moodle.duckdb"))
    con.execute("PRAGMA disable_checkpoint_on_shutdown; SET wal_autocheckpoint = '1TB'")
    con.execute("CREATE SCHEMA lms; CREATE TABLE lms.courses AS SELECT 2 AS id")
    con.execute("INSERT INTO lms.courses VALUES (3)")
    con.close()
    (data / "moodle_snapshot.duckdb").write_bytes((data / "moodle.duckdb").read_bytes())


def test_an_install_with_the_old_default_file_keeps_its_data(project: Path, caplog) -> None:
    _a_legacy_install(project)
    data = project / "data"
    assert (data / "moodle.duckdb.wal").is_file()
    warehouse = Warehouse()
    assert warehouse.path == str(data / "warehouse.duckdb")
    assert sorted(os.listdir(data)) == ["warehouse.duckdb", "warehouse.duckdb.wal", "warehouse_snapshot.duckdb"]
    assert warehouse.query("SELECT id FROM lms.courses ORDER BY id") == [(2,), (3,)]  # the WAL came along
    [line] = [r.getMessage() for r in caplog.records if "Moved the warehouse" in r.getMessage()]
    assert str(data / "moodle.duckdb") in line and str(data / "warehouse.duckdb") in line
    Warehouse()  # once: nothing left to move
    assert len([r for r in caplog.records if "Moved the warehouse" in r.getMessage()]) == 1


def test_the_old_file_is_left_alone_when_the_new_one_exists_or_another_path_is_set(project: Path, monkeypatch) -> None:
    _a_legacy_install(project)
    data = project / "data"
    monkeypatch.setenv("MOODLE_DUCKDB_PATH", "elsewhere/lms.duckdb")
    Warehouse()
    assert (data / "moodle.duckdb").is_file() and not (data / "warehouse.duckdb").exists()
    monkeypatch.delenv("MOODLE_DUCKDB_PATH")
    (data / "warehouse.duckdb").write_bytes(b"")
    assert Warehouse().path == str(data / "warehouse.duckdb")
    assert (data / "moodle.duckdb").is_file()


def test_the_file_opened_directly_answers_moodle_courses(tmp_path: Path, stage) -> None:
    """DuckDB names the catalog after the file: warehouse.duckdb is catalog warehouse, so
    moodle.courses means the table in a client opened on the file, and SHOW ALL TABLES lists it."""
    import duckdb

    warehouse = Warehouse(str(tmp_path / "warehouse.duckdb"))
    warehouse.replace_table("moodle.courses", stage([{"id": 2}]))
    warehouse.create_table_as("analytics.course_overview", "SELECT id AS courseid FROM moodle.courses")
    with duckdb.connect(warehouse.path, read_only=True) as con:
        assert con.sql("SELECT id FROM moodle.courses").fetchall() == [(2,)]
        assert con.sql("SELECT courseid FROM analytics.course_overview").fetchall() == [(2,)]
        listed = {(r[0], r[1], r[2]) for r in con.sql("SHOW ALL TABLES").fetchall()}
    assert {("warehouse", "moodle", "courses"), ("warehouse", "analytics", "course_overview")} <= listed


def test_a_file_named_like_a_schema_still_works_and_says_what_to_do(tmp_path: Path, stage, caplog) -> None:
    import duckdb

    path = tmp_path / "moodle.duckdb"
    warehouse = Warehouse(str(path))
    warehouse.replace_table("moodle.courses", stage([{"id": 2}]))
    assert warehouse.query("SELECT id FROM moodle.courses") == [(2,)]
    [warning] = {r.getMessage() for r in caplog.records if "catalog 'moodle'" in r.getMessage()}
    assert "warehouse.duckdb" in warning and "MOODLE_DUCKDB_PATH" in warning
    with duckdb.connect(str(path), read_only=True) as con, pytest.raises(duckdb.BinderException, match="Ambiguous"):
        con.sql("SELECT id FROM moodle.courses").fetchall()
