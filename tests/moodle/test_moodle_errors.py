"""Every real Moodle failure maps to the typed error that says what to fix, and never leaks the token."""

from __future__ import annotations

import asyncio
import pickle
from typing import Any

import httpx
import pytest
from moodle_helpers import TOKEN, load_recording, make_client, recording_response

from moodle_assets.moodle import (
    FunctionNotFoundError,
    FunctionNotInServiceError,
    InvalidParameterError,
    InvalidTokenError,
    MoodleAPIError,
    MoodleError,
    NotMoodleResponseError,
    PermissionDeniedError,
    RecordNotFoundError,
    error_from_envelope,
    is_error_envelope,
    redact,
)
from moodle_assets.moodle.errors import PERMISSION_ERRORCODES, is_permission_error


def replay(recording: dict[str, Any], params: dict[str, Any] | None = None) -> MoodleError:
    """Send a call through the client against a recorded answer; return the error raised."""

    def handler(request: httpx.Request) -> httpx.Response:
        return recording_response(recording)

    async def main() -> MoodleError:
        client, sleeps = make_client(handler)
        async with client:
            with pytest.raises(MoodleError) as caught:
                await client.call(recording["function"], params)
        assert sleeps.delays == []  # an answer from Moodle is never retried
        assert client.stats.attempts == 1
        return caught.value

    return asyncio.run(main())


def assert_no_token(error: BaseException) -> None:
    """The token appears in no message, repr or attribute, down the exception chain."""
    seen: BaseException | None = error
    while seen is not None:
        assert TOKEN not in str(seen)
        assert TOKEN not in repr(seen)
        assert TOKEN not in repr(vars(seen))
        seen = seen.__cause__ or seen.__context__


@pytest.mark.parametrize(
    ("name", "params", "cls", "errorcode", "fatal"),
    [
        ("error__invalid_token", None, InvalidTokenError, "invalidtoken", True),
        ("error__missing_token", None, InvalidTokenError, "invalidtoken", True),
        (
            "error__function_not_in_service",
            {"quizid": 1, "userid": 3},
            FunctionNotInServiceError,
            "accessexception",
            True,
        ),
        ("error__function_does_not_exist", None, FunctionNotFoundError, "invalidrecord", True),
        ("error__invalid_param_courseid_abc", {"courseid": "abc"}, InvalidParameterError, "invalidparameter", True),
        ("error__missing_required_param", None, InvalidParameterError, "invalidparameter", True),
        ("error__nonexistent_course_get_contents", {"courseid": 99999}, RecordNotFoundError, "invalidrecord", False),
        (
            "core_completion_get_course_completion_status__course2_notenrolled",
            {"courseid": 2, "userid": 5},
            MoodleAPIError,
            "usernotenroled",
            False,
        ),
        (
            "mod_forum_get_forum_discussions__nonexistent",
            {"forumid": 99999},
            MoodleAPIError,
            "Unable to find forum with id 99999",
            False,
        ),
    ],
)
def test_recorded_errors_map_to_their_type(name: str, params: Any, cls: type, errorcode: str, fatal: bool) -> None:
    recording = load_recording(name)
    error = replay(recording, params)

    assert type(error) is cls
    assert error.fatal is fatal
    assert error.errorcode == errorcode
    assert error.exception == recording["body"]["exception"]
    assert error.moodle_message == recording["body"]["message"]
    assert error.function == recording["function"]
    assert error.params[0] == ("wstoken", "<redacted>")
    assert_no_token(error)


def test_invalid_token_message_says_check_moodle_token() -> None:
    error = replay(load_recording("error__invalid_token"))
    assert str(error) == (
        "core_webservice_get_site_info: the web-service token was refused. Moodle said: "
        "Invalid token - token not found [invalidtoken]. Check MOODLE_TOKEN: it must be an "
        "existing, unexpired token of an enabled external service on this very site (Site "
        "administration > Server > Web services > Manage tokens), its user must be active, and "
        "the site's IP restriction must allow this host."
    )


def test_function_not_in_service_names_the_function_and_where_to_add_it() -> None:
    error = replay(load_recording("error__function_not_in_service"), {"quizid": 1, "userid": 3})
    assert str(error) == (
        "mod_quiz_get_user_attempts: this token may not call the function. Moodle said: "
        "Access control exception [accessexception]. Add function mod_quiz_get_user_attempts to "
        "the external service of this token (Site administration > Server > Web services > "
        "External services > Functions); if the service is restricted to authorised users, "
        "authorise the token's user."
    )


def test_function_not_in_service_keeps_debuginfo() -> None:
    recording = load_recording("error__function_not_in_service__debugon")
    error = replay(recording, {"quizid": 1, "userid": 3})
    assert isinstance(error, FunctionNotInServiceError)
    assert error.debuginfo == recording["body"]["debuginfo"]
    assert "Access to the function mod_quiz_get_user_attempts() is not allowed." in str(error)


def test_function_not_found_mentions_the_version() -> None:
    error = replay(load_recording("error__function_does_not_exist"))
    assert str(error).startswith(
        "function core_nonexistent_function_xyz does not exist on this Moodle (version?). Moodle said: "
        "Can't find data record in database table external_functions. [invalidrecord]."
    )
    assert "core_webservice_get_site_info 'release'" in str(error)


def test_invalid_parameter_names_the_keys_sent_and_not_their_values() -> None:
    error = replay(
        load_recording("error__invalid_param_courseid_abc"),
        {"courseid": "abc", "options": [{"name": "limitfrom", "value": 0}]},
    )
    assert isinstance(error, InvalidParameterError)
    assert error.param_names == ["courseid", "options[0][name]", "options[0][value]"]
    assert str(error).startswith(
        "core_enrol_get_enrolled_users: Moodle rejected the parameters (courseid, options[0][name], "
        "options[0][value]). Moodle said: Invalid parameter value detected [invalidparameter]. "
        "Moodle gives the detail only with debugging on (Site administration > Development > Debugging)."
    )
    assert "abc" not in str(error)


def test_invalid_parameter_shows_debuginfo_when_the_site_gives_it() -> None:
    error = replay(load_recording("error__unexpected_extra_param__debugon"), {"foo": "bar"})
    assert isinstance(error, InvalidParameterError)
    assert error.debuginfo == "Unexpected keys (foo) detected in parameter array."
    assert (
        "Moodle rejected the parameters (foo). Moodle said: Invalid parameter value detected "
        "[invalidparameter]. Debug info: Unexpected keys (foo) detected in parameter array."
    ) in str(error)


def test_invalid_parameter_without_params_says_so() -> None:
    error = replay(load_recording("error__missing_required_param__debugon"))
    assert "Moodle rejected the parameters (no parameters)." in str(error)
    assert "Debug info: Missing required key in single structure: courseid." in str(error)


def test_record_not_found_names_the_item() -> None:
    error = replay(load_recording("error__nonexistent_course_get_contents"), {"courseid": 99999})
    assert str(error).startswith(
        "core_course_get_contents: nothing found for courseid=99999. Moodle said: "
        "Can't find data record in database table course. [invalidrecord]."
    )


@pytest.mark.parametrize(
    ("body", "cls"),
    [
        # The shapes Moodle 4.5 gives for a missing capability and for the guest user.
        (
            {
                "exception": "core\\exception\\required_capability_exception",
                "errorcode": "nopermissions",
                "message": "Sorry, but you do not currently have permissions to do that (View all grades).",
            },
            PermissionDeniedError,
        ),
        (
            {"exception": "moodle_exception", "errorcode": "cannotviewreport", "message": "Cannot view the report"},
            PermissionDeniedError,
        ),
        (
            {
                "exception": "require_login_exception",
                "errorcode": "requireloginerror",
                "message": "Course or activity not accessible.",
            },
            PermissionDeniedError,
        ),
    ],
)
def test_permission_errors_are_per_item(body: dict[str, str], cls: type) -> None:
    error = error_from_envelope(body, "gradereport_overview_get_course_grades", {"userid": 1})
    assert type(error) is cls
    assert error.fatal is False
    assert str(error).startswith(
        f"gradereport_overview_get_course_grades: permission denied for userid=1. Moodle said: {body['message']}"
    )
    assert "Give the token's user the capability" in str(error)


def test_cannotviewreport_names_the_capability_and_the_completion_setting() -> None:
    body = {"exception": "moodle_exception", "errorcode": "cannotviewreport", "message": "Cannot view the report"}
    error = error_from_envelope(body, "core_completion_get_course_completion_status", {"courseid": 2, "userid": 3})
    assert is_permission_error(error.errorcode, error.exception)
    assert "report/completion:view" in str(error) and "Completion tracking" in str(error)


def test_the_guest_account_is_not_a_permission_error() -> None:
    """core_user::require_active_user refuses calls *about* the guest: the guest has no data."""
    body = {
        "exception": "core\\exception\\moodle_exception",
        "errorcode": "guestsarenotallowed",
        "message": "The guest user is not allowed to do this",
    }
    error = error_from_envelope(body, "gradereport_overview_get_course_grades", {"userid": 1})
    assert type(error) is MoodleAPIError and error.fatal is False
    assert not is_permission_error(error.errorcode, error.exception)
    assert str(error).startswith(
        "gradereport_overview_get_course_grades: Moodle refuses calls about the guest account (userid=1)."
    )
    assert "list guestsarenotallowed in the endpoint's empty_on" in str(error)


@pytest.mark.parametrize("code", sorted(PERMISSION_ERRORCODES))
def test_every_permission_code_is_a_per_item_permission_error(code: str) -> None:
    error = error_from_envelope({"exception": "moodle_exception", "errorcode": code, "message": "no"}, "f", {"id": 1})
    assert type(error) is PermissionDeniedError and error.fatal is False
    assert is_permission_error(code)


def test_an_exception_without_errorcode_is_a_plain_per_item_error() -> None:
    body = {"exception": "Error", "message": 'Class "report_competency\\coding_exception" not found'}
    error = error_from_envelope(body, "report_competency_data_for_report", [("courseid", "2"), ("userid", "243")])
    assert type(error) is MoodleAPIError
    assert error.fatal is False
    assert error.errorcode is None
    assert str(error).startswith(
        "report_competency_data_for_report failed inside Moodle for courseid=2, userid=243. "
        'Moodle said: Class "report_competency\\coding_exception" not found [Error].'
    )


def test_site_wide_refusals_are_fatal() -> None:
    body = {
        "exception": "moodle_exception",
        "errorcode": "sitemaintenance",
        "message": "The site is undergoing maintenance",
    }
    error = error_from_envelope(body, "core_course_get_courses")
    assert type(error) is MoodleAPIError
    assert error.fatal is True
    assert "Wait for maintenance to end" in str(error)


def test_token_echoed_by_moodle_is_redacted_everywhere() -> None:
    body = {
        "exception": "moodle_exception",
        "errorcode": "invalidtoken",
        "message": f"Invalid token {TOKEN}",
        "debuginfo": f"token={TOKEN}",
    }
    error = error_from_envelope(
        body, "core_webservice_get_site_info", [("wstoken", TOKEN), ("note", f"x{TOKEN}x")], token=TOKEN
    )
    assert error.moodle_message == "Invalid token <redacted>"
    assert error.debuginfo == "token=<redacted>"
    assert error.params == [("wstoken", "<redacted>"), ("note", "x<redacted>x")]
    assert_no_token(error)


@pytest.mark.parametrize(
    ("name", "what"),
    [
        ("error__bad_format_value", "XML (Moodle ignored moodlewsrestformat=json"),
        ("error__format_omitted_xml_exception", "XML (Moodle ignored moodlewsrestformat=json"),
        ("error__format_omitted_xml_invalid_token", "XML (Moodle ignored moodlewsrestformat=json"),
    ],
)
def test_xml_answers_are_not_moodle_json(name: str, what: str) -> None:
    error = replay(load_recording(name))
    assert isinstance(error, NotMoodleResponseError)
    assert error.fatal is True
    assert error.status_code == 200
    assert error.content_type == "application/xml; charset=utf-8"
    assert what in str(error)
    assert "Site administration > Server > Web services > Manage protocols" in str(error)
    assert_no_token(error)


LOGIN_PAGE = (
    '<!DOCTYPE html>\n<html dir="ltr" lang="en"><head><title>Log in to the site | Acme</title></head>'
    f'<body><form action="/login/index.php?token={TOKEN}"><input name="username"></form></body></html>'
)


def test_html_login_page_is_not_moodle_json_and_is_redacted() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text=LOGIN_PAGE, headers={"Content-Type": "text/html; charset=utf-8"})

    async def main() -> MoodleError:
        client, _ = make_client(handler)
        async with client:
            with pytest.raises(NotMoodleResponseError) as caught:
                await client.call("core_webservice_get_site_info")
        assert client.stats.errors == {"NotMoodleResponseError": 1}
        return caught.value

    error = asyncio.run(main())
    assert str(error).startswith(
        "core_webservice_get_site_info: http://moodle.test/webservice/rest/server.php answered HTTP 200 "
        "with an HTML page (often the login page), not Moodle's web-service JSON (starts: '<!DOCTYPE html> "
    )
    assert str(error).endswith(
        "The URL is not the Moodle site root, or the REST protocol is disabled (Site administration > "
        "Server > Web services > Manage protocols). Set the URL to the site's front page address, "
        "without /login or /my."
    )
    assert error.__cause__ is None and error.__context__ is None
    assert_no_token(error)


@pytest.mark.parametrize(
    ("status", "content", "what"),
    [
        (200, '{"courses": [{"id": 2, "fullna', "invalid or truncated JSON"),
        (200, "", "an empty body"),
        (404, "<html><body>Not found</body></html>", "an HTML page"),
        (403, "", "an empty body"),
    ],
)
def test_broken_bodies_and_wrong_urls_are_not_moodle_json(status: int, content: str, what: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, text=content)

    async def main() -> MoodleError:
        client, sleeps = make_client(handler)
        async with client:
            with pytest.raises(NotMoodleResponseError) as caught:
                await client.call("core_course_get_courses")
        assert sleeps.delays == []
        return caught.value

    error = asyncio.run(main())
    assert f"answered HTTP {status} with {what}" in str(error)
    assert error.status_code == status


def test_redirect_is_reported_not_followed() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(301, headers={"Location": "https://moodle.test/webservice/rest/server.php"})

    async def main() -> MoodleError:
        client, _ = make_client(handler)
        async with client:
            with pytest.raises(NotMoodleResponseError) as caught:
                await client.call("core_webservice_get_site_info")
        return caught.value

    assert str(asyncio.run(main())) == (
        "core_webservice_get_site_info: http://moodle.test/webservice/rest/server.php redirects "
        "(HTTP 301) to https://moodle.test/webservice/rest/server.php. Set the Moodle URL to the "
        "site root the redirect points to (for example https:// instead of http://), so the token "
        "is posted to the right place."
    )


def test_is_error_envelope() -> None:
    assert is_error_envelope(load_recording("error__invalid_token")["body"])
    assert is_error_envelope({"exception": "Error", "message": "boom"})
    assert not is_error_envelope({"courses": [], "warnings": []})
    assert not is_error_envelope([{"exception": "x", "message": "y"}])
    assert not is_error_envelope(None)


def test_redact_masks_raw_and_url_encoded_tokens_and_ignores_an_empty_token() -> None:
    assert redact("a=tok/en+1&b=tok%2Fen%2B1&c=tok%2Fen%2B1", "tok/en+1") == "a=<redacted>&b=<redacted>&c=<redacted>"
    assert redact("nothing to hide", "") == "nothing to hide"


def test_errors_survive_pickling_with_their_attributes() -> None:
    error = error_from_envelope(
        load_recording("error__nonexistent_course_get_contents")["body"],
        "core_course_get_contents",
        {"courseid": 99999},
    )
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is RecordNotFoundError
    assert str(copy) == str(error)
    assert copy.errorcode == "invalidrecord"
    assert copy.params == [("courseid", "99999")]
    assert copy.fatal is False
