"""Read-ahead in limit/offset paging: the sequential pages, with more than one call in flight.

A long walk (a course of thousands of students) issues the calls for the next offsets while it
waits for the current page. These tests hold it to its promises: the same pages and records in
the same order, at most ``k`` calls ahead, none before two full pages, errors past the end
ignored, and every call ahead cancelled when the walk ends, fails or is abandoned.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
import pytest

from moodle_assets.moodle import ClientSettings, MoodleAPIError, MoodleClient, MoodleError, limit_offset
from moodle_assets.moodle.site_gate import site_gate

ENROL = "core_enrol_get_enrolled_users"
PAGE = 100
TOTAL = 2229  # 23 pages of 100, the last one 29 long, then the empty page at limitfrom=2300
HIDDEN = frozenset({512, 530, 577})  # dropped after the LIMIT: the page at 500 comes back short
SEQUENTIAL_OFFSETS = list(range(0, 2400, PAGE))  # 24 calls, the empty page included


def refusal(offset: int) -> MoodleAPIError:
    return MoodleAPIError(
        f"refused at {offset}",
        function=ENROL,
        errorcode="nopermissions",
        exception="required_capability_exception",
        moodle_message="no",
    )


class Site:
    """A fake Moodle answering enrolled users by limitfrom/limitnumber after a short wait,
    counting the calls in flight and recording those that were cancelled."""

    def __init__(
        self,
        total: int = TOTAL,
        fail: Callable[[int], bool] = lambda offset: False,
        delay: float | Callable[[int], float] = 0.002,
        hold_from: int | None = None,
        repeat_every: int | None = None,
    ):
        self.total = total
        self.fail = fail
        self.delay = delay
        self.hold_from = hold_from  # offsets from here on never answer (until cancelled)
        self.repeat_every = repeat_every  # pages: a server cycling through its first pages
        self.offsets: list[int] = []
        self.cancelled: list[int] = []
        self.in_flight = 0
        self.peak = 0

    async def call(self, function: str, params: dict[str, Any] | None = None) -> Any:
        options = {o["name"]: o["value"] for o in (params or {})["options"]}
        offset, limit = options["limitfrom"], options["limitnumber"]
        self.offsets.append(offset)
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            if self.fail(offset):
                raise refusal(offset)
            await asyncio.sleep(self.delay(offset) if callable(self.delay) else self.delay)
            if self.hold_from is not None and offset >= self.hold_from:
                await asyncio.Event().wait()
            start = offset % (self.repeat_every * limit) if self.repeat_every else offset
            return [{"id": n} for n in range(start, min(start + limit, self.total)) if n not in HIDDEN]
        except asyncio.CancelledError:
            self.cancelled.append(offset)
            raise
        finally:
            self.in_flight -= 1


def run(main: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    """Run ``main`` and prove it left nothing behind: no task still pending when it returns, and
    nothing reported to the loop (a task destroyed while pending, an exception never retrieved)."""
    reported: list[dict[str, Any]] = []

    async def checked() -> Any:
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: reported.append(context))
        try:
            return await main()
        finally:
            left = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            assert left == [], f"tasks left pending: {left}"

    result = asyncio.run(checked())
    assert reported == []
    return result


def walk(site: Any, read_ahead: Callable[[], int] | None, **options: Any):
    return limit_offset(
        site, ENROL, {"courseid": 2}, page_size=PAGE, records_of=lambda body: body, read_ahead=read_ahead, **options
    )


def pages_of(site: Site, read_ahead: Callable[[], int] | None, **options: Any) -> list[Any]:
    async def main() -> list[Any]:
        return [page async for page in walk(site, read_ahead, **options)]

    return run(main)


@pytest.mark.parametrize("ahead", [1, 3, 8])
def test_read_ahead_yields_the_sequential_pages_with_more_calls_in_flight(ahead):
    sequential = Site()
    expected = pages_of(sequential, None)
    assert sequential.offsets == SEQUENTIAL_OFFSETS and sequential.peak == 1
    assert [len(page) for page in expected][4:6] == [100, 97]  # short before the end, and the walk went on
    assert sum(len(page) for page in expected) == TOTAL - len(HIDDEN)

    site = Site(delay=lambda offset: (0.004, 0.001, 0.003, 0.0)[offset // PAGE % 4])  # answers out of order
    assert pages_of(site, lambda: ahead) == expected
    assert site.peak == ahead + 1  # the current page and k ahead, never more
    past_the_end = sorted(set(site.offsets) - set(SEQUENTIAL_OFFSETS))
    assert len(past_the_end) <= ahead and len(site.offsets) <= len(SEQUENTIAL_OFFSETS) + ahead
    assert sorted(site.offsets[: len(SEQUENTIAL_OFFSETS)]) == SEQUENTIAL_OFFSETS  # each offset once, in order
    assert len(site.offsets) == len(set(site.offsets))


def test_read_ahead_follows_the_callers_answer_page_by_page():
    """0 means the sequential walk; a share that grows (items finishing) is used at once."""
    shares = iter([0, 0, 0, 2, 2, 5])
    site = Site()
    pages = pages_of(site, lambda: next(shares, 5))
    assert pages == pages_of(Site(), None)
    assert site.offsets[:5] == [0, 100, 200, 300, 400]  # sequential while the share was 0
    assert site.peak == 6


@pytest.mark.parametrize("total", [150, 99, 0])
def test_a_short_walk_makes_exactly_the_sequential_calls(total):
    """A course of one full page and a short one (or less) never reads ahead: no call wasted."""
    asked: list[int] = []
    site = Site(total=total)
    pages = pages_of(site, lambda: asked.append(1) or 3)
    assert site.offsets == list(range(0, -(-total // PAGE) * PAGE + 1, PAGE))  # the pages, then the empty one
    assert (site.peak, asked) == (1, [])
    assert pages == pages_of(Site(total=total), None)


def test_read_ahead_starts_after_two_full_pages():
    seen_when_asked: list[int] = []
    site = Site(total=1000)

    def share() -> int:
        seen_when_asked.append(len(site.offsets))
        return 3

    pages_of(site, share)
    assert seen_when_asked[0] == 2  # asked first before the third call
    assert site.offsets[:5] == [0, 100, 200, 300, 400]  # the third page and three ahead
    assert site.offsets[:10] == list(range(0, 1000, PAGE))


def test_max_pages_bounds_the_calls_ahead():
    site = Site()
    with pytest.raises(Exception, match="stopped after 6 pages"):
        pages_of(site, lambda: 8, max_pages=6)
    assert sorted(site.offsets) == list(range(0, 600, PAGE))


async def until_error(
    site: Site, read_ahead: Callable[[], int] | None, error: type[Exception]
) -> tuple[list[Any], str]:
    """The pages a walk yields before it fails with ``error``, and the error's message."""
    pages: list[Any] = []
    with pytest.raises(error) as caught:
        async for page in walk(site, read_ahead):
            pages.append(page)
    return pages, str(caught.value)


def test_an_error_before_the_end_fails_the_walk_as_without_read_ahead():
    def fail(offset: int) -> bool:
        return offset == 700

    sequential = run(lambda: until_error(Site(fail=fail, hold_from=800), None, MoodleAPIError))
    site = Site(fail=fail, hold_from=800)
    assert run(lambda: until_error(site, lambda: 3, MoodleAPIError)) == sequential
    assert [len(page) for page in sequential[0]] == [100, 100, 100, 100, 100, 97, 100]
    assert sequential[1] == "refused at 700"
    assert {800, 900} <= set(site.cancelled) and site.in_flight == 0  # the calls ahead of 700


def test_a_server_cycling_through_pages_is_caught_as_without_read_ahead():
    """Pages A, B, C, A...: the repeat check sees the pages in offset order, so the walk fails on
    the same page, with the same message, and only the calls ahead of it are lost."""

    sequential = run(lambda: until_error(Site(repeat_every=3), None, MoodleError))
    site = Site(repeat_every=3, delay=lambda offset: 0.001 * (offset // PAGE % 2))
    assert run(lambda: until_error(site, lambda: 3, MoodleError)) == sequential
    assert len(sequential[0]) == 3 and "the page at limitfrom=300 repeats" in sequential[1]
    assert max(site.offsets) <= 600 and site.in_flight == 0


def test_an_error_on_a_page_past_the_end_is_ignored():
    site = Site(fail=lambda offset: offset >= 2400)
    assert pages_of(site, lambda: 3) == pages_of(Site(), None)
    assert 2400 in site.offsets  # the call past the end was made, and its error dropped


def test_cancelling_the_consumer_cancels_the_calls_ahead():
    site = Site(hold_from=500)  # the walk is stuck waiting for the page at 500

    async def main() -> list[Any]:
        pages: list[Any] = []

        async def consume() -> None:
            async for page in walk(site, lambda: 3):
                pages.append(page)

        consumer = asyncio.create_task(consume())
        for _ in range(1000):  # at most about a second
            if site.in_flight == 4 and len(pages) == 5:
                break
            await asyncio.sleep(0.001)
        consumer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await consumer
        return pages

    assert len(run(main)) == 5
    assert site.in_flight == 0 and sorted(site.cancelled) == [500, 600, 700, 800]
    assert site.offsets == list(range(0, 900, PAGE))


def test_closing_the_walk_between_pages_cancels_the_calls_ahead():
    site = Site(hold_from=400)

    async def main() -> None:
        pages = walk(site, lambda: 3)
        for _ in range(4):
            await anext(pages)
        await asyncio.sleep(0.01)
        assert site.in_flight == 3  # the consumer holds page 3; the pages at 400 to 600 are on their way
        await pages.aclose()

    run(main)
    assert site.in_flight == 0 and sorted(site.cancelled) == [400, 500, 600]


def test_calls_ahead_waiting_at_the_site_gate_never_reach_the_site():
    """With one call allowed, the calls ahead queue in the client; at the end those still
    queued are cancelled there and the gate's slots all come back."""
    seen: list[int] = []
    in_flight = peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        form = dict(httpx.QueryParams(request.content.decode("ascii")))
        seen.append(int(form["options[0][value]"]))
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.001)
        in_flight -= 1
        start = seen[-1]
        body = [{"id": n} for n in range(start, min(start + PAGE, TOTAL)) if n not in HIDDEN]
        return httpx.Response(200, json=body)

    settings = ClientSettings("http://read-ahead.test", "t0ken", max_concurrency=1, max_retries=0)
    issued: list[int] = []

    async def main() -> list[Any]:
        async with MoodleClient(settings, transport=httpx.MockTransport(handler)) as client:
            call = client.call

            async def counted(function: str, params: dict[str, Any] | None = None) -> Any:
                issued.append(params["options"][0]["value"])
                return await call(function, params)

            client.call = counted  # type: ignore[method-assign]
            pages = [page async for page in walk(client, lambda: 3)]
            assert (client.limit.in_flight, site_gate(settings.endpoint).in_flight) == (0, 0)
            return pages

    assert run(main) == pages_of(Site(), None)
    assert peak == 1
    assert set(SEQUENTIAL_OFFSETS) <= set(seen) and len(seen) < len(issued) == len(SEQUENTIAL_OFFSETS) + 3
