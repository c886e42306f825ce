"""The asset graph as the Dagster webserver serves it, read through its GraphQL API.

Starts ``dagster-webserver`` on the code location exactly as a user does (resources are only
resolved at run time, so dummy Moodle settings are enough) and checks what the UI is built
from: groups, lineage down to the analytics models, the calendar partitions, the harvest job,
the nightly schedule and the asset checks. No browser; a few seconds.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.ui.helpers import WEBSERVER_GRACE, free_port, process, tail, venv_bin, wait_for_http

CALENDAR_START = "2025-01-01"
GROUPS = {"site", "courses", "people", "assessment", "engagement", "analytics"}
MODELS = {
    "analytics/course_overview",
    "analytics/learner_progress",
    "analytics/assessment_results",
    "analytics/engagement_weekly",
    "analytics/at_risk_learners",
    "analytics/course_dashboard",
}

GRAPH_QUERY = """
{
  repositoriesOrError {
    __typename
    ... on RepositoryConnection {
      nodes {
        name
        location { name }
        assetGroups { groupName }
        jobs { name }
        schedules { name cronSchedule pipelineName scheduleState { status } }
        sensors { name }
      }
    }
    ... on PythonError { message }
  }
  assetNodes {
    assetKey { path }
    groupName
    dependencyKeys { path }
    dependedByKeys { path }
    isPartitioned
    assetChecksOrError { __typename ... on AssetChecks { checks { name } } }
  }
}
"""

CALENDAR_QUERY = """
{
  assetNodeOrError(assetKey: {path: ["moodle", "calendar_events"]}) {
    __typename
    ... on AssetNode {
      isPartitioned
      partitionKeys
      partitionDefinition { type fmt description }
      backfillPolicy { policyType maxPartitionsPerRun }
    }
  }
}
"""


def key(path: list[str]) -> str:
    return "/".join(path)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(graph, calendar) answers from a webserver started on the code location."""
    home = tmp_path_factory.mktemp("dagster_home")
    (home / "dagster.yaml").write_text("")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "MOODLE_URL": "http://127.0.0.1:9",
        "MOODLE_TOKEN": "not-a-token",
        "MOODLE_DUCKDB_PATH": str(home / "warehouse.duckdb"),
        "MOODLE_PROJECT_DIR": str(home),  # a project folder without moodle_endpoints.yaml: built-ins only
        "MOODLE_CALENDAR_START": CALENDAR_START,
    }
    env.pop("MOODLE_ENDPOINTS_FILE", None)
    port = free_port()
    log = home / "webserver.log"
    args = [venv_bin("dagster-webserver"), "-m", "moodle_assets.definitions", "-h", "127.0.0.1", "-p", str(port)]
    with process(args, env=env, cwd=home, log=log, grace=WEBSERVER_GRACE) as proc:
        base = f"http://127.0.0.1:{port}"
        info = wait_for_http(f"{base}/server_info", proc, log, timeout=60).json()
        assert info["dagster_version"].startswith("1.13."), info

        def graphql(query: str) -> dict:
            response = httpx.post(f"{base}/graphql", json={"query": query}, timeout=30)
            response.raise_for_status()
            body = response.json()
            assert not body.get("errors"), f"{body['errors']}\n{tail(log)}"
            return body["data"]

        yield graphql(GRAPH_QUERY), graphql(CALENDAR_QUERY)


@pytest.fixture(scope="module")
def nodes(served) -> dict[str, dict]:
    return {key(n["assetKey"]["path"]): n for n in served[0]["assetNodes"]}


@pytest.fixture(scope="module")
def repository(served) -> dict:
    repos = served[0]["repositoriesOrError"]
    assert repos["__typename"] == "RepositoryConnection", repos
    assert len(repos["nodes"]) == 1
    return repos["nodes"][0]


def parents(node: dict) -> set[str]:
    return {key(k["path"]) for k in node["dependencyKeys"]}


def children(node: dict) -> set[str]:
    return {key(k["path"]) for k in node["dependedByKeys"]}


def downstream(nodes: dict[str, dict], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for child in children(nodes[todo.pop()]) - seen:
            seen.add(child)
            todo.append(child)
    return seen


def test_every_group_is_served(repository, nodes):
    assert repository["location"]["name"] == "moodle_assets.definitions"
    assert {g["groupName"] for g in repository["assetGroups"]} == GROUPS
    assert {n["groupName"] for n in nodes.values()} == GROUPS
    assert {k for k, n in nodes.items() if n["groupName"] == "analytics"} == MODELS
    assert {k for k, n in nodes.items() if n["groupName"] == "site"} == {"moodle/site_info"}
    assert nodes["moodle/courses"]["groupName"] == "courses"
    assert nodes["moodle/users"]["groupName"] == "people"
    assert nodes["moodle/enrolled_users"]["groupName"] == "people"
    assert nodes["moodle/calendar_events"]["groupName"] == "engagement"
    assert nodes["moodle/quiz_attempts"]["groupName"] == "assessment"


def test_served_graph_is_the_defined_graph(nodes):
    """What the UI shows is what the code builds: same assets, groups and edges.

    Built here from the templates alone, as the webserver above sees them (no user file).
    """
    from dagster import Definitions

    from moodle_assets.analytics import analytics_assets
    from moodle_assets.assets.factory import build_endpoint_asset
    from moodle_assets.definitions import defs
    from moodle_assets.endpoints import load_specs

    specs = load_specs(include_user=False)
    graph = (
        Definitions(
            assets=[*(build_endpoint_asset(spec, specs) for spec in specs), *analytics_assets], resources=defs.resources
        )
        .get_repository_def()
        .asset_graph
    )
    defined = {k.to_user_string(): graph.get(k) for k in graph.get_all_asset_keys()}
    assert set(nodes) == set(defined)
    for name, node in nodes.items():
        assert node["groupName"] == defined[name].group_name, name
        assert parents(node) == {p.to_user_string() for p in defined[name].parent_keys}, name
        assert children(node) == {c.to_user_string() for c in defined[name].child_keys}, name


def test_lineage_from_courses_and_users_down_to_the_models(nodes):
    # Both directions of every edge are served consistently.
    for name, node in nodes.items():
        for parent in parents(node):
            assert name in children(nodes[parent]), (parent, name)
    assert parents(nodes["moodle/courses"]) == {"moodle/course_index"}
    assert parents(nodes["moodle/users"]) == set()
    assert parents(nodes["moodle/enrolled_users"]) == {"moodle/courses"}
    assert {
        "moodle/enrolled_users",
        "moodle/assignments",
        "moodle/quizzes",
        "moodle/calendar_events",
        "analytics/course_overview",
        "analytics/at_risk_learners",
    } <= children(nodes["moodle/courses"])
    assert "analytics/learner_progress" in children(nodes["moodle/users"])
    assert "analytics/learner_progress" in children(nodes["moodle/enrolled_users"])
    # Every model is downstream of courses; the learner-level ones of users too.
    assert MODELS <= downstream(nodes, "moodle/courses")
    assert {
        "analytics/learner_progress",
        "analytics/course_overview",
        "analytics/at_risk_learners",
        "analytics/course_dashboard",
    } <= downstream(nodes, "moodle/users")
    assert parents(nodes["analytics/at_risk_learners"]) == {"analytics/learner_progress", "moodle/courses"}
    assert parents(nodes["analytics/course_dashboard"]) == {
        "analytics/course_overview",
        "analytics/assessment_results",
        "analytics/engagement_weekly",
        "analytics/at_risk_learners",
    }
    assert "moodle/calendar_events" in parents(nodes["analytics/engagement_weekly"])
    assert children(nodes["analytics/course_dashboard"]) == set()


def test_calendar_events_are_daily_partitioned(served, nodes):
    before = datetime.now(UTC).date()
    calendar = served[1]["assetNodeOrError"]
    after = datetime.now(UTC).date()
    assert calendar["__typename"] == "AssetNode"
    assert calendar["isPartitioned"] is True
    assert calendar["partitionDefinition"]["type"] == "TIME_WINDOW"
    assert calendar["partitionDefinition"]["fmt"] == "%Y-%m-%d"
    assert calendar["partitionDefinition"]["description"].startswith(f"Daily, starting {CALENDAR_START} UTC")
    assert calendar["backfillPolicy"] == {"policyType": "SINGLE_RUN", "maxPartitionsPerRun": None}
    keys = calendar["partitionKeys"]
    assert keys[0] == CALENDAR_START
    # One key a day with no gaps, up to 30 days ahead (end_offset) of today.
    first = datetime.fromisoformat(CALENDAR_START).date()
    assert keys == [(first + timedelta(days=i)).isoformat() for i in range(len(keys))]
    assert keys[-1] in {(before + timedelta(days=29)).isoformat(), (after + timedelta(days=29)).isoformat()}
    assert [k for k, n in nodes.items() if n["isPartitioned"]] == ["moodle/calendar_events"]


def test_harvest_job_and_nightly_schedule(repository):
    assert {j["name"] for j in repository["jobs"]} - {"__ASSET_JOB"} == {"moodle_harvest"}
    assert repository["schedules"] == [
        {
            "name": "nightly_harvest",
            "cronSchedule": "0 2 * * *",
            "pipelineName": "moodle_harvest",
            "scheduleState": {"status": "STOPPED"},
        }
    ]
    assert {s["name"] for s in repository["sensors"]} == {"refresh_snapshot_after_harvest"}


def test_asset_checks_are_attached(nodes):
    checks = {}
    for name, node in nodes.items():
        assert node["assetChecksOrError"]["__typename"] == "AssetChecks", name
        checks[name] = {c["name"] for c in node["assetChecksOrError"]["checks"]}
    moodle = {name for name in nodes if name.startswith("moodle/")}
    for name in moodle:
        assert "failed_items" in checks[name], name
        assert ("function_available" in checks[name]) == (name != "moodle/site_info"), name
    assert checks["moodle/site_info"] == {"failed_items"}
    assert checks["moodle/enrolled_users"] == {"failed_items", "function_available"}
    assert checks["analytics/learner_progress"] == {
        "courses_exist",
        "keys_unique",
        "rates_between_0_and_1",
        "raw_tables_loaded",
    }
    assert checks["analytics/at_risk_learners"] == {"courses_exist", "keys_unique", "raw_tables_loaded"}
    assert checks["analytics/engagement_weekly"] == {"courses_exist", "keys_unique", "raw_tables_loaded"}
    assert checks["analytics/course_dashboard"] == set()
    for model in MODELS - {"analytics/course_dashboard"}:
        assert {"courses_exist", "keys_unique"} <= checks[model], model
