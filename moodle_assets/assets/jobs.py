"""Jobs and schedules over the endpoint assets."""

from __future__ import annotations

from datetime import datetime, timezone

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    RunRequest,
    ScheduleEvaluationContext,
    define_asset_job,
    schedule,
)

HARVEST_JOB = "moodle_harvest"

harvest_job = define_asset_job(
    HARVEST_JOB,
    selection=AssetSelection.key_prefixes(["moodle"]),
    description="Materialise every Moodle asset: the whole site, in dependency order.",
)


@schedule(job=harvest_job, cron_schedule="0 2 * * *", default_status=DefaultScheduleStatus.STOPPED)
def nightly_harvest(context: ScheduleEvaluationContext) -> RunRequest:
    """Every night at 02:00 UTC: all assets, and today's calendar partition."""
    moment = context.scheduled_execution_time or datetime.now(timezone.utc)
    day = moment.astimezone(timezone.utc).strftime("%Y-%m-%d")
    return RunRequest(run_key=day, partition_key=day)
