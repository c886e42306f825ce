"""Jobs and the nightly schedule when sites are a partition dimension.

``moodle_harvest`` materialises one site per run (its partition): every site-partitioned
asset and the analytics built on them. ``moodle_calendar`` loads the site x day assets.
Two schedules (a schedule targets one job): ``nightly_harvest`` asks for one harvest run per
site, ``nightly_calendar`` for one calendar run per site and day around the tick. Runs of
different sites go side by side (each its own file, its own in-flight limit); each carries
the ``moodle/site`` tag, so a run queue limit on that tag (docs/sites.md) keeps two runs of
one site from overlapping.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    MultiPartitionKey,
    RunRequest,
    ScheduleEvaluationContext,
    define_asset_job,
    schedule,
)

from moodle_assets.assets.factory import FULL_REFRESH, asset_key
from moodle_assets.assets.jobs import HARVEST_JOB, moodle_executor
from moodle_assets.endpoints.spec import EndpointSpec

from .config import Sites
from .partitions import DAY_DIMENSION, SITE_DIMENSION

CALENDAR_JOB = "moodle_calendar"
SITE_TAG = "moodle/site"
# Days before and after the tick the nightly calendar runs load (events added or moved soon).
CALENDAR_DAYS_BACK, CALENDAR_DAYS_AHEAD = 1, 1


def time_partitioned(specs: Sequence[EndpointSpec]) -> AssetSelection:
    return AssetSelection.assets(*[asset_key(s.name) for s in specs if s.partition])


def site_jobs(specs: Sequence[EndpointSpec]) -> list:
    everything = AssetSelection.key_prefixes(["moodle"], ["analytics"])
    return [
        define_asset_job(
            HARVEST_JOB,
            selection=everything - time_partitioned(specs),
            description="Materialise one site's Moodle assets and its analytics (one run per site partition).",
            executor_def=moodle_executor,
        ),
        define_asset_job(
            CALENDAR_JOB,
            selection=time_partitioned(specs),
            description="Load the time-partitioned assets (calendar events) of one site and day per run.",
            executor_def=moodle_executor,
        ),
    ]


def build_site_schedules(specs: Sequence[EndpointSpec], sites: Sites, full_refresh_weekday: int | None = 6) -> list:
    """Every night: calendar runs per site for the days around the tick at 01:30 UTC
    (``nightly_calendar``; a schedule targets one job), then a harvest run per site at 02:00
    (``nightly_harvest``), whose analytics read the calendar just loaded."""
    incremental = [s.name for s in specs if s.incremental]

    @schedule(
        name="nightly_harvest",
        job_name=HARVEST_JOB,
        cron_schedule="0 2 * * *",
        default_status=DefaultScheduleStatus.STOPPED,
    )
    def nightly_harvest(context: ScheduleEvaluationContext):
        moment = (context.scheduled_execution_time or datetime.now(UTC)).astimezone(UTC)
        day = moment.strftime("%Y-%m-%d")
        full = full_refresh_weekday is not None and moment.weekday() == full_refresh_weekday
        ops = {f"moodle__{name}": {"config": {FULL_REFRESH: True}} for name in incremental} if full else {}
        for site in sites.sites:
            tags = {SITE_TAG: site.name, "full_refresh": str(full).lower()}
            yield RunRequest(run_key=f"{site.name}-{day}", partition_key=site.name, run_config={"ops": ops}, tags=tags)

    @schedule(
        name="nightly_calendar",
        job_name=CALENDAR_JOB,
        cron_schedule="30 1 * * *",  # before the harvest, whose engagement model reads the calendar
        default_status=DefaultScheduleStatus.STOPPED,
    )
    def nightly_calendar(context: ScheduleEvaluationContext):
        moment = (context.scheduled_execution_time or datetime.now(UTC)).astimezone(UTC)
        for site in sites.sites:
            for offset in range(-CALENDAR_DAYS_BACK, CALENDAR_DAYS_AHEAD + 1):
                when = (moment + timedelta(days=offset)).strftime("%Y-%m-%d")
                key = MultiPartitionKey({SITE_DIMENSION: site.name, DAY_DIMENSION: when})
                yield RunRequest(
                    run_key=f"{site.name}-{when}-{moment:%Y-%m-%d}", partition_key=key, tags={SITE_TAG: site.name}
                )

    return [nightly_harvest, nightly_calendar] if any(s.partition for s in specs) else [nightly_harvest]
