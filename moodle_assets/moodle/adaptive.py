"""How many calls a client keeps in flight: a limit lowered while the site is saturated.

A PHP site serves only a few requests at once, and more concurrency only queues inside PHP-FPM.
:class:`AdaptiveLimit` starts at ``max_concurrency`` and is lowered while the site answers
slower without answering more (or says it is overloaded), then raised back; it never exceeds
the setting. :class:`moodle_assets.moodle.client.MoodleClient` holds one per client.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import statistics
import time
from collections.abc import Callable

__all__ = ["AdaptiveLimit"]

logger = logging.getLogger("moodle_assets.moodle")


class AdaptiveLimit:
    """How many calls may be in flight: at most ``maximum``, lowered while the site is saturated.

    Starts at ``maximum``. Every finished attempt reports how long its HTTP wait took; every
    ``window`` attempts (at least 8, four per slot) the limit is reconsidered (AIMD):

    * an overloaded site (HTTP 408/429/5xx or a transport failure in the window) halves it;
    * latency that climbed by half over the previous window's without at least 10 % more
      calls per second (extra calls only queue in PHP-FPM) takes a quarter off it (at least 1);
    * otherwise, after two calm windows, it grows by one, back towards ``maximum``.

    It never exceeds ``maximum`` nor goes below 1. The clock is injectable for tests.
    """

    LATENCY_CLIMB = 1.5
    THROUGHPUT_GAIN = 1.1
    HOLD_WINDOWS = 2

    def __init__(self, maximum: int, clock: Callable[[], float] = time.monotonic, adaptive: bool = True) -> None:
        self.maximum = maximum
        self.limit = maximum
        self.adaptive = adaptive
        self.changes: list[tuple[int, str]] = []  # (new limit, why), for metadata and tests
        self._clock = clock
        self._in_flight = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._window_started: float | None = None
        self._latencies: list[float] = []
        self._overloaded = False
        self._previous: tuple[float, float] | None = None  # (median latency, calls/s) of the last window
        self._hold = 0

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def acquire(self) -> None:
        while self._in_flight >= self.limit:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except BaseException:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
                elif waiter.done() and not waiter.cancelled():
                    self._wake()  # woken, then cancelled: hand the free slot on
                raise
        self._in_flight += 1

    def release(self) -> None:
        self._in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        free = self.limit - self._in_flight
        while free > 0 and self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                free -= 1

    def record(self, seconds: float, overloaded: bool = False) -> None:
        """One attempt finished after ``seconds`` of HTTP wait; ``overloaded`` if the site
        answered 408/429/5xx or the attempt failed in transport."""
        if not self.adaptive:
            return
        now = self._clock()
        if self._window_started is None:
            self._window_started = now - seconds
        self._latencies.append(seconds)
        self._overloaded = self._overloaded or overloaded
        if len(self._latencies) < max(8, 4 * self.limit):
            return
        elapsed = max(now - self._window_started, 1e-9)
        latency = statistics.median(self._latencies)
        rate = len(self._latencies) / elapsed
        self._decide(latency, rate)
        self._previous = (latency, rate)
        self._window_started, self._latencies, self._overloaded = now, [], False

    def _decide(self, latency: float, rate: float) -> None:
        previous = self._previous
        if self._overloaded:
            self._set(max(1, self.limit // 2), "the site is overloaded (HTTP 408/429/5xx or dropped connections)")
        elif previous and latency > previous[0] * self.LATENCY_CLIMB and rate < previous[1] * self.THROUGHPUT_GAIN:
            self._set(
                max(1, min(self.limit - 1, self.limit * 3 // 4)),
                f"latency climbed {latency / previous[0]:.1f}x without more calls per second",
            )
        elif self.limit < self.maximum:
            if self._hold > 0:
                self._hold -= 1
            else:
                self._set(self.limit + 1, "latency is steady")

    def _set(self, limit: int, why: str) -> None:
        if limit < self.limit:
            self._hold = self.HOLD_WINDOWS
        if limit != self.limit:
            self.limit = limit
            self.changes.append((limit, why))
            logger.info("max calls in flight now %d of %d: %s", limit, self.maximum, why)
            self._wake()
