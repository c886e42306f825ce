"""MoodleClient: the request as sent, retries and backoff, bounded concurrency, stats, redaction."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import pytest
from moodle_helpers import SITE, TOKEN, form_of, load_recording, make_client, recording_response

from moodle_assets.moodle import (
    ClientSettings,
    InvalidTokenError,
    MoodleClient,
    MoodleUnavailableError,
    NotMoodleResponseError,
)

SITE_INFO = {"sitename": "Acme University LMS", "release": "4.5 (Build: 20241007)", "functions": []}


def scripted(*answers: httpx.Response | Exception) -> tuple[Any, list[httpx.Request]]:
    """A handler that gives the answers in order (raising the exceptions), recording requests."""
    queue = list(answers)
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return handler, requests


def run_call(handler: Any, function: str = "core_webservice_get_site_info", params: Any = None, **settings: Any):
    async def main() -> tuple[Any, MoodleClient, list[float]]:
        client, sleeps = make_client(handler, **settings)
        async with client:
            try:
                result: Any = await client.call(function, params)
            except Exception as error:  # returned so tests can assert on it and on stats
                result = error
        return result, client, sleeps.delays

    return asyncio.run(main())


def test_settings_endpoint_accepts_root_trailing_slash_and_full_path() -> None:
    assert (
        ClientSettings("https://moodle.example.edu", "t").endpoint
        == "https://moodle.example.edu/webservice/rest/server.php"
    )
    assert ClientSettings("http://127.0.0.1:8081/", "t").endpoint == "http://127.0.0.1:8081/webservice/rest/server.php"
    assert ClientSettings("https://x.edu/moodle/webservice/rest/server.php", "t").endpoint == (
        "https://x.edu/moodle/webservice/rest/server.php"
    )


def test_settings_never_show_the_token() -> None:
    settings = ClientSettings(SITE, TOKEN)
    assert TOKEN not in repr(settings)
    assert TOKEN not in str(settings)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"url": "moodle.example.edu"}, "the Moodle URL 'moodle.example.edu' must start with http:// or https://"),
        ({"max_concurrency": 0}, "max_concurrency must be at least 1, not 0"),
        ({"max_retries": -1}, "max_retries must be 0 or more, not -1"),
        ({"timeout": 0}, "timeouts must be positive seconds (timeout=0, connect_timeout=10.0)"),
    ],
)
def test_settings_refuse_bad_values(kwargs: dict[str, Any], message: str) -> None:
    options = {"url": SITE, "token": TOKEN, **kwargs}
    with pytest.raises(ValueError) as caught:
        ClientSettings(**options)
    assert str(caught.value).startswith(message)


def test_success_returns_parsed_json_and_counts_one_call() -> None:
    handler, requests = scripted(httpx.Response(200, json=SITE_INFO))
    result, client, delays = run_call(handler)
    assert result == SITE_INFO
    assert form_of(requests[0]) == [
        ("wstoken", TOKEN),
        ("wsfunction", "core_webservice_get_site_info"),
        ("moodlewsrestformat", "json"),
    ]
    assert TOKEN not in str(requests[0].url)
    assert client.stats.calls == {"core_webservice_get_site_info": 1}
    assert (client.stats.attempts, client.stats.retries, client.stats.errors) == (1, 0, {})
    assert client.stats.total_calls() == 1
    assert delays == []


def test_503_503_200_succeeds_with_two_retries() -> None:
    handler, requests = scripted(httpx.Response(503), httpx.Response(503), httpx.Response(200, json=[{"id": 2}]))
    result, client, delays = run_call(handler, "core_course_get_courses", {"options": {"ids": [2]}})
    assert result == [{"id": 2}]
    assert len(requests) == 3
    assert all(form_of(r) == form_of(requests[0]) for r in requests)
    assert (client.stats.attempts, client.stats.retries) == (3, 2)
    assert client.stats.calls == {"core_course_get_courses": 1}
    assert client.stats.errors == {}
    # Jittered doubling: attempt n waits between half and all of base * 2**(n-1).
    assert 0.005 <= delays[0] <= 0.01
    assert 0.01 <= delays[1] <= 0.02


def test_retry_after_is_honoured_for_429_and_503() -> None:
    handler, _ = scripted(
        httpx.Response(429, headers={"Retry-After": "2"}),
        httpx.Response(503, headers={"Retry-After": "0.5"}),
        httpx.Response(200, json=SITE_INFO),
    )
    result, client, delays = run_call(handler, backoff_max=5)
    assert result == SITE_INFO
    assert delays == [2.0, 0.5]
    assert client.stats.retries == 2


def test_retry_after_is_capped_by_backoff_max() -> None:
    handler, _ = scripted(httpx.Response(429, headers={"Retry-After": "3600"}), httpx.Response(200, json=SITE_INFO))
    _, _, delays = run_call(handler, backoff_max=1.5)
    assert delays == [1.5]


def test_retry_after_as_http_date_in_the_past_means_now() -> None:
    handler, _ = scripted(
        httpx.Response(503, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}),
        httpx.Response(200, json=SITE_INFO),
    )
    _, _, delays = run_call(handler)
    assert delays == [0.0]


def test_error_envelope_is_never_retried() -> None:
    recording = load_recording("error__invalid_token")
    handler, requests = scripted(recording_response(recording), httpx.Response(200, json=SITE_INFO))
    error, client, delays = run_call(handler)
    assert isinstance(error, InvalidTokenError)
    assert len(requests) == 1
    assert delays == []
    assert (client.stats.attempts, client.stats.retries) == (1, 0)
    assert client.stats.errors == {"invalidtoken": 1}


def test_empty_token_is_named_in_the_invalid_token_message() -> None:
    recording = load_recording("error__missing_token")

    async def main() -> BaseException:
        client = MoodleClient(
            ClientSettings(SITE, ""), transport=httpx.MockTransport(lambda r: recording_response(recording))
        )
        async with client:
            with pytest.raises(InvalidTokenError) as caught:
                await client.call("core_webservice_get_site_info")
        return caught.value

    assert str(asyncio.run(main())).endswith("(MOODLE_TOKEN is empty.)")


def test_read_timeouts_are_retried_then_reported_as_unavailable() -> None:
    timeouts = [httpx.ReadTimeout("timed out") for _ in range(3)]
    handler, requests = scripted(*timeouts)
    error, client, delays = run_call(handler, "core_course_get_contents", {"courseid": 2}, max_retries=2, timeout=7)
    assert isinstance(error, MoodleUnavailableError)
    assert error.fatal is True
    assert len(requests) == 3
    assert len(delays) == 2
    assert (error.attempts, error.cause) == (3, "ReadTimeout: timed out")
    assert str(error) == (
        "core_course_get_contents: Moodle at http://moodle.test/webservice/rest/server.php did not "
        "answer successfully after 3 attempts (last: ReadTimeout: timed out). Check that the site is "
        "up and reachable from here; if it is slow or overloaded, raise the timeout (now 7s) or "
        "lower max_concurrency (now 4)."
    )
    assert error.__context__ is None and error.__cause__ is None
    assert (client.stats.attempts, client.stats.retries) == (3, 2)
    assert client.stats.errors == {"MoodleUnavailableError": 1}


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectError("[Errno 111] Connection refused"),
        httpx.ConnectTimeout("timed out"),
        httpx.PoolTimeout("timed out"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ReadError("[Errno 104] Connection reset by peer"),
    ],
)
def test_transport_failures_are_retried(failure: Exception) -> None:
    handler, requests = scripted(failure, httpx.Response(200, json=SITE_INFO))
    result, client, _ = run_call(handler)
    assert result == SITE_INFO
    assert len(requests) == 2
    assert client.stats.retries == 1


@pytest.mark.parametrize("status", [408, 500, 502, 504])
def test_retryable_statuses_exhaust_into_unavailable(status: int) -> None:
    handler, requests = scripted(*[httpx.Response(status) for _ in range(2)])
    error, _, _ = run_call(handler, max_retries=1)
    assert isinstance(error, MoodleUnavailableError)
    assert len(requests) == 2
    assert error.cause == f"HTTP {status} {httpx.codes.get_reason_phrase(status)}"
    assert "after 2 attempts" in str(error)


def test_no_retries_means_one_attempt() -> None:
    handler, requests = scripted(httpx.Response(503))
    error, _, delays = run_call(handler, max_retries=0)
    assert isinstance(error, MoodleUnavailableError)
    assert "after 1 attempt (last: HTTP 503 Service Unavailable)" in str(error)
    assert (len(requests), delays) == (1, [])


def test_unsendable_request_is_not_retried_and_has_no_context() -> None:
    handler, requests = scripted(httpx.UnsupportedProtocol("Request URL has an unsupported protocol"))
    error, _, delays = run_call(handler)
    assert isinstance(error, NotMoodleResponseError)
    assert (len(requests), delays) == (1, [])
    assert "could not be sent (UnsupportedProtocol: Request URL has an unsupported protocol)" in str(error)
    assert error.__context__ is None


def test_concurrency_never_exceeds_max_concurrency() -> None:
    in_flight = 0
    peak = 0
    gate = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        if in_flight == 3:
            gate.set()
        # Hold every request until the limit has been reached once (bounded, so a client
        # that lets fewer through fails instead of hanging).
        await asyncio.wait_for(gate.wait(), timeout=5)
        await asyncio.sleep(0)
        in_flight -= 1
        courseid = dict(form_of(request))["courseid"]
        return httpx.Response(200, json=[{"courseid": int(courseid)}])

    async def main() -> tuple[list[Any], MoodleClient]:
        client, _ = make_client(handler, max_concurrency=3)
        async with client:
            results = await asyncio.gather(
                *(client.call("core_group_get_course_groups", {"courseid": n}) for n in range(20))
            )
        return results, client

    results, client = asyncio.run(main())
    assert peak == 3
    assert results == [[{"courseid": n}] for n in range(20)]
    assert client.stats.calls == {"core_group_get_course_groups": 20}
    assert client.stats.attempts == 20


def test_on_request_sees_the_redacted_form_once_per_logical_call() -> None:
    handler, _ = scripted(httpx.Response(502), httpx.Response(200, json=[]))
    seen: list[tuple[str, list[tuple[str, str]]]] = []

    async def main() -> None:
        client, _ = make_client(handler)
        client.on_request = lambda function, fields: seen.append((function, fields))
        async with client:
            await client.call(
                "core_enrol_get_enrolled_users", {"courseid": 2, "options": [{"name": "onlyactive", "value": 1}]}
            )

    asyncio.run(main())
    assert seen == [
        (
            "core_enrol_get_enrolled_users",
            [
                ("wstoken", "<redacted>"),
                ("wsfunction", "core_enrol_get_enrolled_users"),
                ("moodlewsrestformat", "json"),
                ("courseid", "2"),
                ("options[0][name]", "onlyactive"),
                ("options[0][value]", "1"),
            ],
        )
    ]


def test_logs_name_the_function_and_params_but_never_the_token(caplog: pytest.LogCaptureFixture) -> None:
    handler, _ = scripted(httpx.Response(503), recording_response(load_recording("error__invalid_token")))
    with caplog.at_level(logging.DEBUG, logger="moodle_assets.moodle"):
        run_call(handler, "core_user_get_users", {"criteria": [{"key": "email", "value": "%"}]})
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "call core_user_get_users criteria[0][key]=email&criteria[0][value]=%" in text
    assert "retrying core_user_get_users in " in text
    assert "after HTTP 503 Service Unavailable (attempt 1 of 5)" in text
    assert "core_user_get_users failed: core_user_get_users: the web-service token was refused." in text
    assert TOKEN not in text


def test_stats_as_dict_is_plain_metadata() -> None:
    handler, _ = scripted(httpx.Response(500), httpx.Response(200, json=SITE_INFO))
    _, client, _ = run_call(handler)
    stats = client.stats.as_dict()
    assert {key: stats[key] for key in ("calls", "total_calls", "attempts", "retries", "errors")} == {
        "calls": {"core_webservice_get_site_info": 1},
        "total_calls": 1,
        "attempts": 2,
        "retries": 1,
        "errors": {},
    }
    assert isinstance(stats["seconds"], float) and stats["seconds"] >= 0


def test_silent_timeouts_are_described_with_the_limit() -> None:
    handler, _ = scripted(httpx.ReadTimeout(""), httpx.ConnectTimeout(""))
    error, _, _ = run_call(handler, max_retries=1, timeout=12, connect_timeout=3)
    assert isinstance(error, MoodleUnavailableError)
    assert error.cause == "ConnectTimeout (over 3s)"
