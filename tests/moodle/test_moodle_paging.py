"""Paging strategies: real Moodle page sequences, short pages, totals, and servers that ignore paging."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from moodle_helpers import TOKEN, form_of, load_recording, make_client, recording_response

from moodle_assets.moodle import MoodleError, chunked, limit_offset, page_perpage


class FakeClient:
    """Answers calls from a function of the params, recording each call's params."""

    def __init__(self, answer: Callable[[dict[str, Any]], Any]):
        self.answer = answer
        self.calls: list[dict[str, Any]] = []

    async def call(self, function: str, params: dict[str, Any] | None = None) -> Any:
        self.calls.append(params or {})
        return self.answer(params or {})


def collect(pages: AsyncIterator[Any]) -> list[Any]:
    async def main() -> list[Any]:
        return [page async for page in pages]

    return asyncio.run(main())


def option(params: dict[str, Any], name: str) -> Any:
    return next(o["value"] for o in params["options"] if o["name"] == name)


def users(start: int, count: int) -> list[dict[str, int]]:
    return [{"id": n} for n in range(start, start + count)]


def test_limit_offset_reads_the_real_course2_pages_and_sends_the_recorded_forms() -> None:
    recordings = {
        str(offset): load_recording(f"core_enrol_get_enrolled_users__course2_page{n}")
        for n, offset in enumerate((0, 100, 200, 300))
    }
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return recording_response(recordings[dict(form_of(request))["options[0][value]"]])

    async def main() -> list[Any]:
        client, _ = make_client(handler)
        async with client:
            return [
                page
                async for page in limit_offset(
                    client,
                    "core_enrol_get_enrolled_users",
                    {"courseid": 2},
                    page_size=100,
                    records_of=lambda body: body,
                )
            ]

    pages = asyncio.run(main())

    assert [len(page) for page in pages] == [100, 100, 29]
    assert len({user["id"] for page in pages for user in page}) == 229
    sent = [form_of(request) for request in requests]
    expected = [
        [(name, TOKEN if name == "wstoken" else value) for name, value in recordings[offset]["params"].items()]
        for offset in ("0", "100", "200", "300")
    ]
    assert sent == expected


def test_limit_offset_does_not_stop_on_a_short_page_mid_stream() -> None:
    sizes = {0: 100, 100: 90, 200: 100, 300: 0}
    client = FakeClient(lambda params: users(option(params, "limitfrom"), sizes[option(params, "limitfrom")]))

    pages = collect(
        limit_offset(
            client, "core_enrol_get_enrolled_users", {"courseid": 7}, page_size=100, records_of=lambda body: body
        )
    )

    assert [len(page) for page in pages] == [100, 90, 100]
    assert [option(params, "limitfrom") for params in client.calls] == [0, 100, 200, 300]
    assert all(option(params, "limitnumber") == 100 for params in client.calls)
    assert all(params["courseid"] == 7 for params in client.calls)


def test_limit_offset_keeps_the_callers_own_options_first() -> None:
    client = FakeClient(lambda params: users(1, 3) if option(params, "limitfrom") == 0 else [])
    params = {"courseid": 2, "options": [{"name": "onlyactive", "value": 1}]}

    collect(limit_offset(client, "core_enrol_get_enrolled_users", params, page_size=50, records_of=lambda body: body))

    assert client.calls[0] == {
        "courseid": 2,
        "options": [
            {"name": "onlyactive", "value": 1},
            {"name": "limitfrom", "value": 0},
            {"name": "limitnumber", "value": 50},
        ],
    }
    assert params == {"courseid": 2, "options": [{"name": "onlyactive", "value": 1}]}  # not mutated


def test_limit_offset_refuses_paging_options_from_the_caller() -> None:
    client = FakeClient(lambda params: [])
    params = {"courseid": 2, "options": [{"name": "limitnumber", "value": 10}]}
    with pytest.raises(ValueError) as caught:
        collect(limit_offset(client, "core_enrol_get_enrolled_users", params, page_size=100, records_of=lambda b: b))
    assert str(caught.value) == (
        "core_enrol_get_enrolled_users: options ['limitnumber'] are set by limit_offset paging; "
        "remove them from params and pass page_size instead"
    )
    assert client.calls == []


def test_limit_offset_stops_when_the_server_ignores_paging() -> None:
    # A misspelt option is silently ignored by Moodle: every page is the full list.
    everyone = users(3, 229)
    client = FakeClient(lambda params: everyone)

    with pytest.raises(MoodleError) as caught:
        collect(
            limit_offset(
                client, "core_enrol_get_enrolled_users", {"courseid": 2}, page_size=100, records_of=lambda b: b
            )
        )

    assert caught.value.fatal is True
    assert str(caught.value).startswith(
        "core_enrol_get_enrolled_users: the page at limitfrom=100 repeats the previous page's 229 records, "
        "so the server ignores the paging parameters (limitfrom/limitnumber) and paging would never end."
    )
    assert len(client.calls) == 2


def test_an_empty_first_page_is_yielded_once() -> None:
    client = FakeClient(lambda params: [])
    pages = collect(
        limit_offset(client, "core_enrol_get_enrolled_users", {"courseid": 9}, page_size=100, records_of=lambda b: b)
    )
    assert pages == [[]]
    assert len(client.calls) == 1


def test_page_perpage_with_total_makes_no_extra_call() -> None:
    recordings = {n: load_recording(f"core_course_search_courses__data_page{n}") for n in (0, 1)}
    client = FakeClient(lambda params: recordings[params["page"]]["body"])
    params = {"criterianame": "search", "criteriavalue": "Data"}

    pages = collect(
        page_perpage(
            client,
            "core_course_search_courses",
            params,
            page_size=2,
            records_of=lambda body: body["courses"],
            total_of=lambda body: body["total"],
        )
    )

    assert [[course["id"] for course in page["courses"]] for page in pages] == [
        [course["id"] for course in recordings[0]["body"]["courses"]],
        [course["id"] for course in recordings[1]["body"]["courses"]],
    ]
    assert client.calls == [{**params, "page": 0, "perpage": 2}, {**params, "page": 1, "perpage": 2}]


def test_page_perpage_sends_the_recorded_form() -> None:
    recording = load_recording("core_course_search_courses__data_page0")
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return recording_response(recording)

    async def main() -> None:
        client, _ = make_client(handler)
        async with client:
            pages = page_perpage(
                client,
                "core_course_search_courses",
                {"criterianame": "search", "criteriavalue": "Data"},
                page_size=2,
                records_of=lambda body: body["courses"],
                total_of=lambda body: 2,
            )
            assert [page async for page in pages] == [recording["body"]]

    asyncio.run(main())
    assert form_of(requests[0]) == [
        (name, TOKEN if name == "wstoken" else value) for name, value in recording["params"].items()
    ]


def test_page_perpage_without_total_stops_on_the_empty_page() -> None:
    sizes = [50, 50, 35, 0]
    client = FakeClient(lambda params: {"discussions": users(params["page"] * 50, sizes[params["page"]])})

    pages = collect(
        page_perpage(
            client,
            "mod_forum_get_forum_discussions",
            {"forumid": 1},
            page_size=50,
            records_of=lambda b: b["discussions"],
        )
    )

    assert [len(page["discussions"]) for page in pages] == [50, 50, 35]
    assert [params["page"] for params in client.calls] == [0, 1, 2, 3]


def test_page_perpage_stop_on_short_page() -> None:
    sizes = [50, 50, 35]
    client = FakeClient(lambda params: {"discussions": users(params["page"] * 50, sizes[params["page"]])})

    pages = collect(
        page_perpage(
            client,
            "mod_forum_get_forum_discussions",
            {"forumid": 1},
            page_size=50,
            records_of=lambda b: b["discussions"],
            stop_on_short_page=True,
        )
    )

    assert [len(page["discussions"]) for page in pages] == [50, 50, 35]
    assert len(client.calls) == 3


def test_page_perpage_custom_names_and_first_page() -> None:
    client = FakeClient(lambda params: {"badges": users(0, 1)} if params["pg"] == 1 else {"badges": []})

    pages = collect(
        page_perpage(
            client,
            "core_badges_get_user_badges",
            {"userid": 4},
            page_size=1,
            records_of=lambda b: b["badges"],
            page_param="pg",
            perpage_param="n",
            first_page=1,
        )
    )

    assert len(pages) == 1
    assert client.calls == [{"userid": 4, "pg": 1, "n": 1}, {"userid": 4, "pg": 2, "n": 1}]


def test_page_perpage_repeated_page_is_an_error() -> None:
    client = FakeClient(lambda params: {"discussions": users(0, 50)})
    with pytest.raises(MoodleError) as caught:
        collect(
            page_perpage(
                client,
                "mod_forum_get_forum_discussions",
                {"forumid": 1},
                page_size=50,
                records_of=lambda b: b["discussions"],
            )
        )
    assert "the page at page=1 repeats the previous page's 50 records" in str(caught.value)
    assert caught.value.fatal is True


def test_max_pages_guard() -> None:
    client = FakeClient(lambda params: {"discussions": users(params["page"] * 10, 10)})
    with pytest.raises(MoodleError) as caught:
        collect(
            page_perpage(
                client,
                "mod_forum_get_forum_discussions",
                {},
                page_size=10,
                records_of=lambda b: b["discussions"],
                max_pages=3,
            )
        )
    assert str(caught.value) == (
        "mod_forum_get_forum_discussions: stopped after 3 pages without reaching the end. The server may "
        "be ignoring the paging parameters; check them, or raise page_size."
    )
    assert len(client.calls) == 3


def test_page_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match=r"page_size must be at least 1, not 0"):
        collect(page_perpage(FakeClient(lambda p: []), "f", {}, page_size=0, records_of=lambda b: b))


def test_chunked() -> None:
    assert chunked([1, 2, 3, 4, 5], 2) == [[1, 2], [3, 4], [5]]
    assert chunked((7, 8), 5) == [[7, 8]]
    assert chunked([], 3) == []
    with pytest.raises(ValueError, match=r"batch size must be at least 1, not 0"):
        chunked([1], 0)


def test_page_perpage_reads_a_numeric_string_total_and_ignores_a_missing_one() -> None:
    client = FakeClient(lambda params: {"items": users(params["page"] * 2, 2), "total": "4"})
    pages = collect(
        page_perpage(client, "f", {}, page_size=2, records_of=lambda b: b["items"], total_of=lambda b: b["total"])
    )
    assert (len(pages), len(client.calls)) == (2, 2)

    sizes = [2, 0]
    client = FakeClient(lambda params: {"items": users(0, sizes[params["page"]])})
    pages = collect(
        page_perpage(client, "f", {}, page_size=2, records_of=lambda b: b["items"], total_of=lambda b: b.get("total"))
    )
    assert (len(pages), len(client.calls)) == (1, 2)
