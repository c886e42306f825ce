"""Adaptive concurrency: the limit follows recorded latencies on a fake clock, never real time."""

from __future__ import annotations

import asyncio

import httpx
from moodle_helpers import make_client

from moodle_assets.moodle.adaptive import AdaptiveLimit


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def feed(limit: AdaptiveLimit, clock: FakeClock, latency: float, windows: int, overloaded: bool = False) -> None:
    """Whole windows of attempts finishing back to back: ``limit.limit`` in flight, each taking
    ``latency`` (so calls/s = limit / latency, as on a site that is not saturated)."""
    for _ in range(windows):
        for _ in range(max(8, 4 * limit.limit)):
            clock.now += latency / limit.limit
            limit.record(latency, overloaded)


def feed_saturated(limit: AdaptiveLimit, clock: FakeClock, service: float, windows: int) -> None:
    """A site serving one call per ``service`` whatever is in flight: latency grows with the limit."""
    for _ in range(windows):
        for _ in range(max(8, 4 * limit.limit)):
            clock.now += service
            limit.record(service * limit.limit)


def test_steady_latency_keeps_the_maximum() -> None:
    clock = FakeClock()
    limit = AdaptiveLimit(4, clock=clock)
    feed(limit, clock, 0.04, windows=20)
    assert limit.limit == 4
    assert limit.changes == []


def test_latency_climbing_without_throughput_backs_off_then_recovers() -> None:
    clock = FakeClock()
    limit = AdaptiveLimit(8, clock=clock)
    feed_saturated(limit, clock, 0.02, windows=2)
    assert limit.limit == 8
    # The site slows down: the same calls take three times as long, no more calls per second.
    feed_saturated(limit, clock, 0.06, windows=1)
    assert limit.limit == 6
    assert "latency climbed" in limit.changes[-1][1]
    # Back to normal: after the hold, one more slot per calm window, up to the maximum.
    feed_saturated(limit, clock, 0.02, windows=12)
    assert limit.limit == 8
    assert max(new for new, _ in limit.changes) == 8


def test_more_latency_with_more_throughput_is_not_a_reason_to_back_off() -> None:
    clock = FakeClock()
    limit = AdaptiveLimit(4, clock=clock)
    feed(limit, clock, 0.04, windows=2)
    # Twice the latency but the site also answers twice as many calls (it got more workers).
    for _ in range(16):
        clock.now += 0.04 / 8
        limit.record(0.08)
    assert limit.limit == 4


def test_overload_halves_the_limit_never_below_one() -> None:
    clock = FakeClock()
    limit = AdaptiveLimit(8, clock=clock)
    feed(limit, clock, 0.04, windows=1, overloaded=True)
    assert limit.limit == 4
    feed(limit, clock, 0.04, windows=5, overloaded=True)
    assert limit.limit == 1
    assert all(1 <= new <= 8 for new, _ in limit.changes)


def test_off_means_a_fixed_bound() -> None:
    clock = FakeClock()
    limit = AdaptiveLimit(4, clock=clock, adaptive=False)
    feed(limit, clock, 0.04, windows=3, overloaded=True)
    assert limit.limit == 4 and limit.changes == []


def test_a_lowered_limit_bounds_the_calls_in_flight() -> None:
    in_flight = peak = 0
    answered = 0
    peaks_after_backoff: list[int] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak, answered
        in_flight += 1
        peak = max(peak, in_flight)
        if client.limit.limit < 8:
            peaks_after_backoff.append(in_flight)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        in_flight -= 1
        answered += 1
        if answered <= 8:
            return httpx.Response(503, text="busy")
        return httpx.Response(200, json={"ok": True})

    client, sleeps = make_client(handler, max_concurrency=8, max_retries=3)
    client.limit._clock = FakeClock()

    async def main() -> None:
        async with client:
            await asyncio.gather(*(client.call("core_webservice_get_site_info") for _ in range(60)))

    asyncio.run(main())
    assert peak <= 8
    assert client.limit.changes and client.limit.changes[0][0] == 4
    assert peaks_after_backoff and max(peaks_after_backoff) <= 4
    assert client.stats.total_calls() == 60


def test_concurrency_can_be_fixed_in_the_settings() -> None:
    client, _ = make_client(lambda request: httpx.Response(200, json={}), adaptive_concurrency=False)
    assert client.limit.adaptive is False
