"""One bound on the calls in flight to a site from this process, however many clients call it.

Every asset step makes its own :class:`~moodle_assets.moodle.client.MoodleClient` (in its own
event loop), each holding at most ``max_concurrency`` calls in flight. When a run executes
several steps side by side as threads of one process, N clients at that bound would put N
times the setting on the site. So every client also passes through the gate of its site
(keyed by the REST endpoint URL) for each HTTP attempt: a call starts only while fewer than
the client's ``max_concurrency`` calls to that site are in flight from the whole process. A
run thus keeps its site at the configured bound whether its steps run one after another or
side by side, and the ``moodle_api`` pool still bounds how many Moodle steps all runs have at
once.

The gate is thread-safe and hands free slots on in arrival order to waiters in any event loop
(``call_soon_threadsafe``), so two fan-outs running at once share the site fairly.
"""

from __future__ import annotations

import asyncio
import collections
import threading
from dataclasses import dataclass, field

__all__ = ["SiteGate", "site_gate"]


@dataclass(eq=False)
class _Waiter:
    limit: int
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None] = field(repr=False)


class SiteGate:
    """A counting semaphore shared by every thread and event loop of this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight = 0
        self._waiters: collections.deque[_Waiter] = collections.deque()
        self.peak = 0  # most calls in flight at once, for tests and diagnostics

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def acquire(self, limit: int) -> None:
        """Wait until fewer than ``limit`` calls to the site are in flight, then count this one."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._in_flight < limit and not self._waiters:
                self._take()
                return
            waiter = _Waiter(limit, loop, loop.create_future())
            self._waiters.append(waiter)
        try:
            await waiter.future
        except BaseException:
            with self._lock:
                queued = waiter in self._waiters
                if queued:
                    self._waiters.remove(waiter)
            if not queued:
                if waiter.future.done() and not waiter.future.cancelled():
                    self.release()  # granted, then cancelled: hand the slot on
                else:
                    waiter.future.cancel()  # a grant still on its way is handed on by _grant
            raise

    def release(self) -> None:
        """One call finished: wake the waiters that now fit, oldest first."""
        with self._lock:
            self._in_flight -= 1
            granted = self._admit()
        for waiter in granted:
            self._send(waiter)

    def _take(self) -> None:
        self._in_flight += 1
        self.peak = max(self.peak, self._in_flight)

    def _admit(self) -> list[_Waiter]:
        """Waiters whose limit leaves room, in arrival order; their slots are taken for them.
        Called with the lock held."""
        granted = []
        while self._waiters and self._in_flight < self._waiters[0].limit:
            granted.append(self._waiters.popleft())
            self._take()
        return granted

    def _send(self, waiter: _Waiter) -> None:
        try:
            waiter.loop.call_soon_threadsafe(self._grant, waiter)
        except RuntimeError:  # its event loop has closed: nobody will take the slot
            self.release()

    def _grant(self, waiter: _Waiter) -> None:
        """In the waiter's own loop: wake it, or pass the slot on if it gave up meanwhile."""
        if waiter.future.done():
            self.release()
        else:
            waiter.future.set_result(None)


_registry_lock = threading.Lock()
_gates: dict[str, SiteGate] = {}


def site_gate(endpoint: str) -> SiteGate:
    """This process's gate for the site at ``endpoint`` (its REST URL)."""
    with _registry_lock:
        gate = _gates.get(endpoint)
        if gate is None:
            gate = _gates[endpoint] = SiteGate()
        return gate
