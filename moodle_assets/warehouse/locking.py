"""Opening DuckDB when another process may hold the file.

DuckDB lets one process at a time open a database file (a read-only reader blocks a
writer too). Dagster runs steps in separate processes and analysts open the file from
notebooks, so a connection retries the lock with jittered backoff and, when it gives up,
says who holds the file and what to do instead of surfacing DuckDB's bare IO error.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import duckdb

log = logging.getLogger(__name__)

_PID = re.compile(r"\(PID (\d+)\)")
_LOCK_TEXT = "Could not set lock on file"
T = TypeVar("T")
_FIRST_DELAY = 0.05
_MAX_DELAY = 2.0


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
    """Call ``open_database`` until it stops failing on the file lock, for at most ``timeout``
    seconds, then raise WarehouseLockedError naming the holder."""
    start = time.monotonic()
    delay = _FIRST_DELAY
    attempt = 0
    while True:
        attempt += 1
        try:
            return open_database()
        except (duckdb.Error, InProcessConflict) as error:
            if not is_lock_error(error):
                raise
            waited = time.monotonic() - start
            remaining = timeout - waited
            if remaining <= 0:
                raise _locked(path, waited, error, snapshot_path) from error
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
