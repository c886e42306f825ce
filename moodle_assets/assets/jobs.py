"""Jobs and schedules over the endpoint assets."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Sequence

from dagster import (
    AssetSelection,
    DagsterRunStatus,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunStatusSensorContext,
    ScheduleDefinition,
    RunRequest,
    ScheduleEvaluationContext,
    define_asset_job,
    run_status_sensor,
    schedule,
)

from moodle_assets.assets.resources import WarehouseResource
from moodle_assets.endpoints.spec import EndpointSpec

HARVEST_JOB = "moodle_harvest"

harvest_job = define_asset_job(
    HARVEST_JOB,
    selection=AssetSelection.key_prefixes(["moodle"], ["analytics"]),
    description="Materialise every Moodle asset and the analytics built on them, in dependency order.",
)


def build_nightly_schedule(specs: Sequence[EndpointSpec], full_refresh_weekday: int = 6) -> ScheduleDefinition:
    """Every night at 02:00 UTC: all assets and today's calendar partition.

    Fan-out assets refresh incrementally; once a week (Sunday by default) they re-read
    everything, which catches what no incremental signal shows (a teacher's override).
    """
    incremental = [s.name for s in specs if s.incremental]

    @schedule(
        name="nightly_harvest", job=harvest_job, cron_schedule="0 2 * * *",
        default_status=DefaultScheduleStatus.STOPPED,
    )
    def nightly_harvest(context: ScheduleEvaluationContext) -> RunRequest:
        moment = (context.scheduled_execution_time or datetime.now(timezone.utc)).astimezone(timezone.utc)
        day = moment.strftime("%Y-%m-%d")
        full = moment.weekday() == full_refresh_weekday
        ops = {f"moodle__{name}": {"config": {"full_refresh": True}} for name in incremental} if full else {}
        return RunRequest(run_key=day, partition_key=day, run_config={"ops": ops}, tags={"full_refresh": str(full).lower()})

    return nightly_harvest


@run_status_sensor(
    run_status=DagsterRunStatus.SUCCESS,
    monitored_jobs=[harvest_job],
    default_status=DefaultSensorStatus.RUNNING,
    description="After a successful harvest, copy the warehouse to the snapshot analysts keep open.",
)
def refresh_snapshot_after_harvest(context: RunStatusSensorContext, warehouse: WarehouseResource) -> None:
    path = warehouse.get().refresh_snapshot()
    context.log.info(f"Snapshot refreshed: {path}" if path else "No snapshot for this database path.")
