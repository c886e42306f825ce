"""Jobs and schedules over the endpoint assets."""

from __future__ import annotations

from datetime import datetime, timezone

from dagster import (
    AssetSelection,
    DagsterRunStatus,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunStatusSensorContext,
    RunRequest,
    ScheduleEvaluationContext,
    define_asset_job,
    run_status_sensor,
    schedule,
)

from moodle_assets.assets.resources import WarehouseResource

HARVEST_JOB = "moodle_harvest"

harvest_job = define_asset_job(
    HARVEST_JOB,
    selection=AssetSelection.key_prefixes(["moodle"], ["analytics"]),
    description="Materialise every Moodle asset and the analytics built on them, in dependency order.",
)


@schedule(job=harvest_job, cron_schedule="0 2 * * *", default_status=DefaultScheduleStatus.STOPPED)
def nightly_harvest(context: ScheduleEvaluationContext) -> RunRequest:
    """Every night at 02:00 UTC: all assets, and today's calendar partition."""
    moment = context.scheduled_execution_time or datetime.now(timezone.utc)
    day = moment.astimezone(timezone.utc).strftime("%Y-%m-%d")
    return RunRequest(run_key=day, partition_key=day)


@run_status_sensor(
    run_status=DagsterRunStatus.SUCCESS,
    monitored_jobs=[harvest_job],
    default_status=DefaultSensorStatus.RUNNING,
    description="After a successful harvest, copy the warehouse to the snapshot analysts keep open.",
)
def refresh_snapshot_after_harvest(context: RunStatusSensorContext, warehouse: WarehouseResource) -> None:
    path = warehouse.get().refresh_snapshot()
    context.log.info(f"Snapshot refreshed: {path}" if path else "No snapshot for this database path.")
