"""Bad input fails with one clear error that says what to fix, and writes nothing.

A wrong site address, a refused token, run config Moodle would misread, a broken endpoint
file and a Moodle version without the function an asset needs: each stops the run before
any table is touched, and the DuckDB file is either byte-for-byte unchanged or never created.
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from dagster import DagsterInvalidConfigError, EnvVar

from moodle_assets.assets.resources import MoodleResource, WarehouseResource
from moodle_assets.demo.dataset import DemoConfig, generate
from moodle_assets.demo.server import DEMO_TOKEN, RESTRICTED_TOKEN, DemoServer
from moodle_assets.endpoints import SpecError, load_specs
from tests.assets.helpers import endpoint_assets, resources, rows, run
from tests.conftest import DEMO_NOW
from tests.reliability.reliability_helpers import failure_messages, harvest

OLD_QUIZ = "mod_quiz_get_user_attempts"
NEW_QUIZ = "mod_quiz_get_user_quiz_attempts"


def _digest(path: str) -> str | None:
    if not os.path.exists(path):
        return None
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def _fails_alone(result, url: str) -> str:
    """The run failed with exactly one step failure, materialised nothing; its message."""
    assert not result.success
    assert result.get_asset_materialization_events() == []
    [message] = failure_messages(result)
    return message.replace(url, "SITE") if url else message


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _RedirectToHttps(BaseHTTPRequestHandler):
    """What a web server set to force https answers to a plain-http POST."""

    def do_POST(self) -> None:
        host, port = self.server.server_address[:2]
        self.send_response(301)
        self.send_header("Location", f"https://{host}:{port}{self.path}")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args) -> None:
        pass


@pytest.fixture()
def fresh(tmp_path) -> str:
    """A warehouse path with no file yet: a failed first run must not create it."""
    return str(tmp_path / "fresh" / "warehouse.duckdb")


def _site_info(url: str, token: str, db: str, **moodle):
    return run(endpoint_assets(["site_info"]), resources(url, token, db, max_retries=1, **moodle))


# -- the site address ---------------------------------------------------------------------------


def test_an_unreachable_port_names_the_address_and_says_to_check_the_site(fresh):
    url = f"http://127.0.0.1:{_free_port()}"
    message = _fails_alone(_site_info(url, DEMO_TOKEN, fresh), url)
    assert message == (
        "site_info: core_webservice_get_site_info: Moodle at SITE/webservice/rest/server.php did not answer "
        "successfully after 2 attempts (last: ConnectError: All connection attempts failed). Check that the "
        "site is up and reachable from here; if it is slow or overloaded, raise the timeout (now 60s) or lower "
        "max_concurrency (now 4)."
    )
    assert _digest(fresh) is None


def test_a_path_that_is_not_the_moodle_root_says_to_use_the_front_page_address(site, fresh):
    message = _fails_alone(_site_info(site.url + "/my", DEMO_TOKEN, fresh), site.url)
    assert message.startswith(
        "site_info: core_webservice_get_site_info: SITE/my/webservice/rest/server.php answered HTTP 404 with an "
        "HTML page (often the login page), not Moodle's web-service JSON"
    )
    assert message.endswith(
        "The URL is not the Moodle site root, or the REST protocol is disabled (Site administration > Server > "
        "Web services > Manage protocols). Set the URL to the site's front page address, without /login or /my."
    )
    assert site.calls == [] and _digest(fresh) is None


def test_an_http_url_redirecting_to_https_is_not_followed_and_names_the_https_address(fresh):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RedirectToHttps)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        message = _fails_alone(_site_info(url, DEMO_TOKEN, fresh), url)
    finally:
        server.shutdown()
        server.server_close()
    https = url.replace("http://", "https://")
    assert message == (
        f"site_info: core_webservice_get_site_info: SITE/webservice/rest/server.php redirects (HTTP 301) to "
        f"{https}/webservice/rest/server.php. Set the Moodle URL to the site root the redirect points to (for "
        "example https:// instead of http://), so the token is posted to the right place."
    )
    assert _digest(fresh) is None


def test_an_unset_moodle_url_stops_the_run_before_it_starts(fresh, monkeypatch):
    monkeypatch.delenv("MOODLE_URL", raising=False)
    res = {
        "moodle": MoodleResource(url=EnvVar("MOODLE_URL"), token=DEMO_TOKEN),
        "warehouse": WarehouseResource(path=fresh),
    }
    with pytest.raises(DagsterInvalidConfigError) as info:
        run(endpoint_assets(["site_info"]), res)
    assert 'the environment variable "MOODLE_URL" which is not set' in str(info.value)
    assert _digest(fresh) is None


def test_an_empty_moodle_url_is_one_message_naming_the_setting(site, fresh):
    message = _fails_alone(_site_info("", DEMO_TOKEN, fresh), "")
    assert message == (
        "site_info: the Moodle URL '' must start with http:// or https://: set it to the site root, "
        "e.g. https://moodle.example.edu"
    )
    assert _digest(fresh) is None


# -- the token ----------------------------------------------------------------------------------

TOKEN_ADVICE = (
    "the web-service token was refused. Moodle said: Invalid token - token not found [invalidtoken]. Check "
    "MOODLE_TOKEN: it must be an existing, unexpired token of an enabled external service on this very site "
    "(Site administration > Server > Web services > Manage tokens), its user must be active, and the site's "
    "IP restriction must allow this host."
)


@pytest.mark.parametrize(
    "token, suffix", [("not-a-token-0123456789", ""), ("", " (MOODLE_TOKEN is empty.)")], ids=["invalid", "empty"]
)
def test_an_invalid_token_says_to_check_moodle_token(site, fresh, token, suffix):
    message = _fails_alone(_site_info(site.url, token, fresh), site.url)
    assert message == f"site_info: core_webservice_get_site_info: {TOKEN_ADVICE}{suffix}"
    assert [c.token_kind for c in site.calls] == ["invalid" if token else "none"]  # one call, not retried
    assert _digest(fresh) is None


def test_a_token_whose_service_lacks_the_function_names_it_and_where_to_add_it(site, db):
    before = _digest(db)
    result = run(endpoint_assets(["groups"]), resources(site.url, RESTRICTED_TOKEN, db, max_retries=1))
    message = _fails_alone(result, site.url)
    assert message == (
        "groups: core_group_get_course_groups: this token may not call the function. Moodle said: Access "
        "control exception [accessexception]. Add function core_group_get_course_groups to the external "
        "service of this token (Site administration > Server > Web services > External services > "
        "Functions); if the service is restricted to authorised users, authorise the token's user."
    )
    assert _digest(db) == before


# -- run config ---------------------------------------------------------------------------------

BAD_CONFIG = {
    "negative page_size": (
        "enrolled_users",
        {"page_size": -5},
        "enrolled_users: setting 'page_size' = -5 must be at least 1",
    ),
    "zero batch": ("courses", {"page_size": 0}, "courses: setting 'page_size' = 0 must be at least 1"),
    "unknown submission status": (
        "assignment_submissions",
        {"status": "graded"},
        "assignment_submissions: setting 'status' = 'graded' is not allowed; choose one of 'all', 'new', "
        "'draft', 'submitted', 'reopened'",
    ),
    "unknown attempt state": (
        "quiz_attempts",
        {"status": "abandoned"},
        "quiz_attempts: setting 'status' = 'abandoned' is not allowed; choose one of 'all', 'finished', 'unfinished'",
    ),
    # Moodle drops a criteria key it does not support and returns every user.
    "users search_field Moodle ignores": (
        "users",
        {"search_field": "city"},
        "users: setting 'search_field' = 'city' is not allowed; choose one of 'id', 'lastname', 'firstname', "
        "'idnumber', 'username', 'email', 'auth'",
    ),
}


@pytest.mark.parametrize("name, config, expected", BAD_CONFIG.values(), ids=BAD_CONFIG.keys())
def test_bad_run_config_is_refused_before_any_call(site, db, fresh, name, config, expected):
    for path in (db, fresh):
        before = _digest(path)
        result = harvest(site, path, [name], {name: config})
        assert _fails_alone(result, site.url) == expected
        assert _digest(path) == before
    assert site.calls == []


# -- a user's endpoint file ---------------------------------------------------------------------

BROKEN_SPEC = """\
- name: my courses
  function: core_course_get_courses
- name: submissions
  function: mod_assign_get_submissions
  params: {assignmentids: "{assignments.id[]}", status: ""}
  pagination: {style: page}
- name: graded_submissions
  function: mod_assign_get_submissions
  params: {assignmentids: "{assignments.id[]}", status: ""}
  settings:
    status: {type: str, default: late, sets: params.status, choices: {all: "", submitted: submitted}}
- name: recent_events
  function: core_calendar_get_calendar_events
  params: {options: {timestart: "{yesterday}"}}
- name: event_list
  function: core_calendar_get_calendar_events
  data_path: "$.events[*"
- name: my_contents
  function: core_course_get_contents
  params: {courseid: "{course.id}"}
"""

BROKEN_SPEC_PROBLEMS = [
    "field 'name' (entry #1): 'my courses' is not a valid name: use lower-case letters, digits and underscores",
    "endpoint 'submissions', field 'pagination': unknown field; known fields are alternatives, batch,",
    "endpoint 'graded_submissions', field 'settings.status': default 'late' is not one of the choices all, submitted",
    "endpoint 'recent_events', field 'params.options.timestart': unknown macro {yesterday}",
    "endpoint 'event_list', field 'data_path': invalid JSONPath '$.events[*'",
    "endpoint 'my_contents', field 'params': lookup on unknown asset 'course'; known assets: activity_completion,",
]


def test_a_malformed_user_spec_lists_every_problem_with_file_endpoint_and_field(tmp_path):
    path = tmp_path / "moodle_endpoints.yaml"
    path.write_text(BROKEN_SPEC)
    with pytest.raises(SpecError) as info:
        load_specs(path)
    problems = info.value.problems
    assert len(problems) == len(BROKEN_SPEC_PROBLEMS), problems
    for problem, fragment in zip(problems, BROKEN_SPEC_PROBLEMS, strict=False):
        assert problem.startswith(f"{path}"), problem
        assert fragment in problem, (fragment, problem)
    assert str(info.value).startswith("Invalid endpoint spec:\n  - ")


def test_every_problem_of_one_endpoint_is_listed_together(tmp_path):
    path = tmp_path / "moodle_endpoints.yaml"
    path.write_text(
        "- name: recent_events\n"
        "  function: core_calendar_get_calendar_events\n"
        '  params: {options: {timestart: "{yesterday}"}, events: {courseids: "{course.id[]}"}}\n'
        '  data_path: "$.events[*"\n'
    )
    with pytest.raises(SpecError) as info:
        load_specs(path)
    text = "\n".join(info.value.problems)
    assert "field 'data_path': invalid JSONPath '$.events[*'" in text
    assert "field 'params.options.timestart': unknown macro {yesterday}" in text
    assert "lookup on unknown asset 'course'" in text


def test_a_missing_user_spec_file_is_named_with_the_variable_to_set(tmp_path):
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(SpecError) as info:
        load_specs(path)
    assert info.value.problems == [f"{path}: file not found (set MOODLE_ENDPOINTS_FILE to your endpoints file)"]


# -- Moodle versions ----------------------------------------------------------------------------


def test_a_moodle_5_site_gets_its_quiz_attempts_from_the_renamed_function(tmp_path):
    config = DemoConfig(now=DEMO_NOW, scale=0.3, release="5.0 (Build: 20250414)", version="2025041400")
    db = str(tmp_path / "warehouse.duckdb")
    with DemoServer(generate(config)) as server:
        names = ["course_index", "courses", "enrolled_users", "quizzes", "quiz_attempts"]
        result = harvest(server, db, names, max_concurrency=8)
        assert result.success, failure_messages(result)
        called = {c.function for c in server.calls}
    assert NEW_QUIZ in called and OLD_QUIZ not in called
    assert rows(db, "SELECT count(*) FROM moodle.quiz_attempts")[0][0] > 0


@pytest.fixture()
def quizzes_loaded(site, db) -> str:
    assert harvest(site, db, ["quizzes"]).success
    return db


def test_a_site_offering_neither_quiz_function_names_both(site, quizzes_loaded):
    db = quizzes_loaded
    before = _digest(db)
    result = run(endpoint_assets(["quiz_attempts"]), resources(site.url, RESTRICTED_TOKEN, db, max_retries=1))
    message = _fails_alone(result, site.url)
    assert message.startswith("quiz_attempts: ")
    assert OLD_QUIZ in message and NEW_QUIZ in message
    assert "2025041400" in message and "external service" in message
    assert _digest(db) == before
