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
from pathlib import Path

import duckdb

log = logging.getLogger(__name__)

_PID = re.compile(r"\(PID (\d+)\)")
_LOCK_TEXT = "Could not set lock on file"
_CONFIG_TEXT = "different configuration"
_FIRST_DELAY = 0.05
_MAX_DELAY = 2.0


class WarehouseLockedError(RuntimeError):
    """The database file stayed locked by another connection for the whole lock timeout."""

    def __init__(self, path: str, waited: float, detail: str, pid: int | None = None,
                 command: str | None = None, snapshot_path: str | None = None) -> None:
        self.path = path
        self.pid = pid
        self.command = command
        holder = "another process"
        if pid is not None:
            holder = f"process PID {pid}" + (f" ({command})" if command else "")
        elif _CONFIG_TEXT in detail:
            holder = "another connection in this process opened with a different read_only flag"
        advice = "Close that connection (a notebook, DuckDB CLI or UI on this file) or wait for the run holding it to finish"
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


def is_lock_error(error: BaseException) -> bool:
    """True for DuckDB errors that mean "someone else has this file open right now"."""
    text = str(error)
    return (isinstance(error, duckdb.IOException) and _LOCK_TEXT in text) or (
        isinstance(error, duckdb.ConnectionException) and _CONFIG_TEXT in text
    )


def sleep(seconds: float) -> None:
    """Indirection so tests can observe or drive the wait between attempts."""
    time.sleep(seconds)


def connect_with_retry(path: str, read_only: bool, timeout: float,
                       snapshot_path: str | None = None) -> duckdb.DuckDBPyConnection:
    """Open ``path``, retrying while the file is locked, for at most ``timeout`` seconds."""
    start = time.monotonic()
    delay = _FIRST_DELAY
    attempt = 0
    while True:
        attempt += 1
        try:
            return duckdb.connect(path, read_only=read_only)
        except (duckdb.IOException, duckdb.ConnectionException) as error:
            if not is_lock_error(error):
                raise
            if read_only and _CONFIG_TEXT in str(error):
                # This process already has the file open for writing; DuckDB shares one
                # instance per process, so a reader joins it rather than waiting on itself.
                return duckdb.connect(path, read_only=False)
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
