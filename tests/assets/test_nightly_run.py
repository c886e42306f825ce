"""The nightly schedule's run, launched as Dagster launches it: the harvest job with the
schedule's tags and the code location's own executor, on a fresh warehouse.

The run takes every asset and the calendar days from yesterday to the last day the daily
partitions reach (one range, so an event added for next week lands the same night).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dagster import build_schedule_context, execute_job, instance_for_test, reconstructable

from moodle_assets import clock
from tests.assets.helpers import rows
from tests.assets.multiprocess import definitions, harvest_job


def nightly_request(at: datetime):
    repo = definitions().get_repository_def()
    schedule = repo.get_schedule_def("nightly_harvest")
    [request] = schedule.evaluate_tick(
        build_schedule_context(repository_def=repo, scheduled_execution_time=at)
    ).run_requests
    return request


def test_the_nightly_request_covers_yesterday_to_the_end_of_the_calendar_window():
    request = nightly_request(datetime(2026, 11, 26, 2, tzinfo=UTC))
    assert request.partition_key is None and request.run_config == {"ops": {}}
    assert request.tags["dagster/asset_partition_range_start"] == "2026-11-25"
    # calendar_events' daily partitions reach end_offset (30) days past the tick's day
    assert request.tags["dagster/asset_partition_range_end"] == "2026-12-25"


def test_the_nightly_run_as_dagster_launches_it_loads_every_asset_and_the_window(
    multiprocess_env, project_folder, tmp_path, demo_server
):
    moment = clock.now().replace(hour=2, minute=0, second=0, microsecond=0)
    request = nightly_request(moment)
    db = str(tmp_path / "warehouse.duckdb")
    config = {"resources": {"warehouse": {"config": {"path": db}}}}
    first_call = len(demo_server.calls)
    with instance_for_test() as instance:
        with execute_job(
            reconstructable(harvest_job), instance=instance, run_config=config, tags=request.tags, raise_on_error=False
        ) as result:
            assert result.success, [e.message for e in result.all_events if e.is_step_failure]
            materialized = {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}
    assert {"calendar_events", "activity_completion", "course_overview"} <= materialized
    start = datetime.strptime(request.tags["dagster/asset_partition_range_start"], "%Y-%m-%d").replace(tzinfo=UTC)
    end = datetime.strptime(request.tags["dagster/asset_partition_range_end"], "%Y-%m-%d").replace(tzinfo=UTC)
    [(first, last, days)] = rows(
        db, "SELECT min(timestart), max(timestart), count(DISTINCT _partition) FROM moodle.calendar_events"
    )
    assert start.timestamp() <= first and last < (end + timedelta(days=1)).timestamp()
    assert days > 7  # events on many days of the window, not only today's
    # the whole window in one call per batch of 200 courses: the demo's 12 courses are one batch
    calendar = [c for c in demo_server.calls[first_call:] if c.function == "core_calendar_get_calendar_events"]
    assert len(calendar) == 1
