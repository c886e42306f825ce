"""Runs launched the way the UI's Materialize button launches them, through the webserver's GraphQL.

``dagster dev`` serves the code location from a code server; a launched run is queued, taken
by the daemon and executed in a new process (Dagster's default run coordinator and launcher),
so this is the path a user's first click takes, not ``materialize()`` in the test's process.
Against the demo Moodle over HTTP:

* ``moodle/site_info`` selected alone (with its checks, as the button sends them, and no run
  config) succeeds and lands the site the emulator answers when asked directly;
* ``moodle/enrolled_users`` selected alone on an empty warehouse fails with one message naming
  the asset to materialise first, and creates no table;
* with ``course_index`` and ``courses`` loaded first, ``enrolled_users`` alone succeeds and
  holds every enrolment the site lists, counted by calling the site directly;
* an analytics model alone on an empty warehouse fails naming the model to materialise first.
"""

from __future__ import annotations

import os
import time
from types import SimpleNamespace

import duckdb
import httpx
import pytest

from moodle_assets.demo.server import DEMO_TOKEN
from tests.ui.helpers import WEBSERVER_GRACE, free_port, process, tail, venv_bin, wait_for_http

RUN_TIMEOUT = 180

# Under libfaketime (the suite run with the clock moved ahead, docs/reliability.md) a timed wait
# of a thread never returns (threading.Event().wait(1) hangs), and Dagster's daemon waits that
# way between its loops: the queued runs would never be taken. A real later date is no problem.
pytestmark = pytest.mark.skipif(
    "faketime" in os.environ.get("LD_PRELOAD", ""),
    reason="libfaketime stops timed thread waits, on which dagster dev's daemon takes queued runs",
)

LOCATION = "{ repositoriesOrError { ... on RepositoryConnection { nodes { name location { name } } } } }"
CHECKS = """
query Checks($path: [String!]!) {
  assetNodeOrError(assetKey: {path: $path}) {
    ... on AssetNode { assetChecksOrError { ... on AssetChecks { checks { name } } } }
  }
}
"""
LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchPipelineExecution(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message stack }
    ... on InvalidSubsetError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}
"""
RUN = """
query Run($runId: ID!) {
  runOrError(runId: $runId) { __typename ... on Run { status } }
  logsForRun(runId: $runId) {
    ... on EventConnection {
      events {
        __typename
        ... on MessageEvent { message stepKey }
        ... on ExecutionStepFailureEvent { error { message } }
      }
    }
  }
}
"""


def site_call(url: str, function: str, **params) -> object:
    """The emulator's answer, asked directly over HTTP: the expected values' own source."""
    response = httpx.post(
        f"{url}/webservice/rest/server.php",
        data={"wstoken": DEMO_TOKEN, "wsfunction": function, "moodlewsrestformat": "json", **params},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()


@pytest.fixture(scope="module")
def ui(tmp_path_factory, demo_server):
    """The runs below, launched as the UI launches them: ``results[name]`` is (status, events);
    ``default_warehouse`` the file a run without config lands in."""
    home = tmp_path_factory.mktemp("dagster_home")
    (home / "dagster.yaml").write_text("")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "MOODLE_URL": demo_server.url,
        "MOODLE_TOKEN": DEMO_TOKEN,
        "MOODLE_DUCKDB_PATH": str(home / "warehouse.duckdb"),
        "MOODLE_PROJECT_DIR": str(home),  # no endpoints or sites file: the single site, built-ins only
    }
    for name in ("MOODLE_ENDPOINTS_FILE", "MOODLE_SITES_FILE"):
        env.pop(name, None)
    port = free_port()
    log = home / "dagster_dev.log"
    # dagster dev, as a user starts the UI: the webserver, and the daemon that takes queued runs.
    args = [venv_bin("dagster"), "dev", "-m", "moodle_assets.definitions", "-h", "127.0.0.1", "-p", str(port)]
    with process(args, env=env, cwd=home, log=log, grace=WEBSERVER_GRACE) as proc:
        base = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base}/server_info", proc, log, timeout=60)

        def graphql(query: str, **variables) -> dict:
            response = httpx.post(f"{base}/graphql", json={"query": query, "variables": variables}, timeout=60)
            response.raise_for_status()
            body = response.json()
            assert not body.get("errors"), f"{body['errors']}\n{tail(log)}"
            return body["data"]

        [repo] = graphql(LOCATION)["repositoriesOrError"]["nodes"]

        def launch(paths: list[list[str]], warehouse: str | None = None) -> str:
            checks = [
                {"assetKey": {"path": path}, "name": check["name"]}
                for path in paths
                for check in graphql(CHECKS, path=path)["assetNodeOrError"]["assetChecksOrError"]["checks"]
            ]
            config = {"resources": {"warehouse": {"config": {"path": warehouse}}}} if warehouse else {}
            params = {
                "mode": "default",
                "runConfigData": config,
                "executionMetadata": {"tags": []},
                "selector": {
                    "repositoryLocationName": repo["location"]["name"],
                    "repositoryName": repo["name"],
                    "pipelineName": "__ASSET_JOB",
                    "assetSelection": [{"path": path} for path in paths],
                    "assetCheckSelection": checks,
                },
            }
            launched = graphql(LAUNCH, params=params)["launchPipelineExecution"]
            assert launched["__typename"] == "LaunchRunSuccess", f"{launched}\n{tail(log)}"
            return launched["run"]["runId"]

        def ended(run_id: str) -> tuple[str, list[dict]]:
            deadline, status = time.monotonic() + RUN_TIMEOUT, None
            while time.monotonic() < deadline:
                answer = graphql(RUN, runId=run_id)
                status = answer["runOrError"]["status"]
                if status in ("SUCCESS", "FAILURE", "CANCELED"):
                    return status, answer["logsForRun"]["events"]
                time.sleep(0.5)
            raise AssertionError(f"run {run_id} still {status} after {RUN_TIMEOUT}s:\n{tail(log)}")

        # Independent runs are launched at once, as a user may click several assets in turn; each
        # is still one selection, run alone on its own warehouse file.
        chain = str(home / "chain.duckdb")
        runs = {
            "site_info": launch([["moodle", "site_info"]]),  # no config at all, as the button sends it
            "enrolled_alone": launch([["moodle", "enrolled_users"]], str(home / "empty.duckdb")),
            "model_alone": launch([["analytics", "course_overview"]], str(home / "empty-model.duckdb")),
            "courses": launch([["moodle", "course_index"], ["moodle", "courses"]], chain),
        }
        results = {name: ended(run_id) for name, run_id in runs.items()}
        if results["courses"][0] == "SUCCESS":
            results["enrolled_after_courses"] = ended(launch([["moodle", "enrolled_users"]], chain))
        yield SimpleNamespace(
            results=results, default_warehouse=env["MOODLE_DUCKDB_PATH"], empty=str(home / "empty.duckdb"), chain=chain
        )


def failures(events: list[dict]) -> list[str]:
    return [e["error"]["message"] for e in events if e["__typename"] == "ExecutionStepFailureEvent"]


def test_site_info_alone_with_the_buttons_empty_config_lands_the_site(ui, demo_server):
    status, events = ui.results["site_info"]
    assert status == "SUCCESS", failures(events)
    expected = site_call(demo_server.url, "core_webservice_get_site_info")
    with duckdb.connect(ui.default_warehouse, read_only=True) as con:
        rows = con.execute("SELECT sitename, release, siteurl FROM moodle.site_info").fetchall()
    assert rows == [(expected["sitename"], expected["release"], expected["siteurl"])]


def test_enrolled_users_alone_on_an_empty_warehouse_fails_naming_what_to_materialise(ui):
    status, events = ui.results["enrolled_alone"]
    assert status == "FAILURE"
    [message] = failures(events)
    assert "moodle/courses" in message and "materialise" in message, message
    if os.path.exists(ui.empty):
        with duckdb.connect(ui.empty, read_only=True) as con:
            tables = con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'moodle'").fetchall()
        assert ("enrolled_users",) not in tables


def test_enrolled_users_alone_after_courses_holds_every_enrolment_the_site_lists(ui, demo_server):
    status, events = ui.results["courses"]
    assert status == "SUCCESS", failures(events)
    status, events = ui.results["enrolled_after_courses"]
    assert status == "SUCCESS", failures(events)
    # The courses the token can read (the search lists them all; core_course_get_courses refuses
    # some), and every user each of them lists.
    found = site_call(demo_server.url, "core_course_search_courses", criterianame="search", criteriavalue="")
    readable = [
        c["id"]
        for c in found["courses"]
        if isinstance(site_call(demo_server.url, "core_course_get_courses", **{"options[ids][0]": c["id"]}), list)
    ]
    expected = {
        (course, user["id"])
        for course in readable
        for user in site_call(demo_server.url, "core_enrol_get_enrolled_users", courseid=course)
    }
    with duckdb.connect(ui.chain, read_only=True) as con:
        got = set(con.execute("SELECT courseid, id FROM moodle.enrolled_users").fetchall())
    assert expected and got == expected


def test_an_analytics_model_alone_on_an_empty_warehouse_names_the_model_to_load_first(ui):
    status, events = ui.results["model_alone"]
    assert status == "FAILURE"
    [message] = failures(events)
    assert "materialise asset analytics/learner_progress first" in message, message
