"""Faults of the whole endpoint fail the run, say what to fix, and leave the previous table."""

from __future__ import annotations

from moodle_assets.demo.faults import Fault, FaultPlan
from tests.reliability.reliability_helpers import errors, failure_messages, harvest, table

ENROL = "core_enrol_get_enrolled_users"


def _run_failing(site, db, baseline, fault: Fault, **moodle) -> tuple[str, FaultPlan]:
    """Run enrolled_users under ``fault``; assert it failed and left the table as it was."""
    before = table(db, "enrolled_users", loaded_at=True)
    site.faults = plan = FaultPlan([fault])
    result = harvest(site, db, ["enrolled_users"], **moodle)
    assert not result.success
    assert result.get_asset_materialization_events() == []
    assert table(db, "enrolled_users", loaded_at=True) == before
    assert table(db, "enrolled_users") == baseline[1]["enrolled_users"]
    assert errors(db, "enrolled_users") == []
    [message] = failure_messages(result)
    return message.replace(site.url, "SITE"), plan


def test_html_page_with_http_200_fails_naming_the_url_as_the_fix(site, db, baseline):
    message, _ = _run_failing(site, db, baseline, Fault("html", function=ENROL, calls="3"))
    assert message == (
        "enrolled_users: core_enrol_get_enrolled_users: SITE/webservice/rest/server.php answered HTTP 200 "
        "with an HTML page (often the login page), not Moodle's web-service JSON (starts: '<!DOCTYPE html> "
        "<html><head><title>Acme University LMS: Log in to the site</title></head><body><h1>Acme "
        "University LMS: '). The URL is not the Moodle site root, or the REST protocol is disabled (Site "
        "administration > Server > Web services > Manage protocols). Set the URL to the site's front page "
        "address, without /login or /my."
    )


def test_invalid_json_fails_pointing_at_php_not_at_the_url(site, db, baseline):
    message, _ = _run_failing(site, db, baseline, Fault("invalid_json", function=ENROL))
    assert message.startswith(
        "enrolled_users: core_enrol_get_enrolled_users: SITE/webservice/rest/server.php answered HTTP 200 "
        "with invalid or truncated JSON, not Moodle's web-service JSON (starts: '<br /> <b>Notice</b>: "
        "Undefined index: id in <b>/var/www/moodle/lib.php</b><br /> ["
    )
    assert message.endswith(
        "Moodle itself broke the answer: a PHP notice printed before the JSON (turn Site administration > "
        "Development > Debugging > Display debug messages off), or PHP stopping mid-answer (memory_limit or "
        "max_execution_time; see the web server's PHP error log). Lower page_size or batch so answers are "
        "smaller, then run again."
    )


def test_truncated_json_fails_the_run(site, db, baseline):
    message, _ = _run_failing(site, db, baseline, Fault("truncated", function=ENROL, calls="2"))
    assert "answered HTTP 200 with invalid or truncated JSON" in message
    assert "Lower page_size or batch" in message


def test_site_down_longer_than_the_retries_fails_naming_cause_and_fix(site, db, baseline):
    message, plan = _run_failing(
        site, db, baseline, Fault("down", function=ENROL, calls="1", seconds=30), max_retries=2
    )
    assert plan.injected["down"] >= 3
    assert message.startswith(
        "enrolled_users: core_enrol_get_enrolled_users: Moodle at SITE/webservice/rest/server.php did not "
        "answer successfully after 3 attempts (last: ReadError"
    )
    assert message.endswith(
        "). Check that the site is up and reachable from here; if it is slow or overloaded, raise the "
        "timeout (now 5s) or lower max_concurrency (now 4)."
    )


def test_a_burst_longer_than_the_retries_fails_and_keeps_the_table(site, db, baseline):
    message, _ = _run_failing(site, db, baseline, Fault("status", function=ENROL, status=502), max_retries=1)
    assert "did not answer successfully after 2 attempts (last: HTTP 502 Bad Gateway)" in message


def test_a_server_ignoring_paging_is_an_error_after_two_pages_not_an_endless_loop(site, db, baseline):
    message, plan = _run_failing(site, db, baseline, Fault("repeat_page", function=ENROL), max_concurrency=1)
    assert plan.injected["repeat_page"] == 2  # the first course's two pages, then the run stops
    assert message.startswith(
        "enrolled_users: core_enrol_get_enrolled_users: the page at limitfrom=100 repeats the previous page's "
    )
    assert message.endswith(
        "records, so the server ignores the paging parameters (limitfrom/limitnumber) and paging would "
        "never end. Check the parameter names this function accepts on this Moodle version, or turn "
        "paging off for this endpoint."
    )
