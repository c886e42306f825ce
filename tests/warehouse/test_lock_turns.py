"""lock_timeout bounds how long the file stays in the same hands, not a writer's whole wait.

Twenty sites publishing into one warehouse made a step wait behind a sibling step that itself
waited for the file; the timeout counted both, and the step failed although the file changed
hands all along. A holder that keeps the file without writing must still fail the wait.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from moodle_assets.warehouse import Warehouse, WarehouseLockedError, locking, writers

BUSY_WRITER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("CREATE TABLE IF NOT EXISTS busy (i INTEGER)")
print("holding", flush=True)
for i in range(int(sys.argv[2])):  # writes all along: the file changes, as another site's publishes do
    time.sleep(0.2)
    con.execute("INSERT INTO busy VALUES (?)", [i])
    con.execute("CHECKPOINT")
con.close()
"""


def _hold(path: str, seconds: float, turn_every: float | None, held: threading.Event) -> None:
    """A thread of this process holding the file's writer turn; with ``turn_every``, it sees the
    file change hands meanwhile, as a writer waiting for another process does."""
    with writers.writing(path, timeout=60):
        held.set()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            time.sleep(turn_every or 0.05)
            if turn_every:
                locking.note_turn(path)


@pytest.mark.parametrize("progressing", [True, False])
def test_a_writer_waits_behind_a_sibling_while_the_file_changes_hands(tmp_path, progressing):
    path = str(tmp_path / "warehouse.duckdb")
    held = threading.Event()
    sibling = threading.Thread(target=_hold, args=(path, 1.5, 0.2 if progressing else None, held))
    sibling.start()
    held.wait(5)
    started = time.monotonic()
    try:
        if progressing:
            with writers.writing(path, timeout=0.6):
                waited = time.monotonic() - started
            assert waited >= 1.2  # longer than the timeout, and it got its turn
        else:
            with pytest.raises(WarehouseLockedError, match="another thread of this process is writing"):
                with writers.writing(path, timeout=0.6):
                    pass
            assert time.monotonic() - started < 1.4
    finally:
        sibling.join()


def test_a_writer_waits_for_another_process_that_keeps_writing(warehouse: Warehouse, stage):
    warehouse.replace_table("moodle.courses", stage([{"id": 1}]))
    busy = subprocess.Popen([sys.executable, "-c", BUSY_WRITER, warehouse.path, "8"], stdout=subprocess.PIPE, text=True)
    try:
        assert busy.stdout.readline() == "holding\n"
        started = time.monotonic()
        patient = Warehouse(warehouse.path, lock_timeout=0.7)
        patient.replace_table("moodle.courses", stage([{"id": 2}]))
        assert time.monotonic() - started >= 1.0  # past the timeout: it waited for the writes to end
        assert patient.read_column("moodle.courses", "id") == [2]
    finally:
        busy.kill()
        busy.wait()


def test_no_wait_lasts_longer_than_the_bound_in_all(monkeypatch):
    """A file changing hands forever still ends the wait after MAX_WAIT_FACTOR timeouts."""
    clock = [0.0]
    monkeypatch.setattr(locking.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(locking, "sleep", lambda seconds: clock.__setitem__(0, clock[0] + 0.5))
    attempts = []

    def always_locked_by_someone_new():
        attempts.append(1)
        raise locking.InProcessConflict(f"busy (PID {1000 + len(attempts)})")

    with pytest.raises(WarehouseLockedError):
        locking.retry_while_locked(always_locked_by_someone_new, "x.duckdb", timeout=2)
    assert clock[0] == pytest.approx(locking.MAX_WAIT_FACTOR * 2, abs=0.6)
