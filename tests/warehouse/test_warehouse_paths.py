"""Where the database lives: argument, environment, default; md: and :memory: untouched."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from moodle_assets.warehouse import Warehouse, resolve_database_path
from moodle_assets.warehouse.paths import default_snapshot_path


def test_argument_beats_environment_beats_default(monkeypatch) -> None:
    monkeypatch.delenv("MOODLE_DUCKDB_PATH", raising=False)
    assert resolve_database_path() == "data/moodle.duckdb"
    monkeypatch.setenv("MOODLE_DUCKDB_PATH", "/srv/lms/warehouse.duckdb")
    assert resolve_database_path() == "/srv/lms/warehouse.duckdb"
    assert resolve_database_path("other.duckdb") == "other.duckdb"


def test_empty_environment_variable_means_default(monkeypatch) -> None:
    monkeypatch.setenv("MOODLE_DUCKDB_PATH", "")
    assert resolve_database_path() == "data/moodle.duckdb"


@pytest.mark.parametrize("uri", ["md:moodle", "md:moodle?motherduck_token=abc", "motherduck:moodle", ":memory:"])
def test_remote_and_memory_paths_pass_through(uri: str, monkeypatch) -> None:
    assert resolve_database_path(uri) == uri
    monkeypatch.setenv("MOODLE_DUCKDB_PATH", uri)
    assert resolve_database_path() == uri


def test_home_is_expanded(monkeypatch) -> None:
    monkeypatch.setenv("HOME", "/home/analyst")
    assert resolve_database_path("~/lms.duckdb") == "/home/analyst/lms.duckdb"


def test_motherduck_warehouse_has_no_snapshot_and_never_connects(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    warehouse = Warehouse("md:moodle", snapshot_path="elsewhere.duckdb")
    assert warehouse.path == "md:moodle"
    assert warehouse.snapshot_path is None
    assert warehouse.refresh_snapshot() is None
    assert os.listdir(tmp_path) == []


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


def test_default_path_relative_to_working_directory(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MOODLE_DUCKDB_PATH", raising=False)
    warehouse = Warehouse()
    assert warehouse.path == "data/moodle.duckdb"
    assert warehouse.snapshot_path == "data/moodle_snapshot.duckdb"
    with warehouse.connect():
        pass
    assert (tmp_path / "data" / "moodle.duckdb").is_file()
