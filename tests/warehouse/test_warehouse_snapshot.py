"""The analysts' snapshot: a consistent copy they can keep open while runs write."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from moodle_assets.warehouse import Warehouse


def test_snapshot_holds_committed_data_and_survives_open_readers(warehouse: Warehouse, stage) -> None:
    assert warehouse.refresh_snapshot() is None  # nothing to copy yet

    warehouse.replace_table("moodle.courses", stage([{"id": 1}]))
    snapshot = warehouse.refresh_snapshot()
    assert snapshot == str(Path(warehouse.path).with_name("warehouse_snapshot.duckdb"))

    analyst = duckdb.connect(snapshot, read_only=True)
    try:
        assert analyst.execute("SELECT id FROM moodle.courses").fetchall() == [(1,)]
        # Runs keep writing and refreshing while the analyst's connection stays open.
        warehouse.replace_table("moodle.courses", stage([{"id": 2}, {"id": 3}]))
        assert warehouse.refresh_snapshot() == snapshot
        assert analyst.execute("SELECT id FROM moodle.courses").fetchall() == [(1,)]
    finally:
        analyst.close()

    fresh = duckdb.connect(snapshot, read_only=True)
    try:
        assert fresh.execute("SELECT id FROM moodle.courses ORDER BY id").fetchall() == [(2,), (3,)]
        assert fresh.execute("SELECT count(*) FROM moodle._loads").fetchall() == [(2,)]
    finally:
        fresh.close()
    assert sorted(os.listdir(Path(snapshot).parent)) == ["warehouse.duckdb", "warehouse_snapshot.duckdb"]


def test_custom_and_disabled_snapshots(tmp_path: Path, stage) -> None:
    custom = tmp_path / "share" / "copy.duckdb"
    warehouse = Warehouse(str(tmp_path / "db.duckdb"), snapshot_path=str(custom))
    warehouse.replace_table("moodle.courses", stage([{"id": 1}]))
    assert warehouse.refresh_snapshot() == str(custom)
    with duckdb.connect(str(custom), read_only=True) as con:
        assert con.execute("SELECT id FROM moodle.courses").fetchall() == [(1,)]

    disabled = Warehouse(str(tmp_path / "db.duckdb"), snapshot_path=None)
    assert disabled.refresh_snapshot() is None


def test_taking_a_snapshot_keeps_this_process_lock_on_the_file(warehouse: Warehouse, stage) -> None:
    """Closing a descriptor of the file in this process would drop its POSIX lock: another
    process could then open the database for writing while this one still has it open."""
    import subprocess
    import sys

    warehouse.replace_table("moodle.courses", stage([{"id": 1}]))
    probe = "import duckdb, sys; duckdb.connect(sys.argv[1]).close(); print('opened')"
    with warehouse.connect():  # this process keeps the file open, as a run between writes does
        assert warehouse.refresh_snapshot()
        other = subprocess.run([sys.executable, "-c", probe, warehouse.path], capture_output=True, text=True)
    assert "opened" not in other.stdout and "lock" in other.stderr.lower(), other.stdout + other.stderr
