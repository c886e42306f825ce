"""encode_params must spell nested params exactly as the real Moodle requests were sent."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx
import pytest
from moodle_helpers import TOKEN, form_of, load_recording, make_client, recorded_fields, recording_response

from moodle_assets.moodle import encode_params


@pytest.mark.parametrize(
    ("recording", "params"),
    [
        (
            "core_calendar_get_calendar_events__course2_window",
            {
                "events": {"courseids": [2, 3]},
                "options": {"userevents": True, "siteevents": True, "timestart": 1787927372, "timeend": 1798295372},
            },
        ),
        (
            "core_enrol_get_enrolled_users__course2_page0",
            {"courseid": 2, "options": [{"name": "limitfrom", "value": 0}, {"name": "limitnumber", "value": 100}]},
        ),
        (
            "core_user_get_users__email",
            {"criteria": [{"key": "email", "value": "alice.haddad037@students.example.edu"}]},
        ),
        ("core_course_get_courses__ids_2_3", {"options": {"ids": [2, 3]}}),
        (
            "core_course_search_courses__data_page0",
            {"criterianame": "search", "criteriavalue": "Data", "page": 0, "perpage": 2},
        ),
        (
            "mod_assign_get_assignments__courses2_3_includenotenrolled",
            {"courseids": [2, 3], "includenotenrolledcourses": 1},
        ),
    ],
)
def test_encode_params_gives_the_recorded_fields_in_order(recording: str, params: dict) -> None:
    assert encode_params(params) == recorded_fields(load_recording(recording))


def test_client_posts_exactly_the_recorded_form() -> None:
    recording = load_recording("core_calendar_get_calendar_events__course2_window")
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return recording_response(recording)

    params = {
        "events": {"courseids": [2, 3]},
        "options": {"userevents": 1, "siteevents": 1, "timestart": 1787927372, "timeend": 1798295372},
    }

    async def main() -> object:
        client, _ = make_client(handler)
        async with client:
            return await client.call("core_calendar_get_calendar_events", params)

    body = asyncio.run(main())

    assert body == recording["body"]
    (request,) = seen
    assert request.method == "POST"
    assert str(request.url) == "http://moodle.test/webservice/rest/server.php"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    expected = [(name, TOKEN if name == "wstoken" else value) for name, value in recording["params"].items()]
    assert form_of(request) == expected


def test_scalars_are_spelled_for_moodle() -> None:
    assert encode_params(
        {"yes": True, "no": False, "n": -7, "ratio": 1e-07, "big": 1e16, "half": 0.5, "d": Decimal("2.50"), "s": "%"}
    ) == [
        ("yes", "1"),
        ("no", "0"),
        ("n", "-7"),
        ("ratio", "0.0000001"),
        ("big", "10000000000000000"),
        ("half", "0.5"),
        ("d", "2.50"),
        ("s", "%"),
    ]


def test_none_values_and_empty_containers_are_omitted() -> None:
    assert encode_params(
        {"courseid": 2, "groupid": None, "courseids": [], "options": {"ids": [None, 4], "x": None}, "empty": {}}
    ) == [("courseid", "2"), ("options[ids][1]", "4")]


def test_tuples_nest_like_lists_and_strings_are_not_split() -> None:
    assert encode_params({"values": ("a@b.c", "d@e.f"), "field": "email"}) == [
        ("values[0]", "a@b.c"),
        ("values[1]", "d@e.f"),
        ("field", "email"),
    ]


def test_unsupported_values_are_refused_with_the_fix() -> None:
    with pytest.raises(TypeError, match=r"cannot form-encode a set .* pass str, int, float, bool, a list or a mapping"):
        encode_params({"ids": {1, 2}})
    with pytest.raises(ValueError, match=r"cannot send the float nan to Moodle: use a finite number"):
        encode_params({"grade": float("nan")})
