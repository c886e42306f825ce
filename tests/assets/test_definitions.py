"""The whole Definitions object loads: every asset, check, job and schedule."""

from datetime import UTC

import pytest
from dagster import AssetKey

from moodle_assets.definitions import build_definitions
from moodle_assets.endpoints import load_specs


@pytest.fixture(scope="module")
def defs():
    """The code location's Definitions, built as the module builds them, from the test's empty
    project folder (the module's own ``defs`` may hold a checkout's moodle_endpoints.yaml)."""
    return build_definitions(load_specs())


def test_every_template_is_an_asset_with_a_check_job_and_schedule(defs):
    repo = defs.get_repository_def()
    keys = {k.to_user_string() for k in repo.asset_graph.get_all_asset_keys()}
    assert {"moodle/site_info", "moodle/courses", "moodle/enrolled_users", "moodle/calendar_events"} <= keys
    checks = repo.asset_graph.asset_check_keys
    assert {c.name for c in checks if c.asset_key.path[0] == "moodle"} == {
        "failed_items",
        "function_available",
        "items_read_within_a_week",
    }
    analytics = {k for k in keys if k.startswith("analytics/")}
    assert {"analytics/course_overview", "analytics/learner_progress", "analytics/at_risk_learners"} <= analytics
    assert {c.asset_key.to_user_string() for c in checks if c.name == "keys_unique"} >= analytics - {
        "analytics/course_dashboard"
    }
    raw = {k for k in keys if k.startswith("moodle/")}
    assert {c.asset_key.to_user_string() for c in checks if c.name == "failed_items"} == raw
    assert {c.asset_key.to_user_string() for c in checks if c.name == "function_available"} == raw - {
        "moodle/site_info"
    }
    incremental = {c.asset_key.to_user_string() for c in checks if c.name == "items_read_within_a_week"}
    assert incremental == {f"moodle/{s.name}" for s in load_specs(include_user=False) if s.incremental}
    assert len(incremental) == 9
    assert len(raw) == 28
    job = repo.get_job("moodle_harvest")
    assert job is not None
    assert repo.get_schedule_def("nightly_harvest").job_name == "moodle_harvest"
    assert repo.get_sensor_def("refresh_snapshot_after_harvest") is not None


def test_lineage_and_groups(defs):
    graph = defs.get_repository_def().asset_graph
    parents = graph.get(AssetKey(["moodle", "enrolled_users"])).parent_keys
    assert parents == {AssetKey(["moodle", "courses"])}
    assert graph.get(AssetKey(["moodle", "courses"])).parent_keys == {AssetKey(["moodle", "course_index"])}
    node = graph.get(AssetKey(["moodle", "calendar_events"]))
    assert node.partitions_def is not None
    assert graph.get(AssetKey(["moodle", "users"])).group_name == "people"


def test_nightly_schedule_takes_the_calendar_window_and_refreshes_incrementally_every_night(defs):
    from datetime import datetime

    from dagster import build_schedule_context

    from moodle_assets.assets.jobs import build_nightly_schedule
    from moodle_assets.endpoints import load_specs

    repo = defs.get_repository_def()

    def tick(schedule, when: datetime):
        return schedule.evaluate_tick(build_schedule_context(repository_def=repo, scheduled_execution_time=when))

    nightly = repo.get_schedule_def("nightly_harvest")
    for day in (26, 29):  # a Thursday and a Sunday
        [request] = tick(nightly, datetime(2026, 11, day, 2, tzinfo=UTC)).run_requests
        assert request.tags["dagster/asset_partition_range_start"] == f"2026-11-{day - 1}"
    [thursday] = tick(nightly, datetime(2026, 11, 26, 2, tzinfo=UTC)).run_requests
    assert thursday.run_config == {"ops": {}}  # incremental: the signals only
    # Sunday reads the fan-outs in full: what no signal shows is at most a week old
    [sunday] = tick(nightly, datetime(2026, 11, 29, 2, tzinfo=UTC)).run_requests
    assert sunday.run_config["ops"]["moodle__activity_completion"] == {"config": {"full_refresh": True}}
    assert sunday.tags["full_refresh"] == "true"
    assert "moodle__courses" not in sunday.run_config["ops"]  # read in full every night anyway
    rotating = build_nightly_schedule(load_specs(include_user=False), full_refresh_weekday=None)
    [request] = tick(rotating, datetime(2026, 11, 29, 2, tzinfo=UTC)).run_requests
    assert request.run_config == {"ops": {}}
