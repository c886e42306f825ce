"""Moodle 5.0 answers a missing function and a missing id alike (invalidrecordunknown, no table
named while debugging is off); the client tells them apart by the site's function list."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from moodle_helpers import form_of, make_client, recording_response

from moodle_assets.moodle import (
    FunctionNotFoundError,
    FunctionNotInServiceError,
    InvalidParameterError,
    MoodleAPIError,
    RecordNotFoundError,
    error_from_envelope,
)

RECORDINGS_50 = Path(__file__).resolve().parents[1] / "fixtures" / "demo" / "recordings-5.0"


def load(name: str) -> dict[str, Any]:
    return json.loads((RECORDINGS_50 / f"{name}.json").read_text(encoding="utf-8"))


SITE_INFO = load("core_webservice_get_site_info")
FUNCTIONS = frozenset(f["name"] for f in SITE_INFO["body"]["functions"])
UNKNOWN_FUNCTION = load("error__function_does_not_exist")  # core_nonexistent_function_xyz
UNKNOWN_COURSE = load("error__nonexistent_course_get_contents")  # core_course_get_contents, courseid 99999


def classify(recording: dict[str, Any], functions: frozenset[str] | None) -> MoodleAPIError:
    fields = [(k, v) for k, v in recording["params"].items()]
    return error_from_envelope(recording["body"], recording["function"], fields, site_functions=functions)


def test_the_two_recorded_answers_look_alike() -> None:
    """The reason for all of this: same code, same message, nothing else to go by."""
    a, b = UNKNOWN_FUNCTION["body"], UNKNOWN_COURSE["body"]
    assert (
        a
        == b
        == {
            "exception": "dml_missing_record_exception",
            "errorcode": "invalidrecordunknown",
            "message": "Can't find data record in database.",
        }
    )


def test_an_unknown_function_is_not_on_this_site_for_the_whole_endpoint() -> None:
    error = classify(UNKNOWN_FUNCTION, FUNCTIONS)
    assert isinstance(error, FunctionNotFoundError) and error.fatal
    assert error.errorcode == "invalidrecordunknown"
    assert error.message.startswith("function core_nonexistent_function_xyz does not exist on this Moodle")
    assert (
        f"Site info lists {len(FUNCTIONS)} functions for this token and core_nonexistent_function_xyz is not "
        "one of them (Moodle 5.0+ with debugging off answers a missing function with invalidrecordunknown)"
        in error.message
    )
    assert "Check the spelling, and the site's version" in error.message


def test_an_unknown_id_of_a_listed_function_is_one_item_with_nothing_found() -> None:
    error = classify(UNKNOWN_COURSE, FUNCTIONS)
    assert isinstance(error, RecordNotFoundError) and not error.fatal
    assert error.message == (
        "core_course_get_contents: nothing found for courseid=99999. Moodle said: Can't find data record in "
        "database. [invalidrecordunknown]. The id probably does not exist on the site any more (deleted or never "
        "created); refresh the asset the ids came from, or leave this item out."
    )


def test_without_the_function_list_the_answer_says_it_is_ambiguous() -> None:
    for recording in (UNKNOWN_FUNCTION, UNKNOWN_COURSE):
        error = classify(recording, None)
        assert isinstance(error, RecordNotFoundError) and not error.fatal
        assert "Moodle 5.0+ without debugging answers the same for a function the site does not have" in error.message


def test_with_debugging_on_the_table_names_the_missing_function_as_on_45() -> None:
    debug = load("error__function_does_not_exist__debugon")
    for functions in (None, FUNCTIONS):
        error = classify(debug, functions)
        assert isinstance(error, FunctionNotFoundError) and error.fatal
        assert "Debug info: SELECT * FROM {external_functions}" in error.message


def test_a_function_not_listed_is_not_on_this_site_whatever_the_error_says() -> None:
    body = {
        "exception": "core\\exception\\invalid_parameter_exception",
        "errorcode": "invalidparameter",
        "message": "Invalid parameter value detected",
    }
    error = error_from_envelope(body, "local_plugin_gone", [("x", "1")], site_functions=FUNCTIONS)
    assert isinstance(error, FunctionNotFoundError)
    # ... but a listed one keeps its own meaning, and so do the refusals that say more.
    assert isinstance(
        error_from_envelope(body, "core_course_get_contents", [], site_functions=FUNCTIONS), InvalidParameterError
    )
    refused = load("error__function_not_in_service__mod_quiz_get_user_quiz_attempts")
    assert isinstance(classify(refused, frozenset()), FunctionNotInServiceError)
    maintenance = {"exception": "moodle_exception", "errorcode": "sitemaintenance", "message": "Site maintenance"}
    error = error_from_envelope(maintenance, "local_plugin_gone", [], site_functions=FUNCTIONS)
    assert not isinstance(error, FunctionNotFoundError) and error.fatal
    # Site info itself is never "missing".
    assert isinstance(
        classify({**UNKNOWN_COURSE, "function": "core_webservice_get_site_info"}, frozenset()), RecordNotFoundError
    )


# --------------------------------------------------------------------------- through the client


class Site50:
    """A fake 5.0 site: site info as recorded; core_course_get_contents knows no course;
    any function not in site info answers as the recorded unknown function."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        function = dict(form_of(request))["wsfunction"]
        self.calls.append(function)
        await asyncio.sleep(0.01)  # let concurrent calls overlap
        if function == "core_webservice_get_site_info":
            return recording_response(SITE_INFO)
        return recording_response(UNKNOWN_COURSE if function in FUNCTIONS else UNKNOWN_FUNCTION)


def run_calls(site: Site50, calls: list[tuple[str, dict]], functions: frozenset[str] | None = None) -> list[Any]:
    async def main() -> list[Any]:
        client, _ = make_client(site, max_concurrency=4)
        client.site_functions = functions
        async with client:
            return await asyncio.gather(*(client.call(f, p) for f, p in calls), return_exceptions=True)

    return asyncio.run(main())


def test_the_client_asks_site_info_once_to_tell_them_apart() -> None:
    site = Site50()
    errors = run_calls(
        site,
        [("core_course_get_contents", {"courseid": n}) for n in range(6)]
        + [("local_gone_get_things", {"courseid": 1})] * 2,
    )
    assert [type(e) for e in errors] == [RecordNotFoundError] * 6 + [FunctionNotFoundError] * 2
    assert site.calls.count("core_webservice_get_site_info") == 1
    assert "courseid=5" in str(errors[5]) and "is not one of them" in str(errors[7])


def test_a_stored_function_list_costs_no_call() -> None:
    site = Site50()
    errors = run_calls(
        site, [("core_course_get_contents", {"courseid": 7}), ("local_gone_get_things", {})], functions=FUNCTIONS
    )
    assert [type(e) for e in errors] == [RecordNotFoundError, FunctionNotFoundError]
    assert "core_webservice_get_site_info" not in site.calls


def test_when_site_info_fails_too_the_error_stays_ambiguous() -> None:
    def refuse_all(request: httpx.Request) -> httpx.Response:
        return recording_response(UNKNOWN_COURSE)

    async def main() -> Any:
        client, _ = make_client(refuse_all)
        async with client:
            with pytest.raises(RecordNotFoundError) as caught:
                await client.call("core_course_get_contents", {"courseid": 3})
            return caught.value, client.site_functions

    error, functions = asyncio.run(main())
    assert functions is None and "answers the same for a function the site does not have" in str(error)


def test_site_info_is_asked_once_even_when_it_fails() -> None:
    site = Site50()

    async def refuse_site_info(request: httpx.Request) -> httpx.Response:
        if dict(form_of(request))["wsfunction"] == "core_webservice_get_site_info":
            site.calls.append("core_webservice_get_site_info")
            return recording_response(load("error__function_not_in_service__mod_quiz_get_user_quiz_attempts"))
        return await site(request)

    async def main() -> list[Any]:
        client, _ = make_client(refuse_site_info)
        async with client:
            return await asyncio.gather(
                *(client.call("core_course_get_contents", {"courseid": n}) for n in range(4)), return_exceptions=True
            )

    errors = asyncio.run(main())
    assert all(isinstance(e, RecordNotFoundError) and "answers the same" in str(e) for e in errors)
    assert site.calls.count("core_webservice_get_site_info") == 1
