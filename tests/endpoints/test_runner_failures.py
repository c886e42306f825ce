"""What the runner makes of Moodle's refusals: nothing is ever silently empty or partial.

"No data here" codes (``empty_on``) count as empty items only when Moodle answers them to a
fan-out item's first call. A permission error is a failed item, whatever ``empty_on`` says.
An error later in an item's paging walk fails the item and loads none of its pages. The
endpoint's only call failing fails the endpoint instead of loading an empty table.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from urllib.parse import parse_qsl

import httpx
import pytest

from moodle_assets.endpoints.runner import EndpointFailure, harvest, plan_calls, resolve
from moodle_assets.endpoints.spec import DEFAULT_EMPTY_ON
from moodle_assets.endpoints.validation import build_spec
from moodle_assets.moodle import ClientSettings, MoodleClient
from moodle_assets.moodle.errors import PERMISSION_ERRORCODES

NOW = datetime(2026, 11, 1, tzinfo=UTC)
ENROL = "core_enrol_get_enrolled_users"
# Three users per course, two per page: every course is a walk of two pages and an empty one.
USERS = {2: [{"id": 3}, {"id": 4}, {"id": 5}], 3: [{"id": 6}, {"id": 7}, {"id": 8}]}


def envelope(errorcode: str, exception: str = "moodle_exception") -> dict:
    return {"exception": exception, "errorcode": errorcode, "message": f"Moodle says {errorcode}"}


def spec_of(**raw):
    spec, problems = build_spec({"name": "things", "function": ENROL, **raw}, "test.yaml", 0)
    assert problems == [] and spec is not None
    return spec


FAN_OUT = {"params": {"courseid": "{courses.id}"}, "paginate": {"style": "limit_offset", "page_size": 2}}


def run(spec, rows, refuse):
    """Harvest ``spec`` over lookup ``rows`` against a site whose answers ``refuse(form)`` may replace."""
    sunk: list[tuple[dict, dict]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        form = dict(parse_qsl(request.content.decode("ascii"), keep_blank_values=True))
        body = refuse(form)
        if body is None:
            course, start = int(form.get("courseid", 2)), int(form.get("options[0][value]", 0))
            body = USERS[course][start : start + int(form.get("options[1][value]", 100))]
        return httpx.Response(200, content=json.dumps(body).encode(), headers={"Content-Type": "application/json"})

    async def main():
        settings = ClientSettings("http://moodle.test", "t0ken", max_retries=0, max_concurrency=2)
        async with MoodleClient(settings, transport=httpx.MockTransport(handler)) as client:
            resolved = resolve(spec)
            calls = list(plan_calls(resolved, rows, NOW))
            return await harvest(
                resolved, client, calls, lambda records, ctx: sunk.extend((r, dict(ctx)) for r in records)
            )

    return asyncio.run(main()), sunk


def loaded(sunk) -> list[tuple[int, int]]:
    return sorted((ctx["courseid"], r["id"]) for r, ctx in sunk)


def on(courseid: int, offset: int, body: dict):
    return lambda form: (
        body if (form.get("courseid"), form.get("options[0][value]")) == (str(courseid), str(offset)) else None
    )


@pytest.mark.parametrize("code", ["usernotenroled", "nopermissions"])
def test_an_error_in_the_middle_of_a_walk_fails_the_item_and_loads_none_of_its_pages(code):
    """Course 3 answers its first page, then refuses the second: never a partial course, and
    never "empty" even with a code that would mean "no data" on the first call."""
    outcome, sunk = run(spec_of(**FAN_OUT), [{"id": 2}, {"id": 3}], on(3, 2, envelope(code)))
    assert loaded(sunk) == [(2, 3), (2, 4), (2, 5)]
    assert (outcome.items, outcome.empty_items, outcome.records) == (2, 0, 3)
    [error] = outcome.errors
    assert (error["item"], error["errorcode"]) == ({"courseid": 3}, code)
    assert error["message"].endswith(
        "It failed on page 2 after 1 page(s) had been read; none of this item's records are loaded."
    )


def test_a_no_data_code_on_an_items_first_call_is_an_empty_item_counted_by_code():
    outcome, sunk = run(spec_of(**FAN_OUT), [{"id": 2}, {"id": 3}], on(3, 0, envelope("usernotenroled")))
    assert loaded(sunk) == [(2, 3), (2, 4), (2, 5)]
    assert (outcome.empty_items, outcome.empty_codes, outcome.errors) == (1, {"usernotenroled": 1}, [])


@pytest.mark.parametrize("code", ["cannotviewreport", "nopermissions", "requireloginerror"])
def test_a_permission_error_is_a_failed_item_never_an_empty_one(code):
    outcome, sunk = run(spec_of(**FAN_OUT), [{"id": 2}, {"id": 3}], on(3, 0, envelope(code)))
    assert loaded(sunk) == [(2, 3), (2, 4), (2, 5)]
    assert outcome.empty_items == 0
    assert [(e["item"], e["errorcode"]) for e in outcome.errors] == [({"courseid": 3}, code)]


def test_a_required_capability_exception_is_never_empty_even_with_a_no_data_code():
    """The exception class decides as well as the code: a capability check is a permission error."""
    refused = envelope("nocriteriaset", "core\\exception\\required_capability_exception")
    outcome, _ = run(spec_of(**FAN_OUT), [{"id": 2}, {"id": 3}], on(3, 0, refused))
    assert outcome.empty_items == 0 and [e["item"] for e in outcome.errors] == [{"courseid": 3}]


@pytest.mark.parametrize("code", ["nocriteriaset", "nopermissions"])
def test_the_endpoints_only_call_refused_fails_the_endpoint(code):
    spec = spec_of(params={"courseid": 2})
    with pytest.raises(EndpointFailure) as caught:
        run(spec, None, lambda form: envelope(code))
    assert str(caught.value).startswith(
        "the endpoint's only call failed, so nothing was loaded and the previous table is kept. "
    )
    assert f"[{code}]" in str(caught.value)


def test_a_single_walk_refused_on_a_later_page_fails_the_endpoint():
    spec = spec_of(params={"courseid": 2}, paginate={"style": "limit_offset", "page_size": 2})
    with pytest.raises(EndpointFailure, match="the endpoint's only call failed on page 2 of its walk"):
        run(spec, None, on(2, 2, envelope("usernotenroled")))


def test_no_permission_code_means_no_data_by_default_and_a_spec_may_not_say_so():
    assert not set(DEFAULT_EMPTY_ON) & PERMISSION_ERRORCODES
    assert "cannotviewreport" not in DEFAULT_EMPTY_ON
    spec, problems = build_spec(
        {"name": "things", "function": ENROL, "empty_on": ["guestsarenotallowed", "cannotviewreport"]}, "mine.yaml", 0
    )
    assert spec is None
    assert problems == [
        (
            "mine.yaml: endpoint 'things', field 'empty_on': 'cannotviewreport' says the token's user may not read "
            "the item, not that there is no data: it is recorded as a failed item (moodle._errors, the failed_items "
            "check); grant the capability instead"
        )
    ]
    assert spec_of(empty_on=["guestsarenotallowed"]).empty_on == (*DEFAULT_EMPTY_ON, "guestsarenotallowed")
