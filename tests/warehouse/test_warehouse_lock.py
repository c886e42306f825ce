"""Another process holding the DuckDB file: wait with backoff, then name the holder."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from moodle_assets.warehouse import Warehouse, WarehouseLockedError, locking

HOLDER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
print("holding", flush=True)
sys.stdin.readline()
con.close()
print("released", flush=True)
"""


@pytest.fixture
def holder(warehouse: Warehouse, stage) -> Iterator[subprocess.Popen]:
    """A separate process with a write connection open on the warehouse file."""
    warehouse.replace_table("moodle.courses", stage([{"id": 1}]))
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, warehouse.path, "lock-holder-marker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline() == "holding\n"
    yield process
    if process.poll() is None:
        process.kill()
    process.wait()


def _release(process: subprocess.Popen) -> None:
    process.stdin.write("go\n")
    process.stdin.flush()
    assert process.stdout.readline() == "released\n"
    process.wait()


@pytest.mark.parametrize("read_only", [False, True])
def test_gives_up_naming_the_holder(
    warehouse: Warehouse, holder: subprocess.Popen, read_only: bool, monkeypatch
) -> None:
    waits: list[float] = []
    monkeypatch.setattr(locking, "sleep", waits.append)
    impatient = Warehouse(warehouse.path, lock_timeout=0.2)
    with pytest.raises(WarehouseLockedError) as excinfo:
        # Without real sleeping, the loop spins until lock_timeout has passed.
        with impatient.connect(read_only=read_only):
            pass
    error = excinfo.value
    assert error.pid == holder.pid
    assert error.path == warehouse.path
    assert error.command is not None and error.command.endswith(f"{warehouse.path} lock-holder-marker")
    message = str(error)
    assert message.startswith(f"DuckDB database {warehouse.path} is locked by process PID {holder.pid} (")
    assert "Close that connection" in message
    assert f"query the snapshot {Path(warehouse.path).with_name('warehouse_snapshot.duckdb')} instead" in message
    assert waits and all(0 <= w <= 0.2 for w in waits)


def test_waiting_writer_succeeds_when_holder_releases(
    warehouse: Warehouse, holder: subprocess.Popen, monkeypatch, stage
) -> None:
    waits: list[float] = []

    def release_then_return(seconds: float) -> None:
        waits.append(seconds)
        if holder.poll() is None:
            _release(holder)

    monkeypatch.setattr(locking, "sleep", release_then_return)
    result = warehouse.replace_table("moodle.courses", stage([{"id": 2}]))
    assert len(waits) == 1
    assert result.row_count == 1
    assert warehouse.read_column("moodle.courses", "id") == [2]


def test_backoff_grows_between_attempts(monkeypatch) -> None:
    attempts: list[str] = []
    waits: list[float] = []
    monkeypatch.setattr(locking, "sleep", waits.append)
    monkeypatch.setattr(locking.random, "uniform", lambda low, high: high)

    def locked_four_times() -> str:
        attempts.append("try")
        if len(attempts) <= 4:
            raise locking.InProcessConflict("busy")
        return "connection"

    assert locking.retry_while_locked(locked_four_times, "db.duckdb", timeout=60) == "connection"
    assert waits == [0.05, 0.1, 0.2, 0.4]


def test_other_errors_are_not_retried(monkeypatch, tmp_path: Path) -> None:
    not_a_db = tmp_path / "text.duckdb"
    not_a_db.write_text("hello, this is not a database file" * 100)
    monkeypatch.setattr(locking, "sleep", lambda s: pytest.fail("must not wait on a non-lock error"))
    with pytest.raises(Exception) as excinfo:
        with Warehouse(str(not_a_db)).connect():
            pass
    assert not isinstance(excinfo.value, WarehouseLockedError)


def test_writer_waits_for_reader_in_same_process(warehouse: Warehouse, stage, monkeypatch) -> None:
    warehouse.replace_table("moodle.courses", stage([{"id": 1}]))
    impatient = Warehouse(warehouse.path, lock_timeout=0.1)
    monkeypatch.setattr(locking, "sleep", lambda s: None)
    with warehouse.connect(read_only=True) as reader:
        with pytest.raises(WarehouseLockedError) as excinfo:
            with impatient.connect():
                pass
        assert reader.execute("SELECT id FROM moodle.courses").fetchall() == [(1,)]
    assert excinfo.value.pid is None
    assert str(excinfo.value).startswith(
        f"DuckDB database {warehouse.path} is locked by another connection in this process; gave up after"
    )
