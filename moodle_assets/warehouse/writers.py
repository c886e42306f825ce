"""One writer at a time per database file inside this process.

Steps of one run may execute side by side as threads of the run's process. Their connections
share one DuckDB instance per file (:mod:`.connections`), and two write transactions at once
in one instance conflict: two first loads both creating schema ``moodle`` fail with "Catalog
write-write conflict", two loads commenting on ``moodle._items`` likewise. DuckDB's file lock
only keeps other processes out, so writers in this process take turns on a lock keyed by the
file's resolved path, held for the write itself (a transaction of tens of milliseconds), never
while Moodle is being called: a load fetches and stages first, then writes.

Readers pass the same gate before they open the file (without holding it while they read):
once a writer is waiting, no new read-only instance starts, so a writer never starves behind
an endless relay of short lookups that keep the file open read-only (a write cannot join a
read-only instance and would retry until ``lock_timeout``). A thread that already has the
file open passes straight on: it may be holding the very instance the writer waits to close.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from .locking import MAX_WAIT_FACTOR, WarehouseLockedError, file_key, note_turn, turns

_registry = threading.Lock()
_locks: dict[str, threading.RLock] = {}
_open_here = threading.local()  # per thread: {file key: connections open}


writer_key = file_key  # the file a path names: two spellings of one file share a lock


def _lock_for(path: str) -> threading.RLock:
    key = writer_key(path)
    with _registry:
        lock = _locks.get(key)
        if lock is None:
            lock = _locks[key] = threading.RLock()
        return lock


@contextmanager
def writing(path: str, timeout: float) -> Iterator[None]:
    """Be this process's only writer of ``path`` until the block ends (re-entrant per thread).

    Waits for other threads' writes; raises :class:`WarehouseLockedError` naming this process
    as the holder once no writer has finished for ``timeout`` seconds and the writer ahead has
    not seen the file change hands meanwhile (it may itself be waiting for another process:
    see :mod:`.locking`), or after ``MAX_WAIT_FACTOR`` timeouts in all.
    """
    lock = _lock_for(path)
    started = changed = time.monotonic()
    seen = turns(path)
    # Polled rather than a timed acquire: a timed wait on a lock sleeps until an absolute
    # deadline, which a shifted clock (libfaketime, used to run the suite on another day) turns
    # into a wait of the shift's length; a short sleep is relative and always wakes.
    while not lock.acquire(blocking=False):
        now = time.monotonic()
        if turns(path) != seen:
            seen, changed = turns(path), now
        if now - changed >= timeout or now - started >= MAX_WAIT_FACTOR * timeout:
            raise WarehouseLockedError(path, now - started, "another thread of this process is writing to the file")
        time.sleep(0.002)
    try:
        yield
    finally:
        lock.release()
        note_turn(path)


@contextmanager
def reading(path: str, timeout: float) -> Iterator[None]:
    """Open ``path`` for reading only between writes (unless this thread has it open already)."""
    key = writer_key(path)
    depth: dict[str, int] = _open_here.__dict__.setdefault("depth", {})
    if not depth.get(key):
        with writing(path, timeout):
            pass
    depth[key] = depth.get(key, 0) + 1
    try:
        yield
    finally:
        depth[key] -= 1
