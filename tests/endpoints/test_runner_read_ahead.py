"""The runner reads ahead only into spare concurrency: the tail of a fan-out, never beyond the bound.

Over real HTTP against the demo Moodle: course 2 has 229 participants (46 pages of 5, two
hidden users making pages short before the end), the other courses 25 to 30, and course 12
is unreadable. At max_concurrency 4 the small courses keep three workers busy while course 2
walks; when they are done, course 2 alone gets up to three pages ahead.
"""

from __future__ import annotations

import asyncio
import collections
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from moodle_assets.demo.server import DEMO_TOKEN, DemoServer
from moodle_assets.endpoints.runner import EndpointFailure, harvest, plan_calls, resolve
from moodle_assets.endpoints.validation import build_spec
from moodle_assets.moodle import ClientSettings, MoodleClient
from moodle_assets.moodle.site_gate import site_gate

NOW = datetime(2026, 11, 1, tzinfo=UTC)
ENROL = "core_enrol_get_enrolled_users"
COURSES = [{"id": course} for course in range(2, 14)]


def spec_of(**raw: Any):
    spec, problems = build_spec(
        {
            "name": "participants",
            "function": ENROL,
            "params": {"courseid": "{courses.id}"},
            "paginate": {"style": "limit_offset", "page_size": 5},
            **raw,
        },
        "test.yaml",
        0,
    )
    assert problems == [] and spec is not None
    return spec


class Requested:
    """Wraps a client's ``call`` to count the calls requested and not yet answered (those
    waiting for a slot in the client included), overall and by course."""

    def __init__(self, client: MoodleClient):
        self.by_course: collections.Counter[int] = collections.Counter()
        self.peak_by_course: collections.Counter[int] = collections.Counter()
        self.calls_by_course: collections.Counter[int] = collections.Counter()
        self.in_flight = self.peak = 0
        call = client.call

        async def counted(function: str, params: Any = None, headers: Any = None) -> Any:
            course = int(params["courseid"])
            self.calls_by_course[course] += 1
            self.in_flight += 1
            self.by_course[course] += 1
            self.peak = max(self.peak, self.in_flight)
            self.peak_by_course[course] = max(self.peak_by_course[course], self.by_course[course])
            try:
                return await call(function, params, headers)
            finally:
                self.in_flight -= 1
                self.by_course[course] -= 1

        client.call = counted  # type: ignore[method-assign]


def run(server: DemoServer, max_concurrency: int) -> tuple[Any, list[tuple[int, int]], Requested]:
    sunk: list[tuple[int, int]] = []

    async def main() -> tuple[Any, Requested]:
        settings = ClientSettings(
            server.url, DEMO_TOKEN, max_concurrency=max_concurrency, max_retries=0, adaptive_concurrency=False
        )
        async with MoodleClient(settings) as client:
            requested = Requested(client)
            resolved = resolve(spec_of())
            calls = list(plan_calls(resolved, COURSES, NOW))
            try:
                outcome = await harvest(
                    resolved,
                    client,
                    calls,
                    lambda records, ctx: sunk.extend((ctx["courseid"], r["id"]) for r in records),
                )
            finally:
                left = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
                assert left == [] and site_gate(settings.endpoint).in_flight == 0
            return outcome, requested

    outcome, requested = asyncio.run(main())
    return outcome, sunk, requested


@pytest.fixture()
def site(demo_dataset):
    with DemoServer(demo_dataset, workers=4, service_ms=3) as server:
        yield server


def test_the_tail_reads_ahead_within_max_concurrency_and_loads_the_same_records(site):
    sequential, expected, alone = run(site, 1)  # one worker: nothing is ever spare
    assert alone.peak == 1
    site.reset_calls()

    outcome, sunk, requested = run(site, 4)

    assert sorted(sunk) == sorted(expected) and len(set(expected)) == len(expected) == 499
    assert (outcome.pages, outcome.records, outcome.errors) == (sequential.pages, 499, sequential.errors)
    assert [error["item"] for error in outcome.errors] == [{"courseid": 12}]
    assert requested.peak_by_course[2] > 1  # course 2 read ahead in the tail
    assert requested.peak <= 4 and site.peak_in_flight <= 4  # requested and at the site
    # Read-ahead costs at most k = max_concurrency - 1 calls past an item's end.
    for course, calls in requested.calls_by_course.items():
        assert alone.calls_by_course[course] <= calls <= alone.calls_by_course[course] + 3
    assert alone.calls_by_course[2] == 47


def test_while_the_queue_holds_items_nobody_reads_ahead(site):
    """At max_concurrency 2 one worker walks course 2 (47 calls) while the other goes through the
    eleven small courses (about 70 calls): course 2 ends while the queue still holds items, so it
    never had a spare call to read ahead with, and made exactly the sequential calls."""
    _, _, requested = run(site, 2)
    assert requested.peak_by_course[2] == 1 and requested.calls_by_course[2] == 47
    assert requested.peak <= 2


def test_an_endpoint_failing_cancels_the_calls_read_ahead():
    """Course 3 stops the whole endpoint on its ninth page while both courses read ahead: the
    harvest fails at once, and no call ahead is left pending or holding a slot at the gate."""
    in_flight: collections.Counter[int] = collections.Counter()
    peak: collections.Counter[int] = collections.Counter()

    async def handler(request: httpx.Request) -> httpx.Response:
        form = dict(httpx.QueryParams(request.content.decode("ascii")))
        course, start = int(form["courseid"]), int(form["options[0][value]"])
        in_flight[course] += 1
        peak[course] = max(peak[course], in_flight[course])
        try:
            await asyncio.sleep(0.002)
        finally:
            in_flight[course] -= 1
        if (course, start) == (3, 40):
            return httpx.Response(200, json={"exception": "moodle_exception", "errorcode": "stopnow", "message": "no"})
        return httpx.Response(200, json=[{"id": n} for n in range(start, min(start + 5, 500 if course == 2 else 60))])

    settings = ClientSettings("http://read-ahead-fails.test", "t0ken", max_concurrency=4, max_retries=0)
    spec = spec_of(fail_on={"stopnow": "Stop."})

    async def main() -> None:
        async with MoodleClient(settings, transport=httpx.MockTransport(handler)) as client:
            resolved = resolve(spec)
            with pytest.raises(EndpointFailure, match="stopnow"):
                await harvest(resolved, client, list(plan_calls(resolved, [{"id": 2}, {"id": 3}], NOW)), print)
            left = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            assert left == [] and site_gate(settings.endpoint).in_flight == 0

    asyncio.run(main())
    assert peak == {2: 2, 3: 2}  # two items walking, four calls allowed: each one page ahead


def test_a_sink_failing_mid_walk_leaves_no_call_read_ahead_behind(site):
    """The endpoint's only call (one walk, so three pages ahead) and the warehouse failing on its
    fifth page: the walk is closed at once, its calls ahead cancelled, before harvest raises."""
    spec, problems = build_spec(
        {
            "name": "participants",
            "function": ENROL,
            "params": {"courseid": 2},
            "paginate": {"style": "limit_offset", "page_size": 5},
        },
        "test.yaml",
        0,
    )
    assert problems == [] and spec is not None
    pages: list[int] = []

    def sink(records: list[dict], context: Any) -> None:
        pages.append(len(records))
        if len(pages) == 5:
            raise OSError("the disk is full")

    async def main() -> Requested:
        settings = ClientSettings(site.url, DEMO_TOKEN, max_concurrency=4, max_retries=0, adaptive_concurrency=False)
        async with MoodleClient(settings) as client:
            requested = Requested(client)
            resolved = resolve(spec)
            with pytest.raises(OSError, match="the disk is full"):
                await harvest(resolved, client, list(plan_calls(resolved, None, NOW)), sink)
            left = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            assert left == [] and requested.in_flight == 0 and site_gate(settings.endpoint).in_flight == 0
            return requested

    requested = asyncio.run(main())
    assert len(pages) == 5 and requested.peak == 4  # it was reading three pages ahead
