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

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from .locking import WarehouseLockedError
from .paths import is_local_file

_registry = threading.Lock()
_locks: dict[str, threading.RLock] = {}
_open_here = threading.local()  # per thread: {file key: connections open}


def writer_key(path: str) -> str:
    """The file a path names, so two spellings of one file share a lock (``md:``/``:memory:`` as given)."""
    return os.path.realpath(path) if is_local_file(path) else path


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

    Waits at most ``timeout`` seconds for another thread's write, then raises
    :class:`WarehouseLockedError` naming this process as the holder.
    """
    lock = _lock_for(path)
    started = time.monotonic()
    # Polled rather than a timed acquire: a timed wait on a lock sleeps until an absolute
    # deadline, which a shifted clock (libfaketime, used to run the suite on another day) turns
    # into a wait of the shift's length; a short sleep is relative and always wakes.
    while not lock.acquire(blocking=False):
        if time.monotonic() - started >= timeout:
            raise WarehouseLockedError(
                path, time.monotonic() - started, "another thread of this process is writing to the file"
            )
        time.sleep(0.002)
    try:
        yield
    finally:
        lock.release()


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
