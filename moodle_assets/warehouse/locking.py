"""Opening DuckDB when another process may hold the file.

DuckDB lets one process at a time open a database file (a read-only reader blocks a
writer too). Dagster runs steps in separate processes and analysts open the file from
notebooks, so a connection retries the lock with jittered backoff and, when it gives up,
says who holds the file and what to do instead of surfacing DuckDB's bare IO error.

``lock_timeout`` bounds how long the file may stay in the *same* hands, not the whole wait.
With many writers (several sites publishing into one warehouse, steps of one run side by
side) the file changes hands all the time and a writer's turn may come late; a timeout
counted from the first attempt failed such a writer although nothing was stuck (a step
waited behind a sibling that itself waited for the file). So the clock restarts whenever
the file is seen to change hands: another process holds it now, the file or its WAL was
written, or a writer of this process finished. A holder that keeps the file without writing
(a notebook, a CLI left open) still fails the wait after ``lock_timeout``; and no wait lasts
longer than ``MAX_WAIT_FACTOR`` timeouts in all.
"""

from __future__ import annotations

import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import duckdb

from .paths import is_local_file

log = logging.getLogger(__name__)

_PID = re.compile(r"\(PID (\d+)\)")
_LOCK_TEXT = "Could not set lock on file"
T = TypeVar("T")
_FIRST_DELAY = 0.05
_MAX_DELAY = 2.0
MAX_WAIT_FACTOR = 10

_turns_lock = threading.Lock()
_turns: dict[str, int] = {}  # by file: times a writer of this process was seen to finish or the holder changed


def file_key(path: str) -> str:
    """The file a path names, so two spellings of one file share their bookkeeping
    (``md:`` and ``:memory:`` as given)."""
    return os.path.realpath(path) if is_local_file(path) else path


def note_turn(path: str) -> None:
    """The file changed hands (a writer of this process finished, or another process holds it now)."""
    key = file_key(path)
    with _turns_lock:
        _turns[key] = _turns.get(key, 0) + 1


def turns(path: str) -> int:
    with _turns_lock:
        return _turns.get(file_key(path), 0)


def _mtime(path: str) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def holder_mark(path: str, error: BaseException) -> tuple:
    """What changes when the file changes hands: the holder's PID, the file's and its WAL's
    modification times, and the turns taken by writers of this process."""
    match = _PID.search(str(error))
    return (match.group(1) if match else None, _mtime(path), _mtime(path + ".wal"), turns(path))


class WarehouseLockedError(RuntimeError):
    """The database file stayed locked by another connection for the whole lock timeout."""

    def __init__(
        self,
        path: str,
        waited: float,
        detail: str,
        pid: int | None = None,
        command: str | None = None,
        snapshot_path: str | None = None,
    ) -> None:
        self.path = path
        self.pid = pid
        self.command = command
        holder = "another process"
        if pid is not None:
            holder = f"process PID {pid}" + (f" ({command})" if command else "")
        elif "(PID" not in detail:
            holder = "another connection in this process"
        advice = (
            "Close that connection (a notebook, DuckDB CLI or UI on this file) or wait for the run holding it to finish"
        )
        if snapshot_path:
            advice += f"; to read while runs write, query the snapshot {snapshot_path} instead"
        super().__init__(
            f"DuckDB database {path} is locked by {holder}; gave up after {waited:.1f}s of retries. "
            f"{advice}. (DuckDB said: {detail})"
        )


def holder_command(pid: int) -> str | None:
    """Command line of ``pid`` from /proc, when this system exposes it."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    command = raw.replace(b"\0", b" ").decode(errors="replace").strip()
    return command or None


class InProcessConflict(RuntimeError):
    """The file is open in this very process in a mode the new connection cannot share."""


def is_lock_error(error: BaseException) -> bool:
    """True for errors that mean "someone else has this file open right now"."""
    if isinstance(error, (InProcessConflict, duckdb.ResourceInUseException)):
        return True
    return isinstance(error, duckdb.IOException) and _LOCK_TEXT in str(error)


def sleep(seconds: float) -> None:
    """Indirection so tests can observe or drive the wait between attempts."""
    time.sleep(seconds)


def retry_while_locked(
    open_database: Callable[[], T], path: str, timeout: float, snapshot_path: str | None = None
) -> T:
    """Call ``open_database`` until it stops failing on the file lock, then return it. Give up
    with WarehouseLockedError naming the holder once the file has stayed in the same hands
    for ``timeout`` seconds (or after ``MAX_WAIT_FACTOR`` timeouts in all)."""
    start = changed = time.monotonic()
    mark = None
    delay = _FIRST_DELAY
    attempt = 0
    while True:
        attempt += 1
        try:
            return open_database()
        except (duckdb.Error, InProcessConflict) as error:
            if not is_lock_error(error):
                raise
            now = time.monotonic()
            seen = holder_mark(path, error)
            if mark is not None and seen != mark:
                changed = now
                note_turn(path)  # writers of this process waiting behind this one see it too
            mark = seen
            remaining = min(timeout - (now - changed), MAX_WAIT_FACTOR * timeout - (now - start))
            if remaining <= 0:
                raise _locked(path, now - start, error, snapshot_path) from error
            pause = min(remaining, delay * random.uniform(0.5, 1.0))
            log.info("DuckDB file %s is locked (attempt %d), retrying in %.2fs: %s", path, attempt, pause, error)
            sleep(pause)
            delay = min(delay * 2, _MAX_DELAY)


def _locked(path: str, waited: float, error: BaseException, snapshot_path: str | None) -> WarehouseLockedError:
    detail = str(error)
    match = _PID.search(detail)
    pid = int(match.group(1)) if match else None
    command = holder_command(pid) if pid is not None else None
    return WarehouseLockedError(path, waited, detail, pid=pid, command=command, snapshot_path=snapshot_path)
