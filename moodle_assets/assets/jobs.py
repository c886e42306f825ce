"""Jobs and schedules over the endpoint assets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from dagster import (
    AssetSelection,
    DagsterRunStatus,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    Executor,
    ExecutorRequirement,
    Field,
    InitExecutorContext,
    RunRequest,
    RunStatusSensorContext,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    define_asset_job,
    executor,
    multi_or_in_process_executor,
    multiple_process_executor_requirements,
    run_status_sensor,
    schedule,
)

from moodle_assets.assets.resources import WarehouseResource
from moodle_assets.endpoints.spec import EndpointSpec

HARVEST_JOB = "moodle_harvest"


def _requirements(config: Mapping[str, object]) -> Sequence[ExecutorRequirement]:
    return multiple_process_executor_requirements() if "multiprocess" in config else []


@executor(
    name="moodle_executor",
    # Dagster's default executor's choice of modes (same run config), with in_process as the default.
    config_schema=Field(
        multi_or_in_process_executor.config_schema.as_field().config_type,
        default_value={"in_process": {}},
        is_required=False,
        description="in_process (the default): every step in the run's own process. multiprocess: one "
        "process per step (start_method forkserver with preload_modules makes a step start cheaper).",
    ),
    requirements=_requirements,
)
def moodle_executor(init_context: InitExecutorContext) -> Executor:
    """Every step of a run in the run's own process, one after another, unless run config asks for
    ``execution: {config: {multiprocess: {...}}}``.

    Why not a process per step (Dagster's default): one asset at ``max_concurrency`` calls in
    flight already keeps a PHP site at its capacity, so steps side by side do not make a
    harvest faster, while each step process imports Dagster, opens the instance and loads the
    definitions again. Measured from process start on the benchmark's site model (2 CPUs,
    docs/performance.md), the fan-out chain took 25 s in process against 30-32 s with a
    forkserver and 2-3 steps at once, with half the CPU and a third of the memory; the full
    harvest 72 s against 95 s. The ``moodle_api`` pool is claimed per step by either executor.
    """
    return multi_or_in_process_executor.executor_creation_fn(init_context)


harvest_job = define_asset_job(
    HARVEST_JOB,
    selection=AssetSelection.key_prefixes(["moodle"], ["analytics"]),
    description="Materialise every Moodle asset and the analytics built on them, in dependency order.",
    executor_def=moodle_executor,
)


def build_nightly_schedule(specs: Sequence[EndpointSpec], full_refresh_weekday: int = 6) -> ScheduleDefinition:
    """Every night at 02:00 UTC: all assets and today's calendar partition.

    Fan-out assets refresh incrementally; once a week (Sunday by default) they re-read
    everything, which catches what no incremental signal shows (a teacher's override).
    """
    incremental = [s.name for s in specs if s.incremental]

    @schedule(
        name="nightly_harvest", job=harvest_job, cron_schedule="0 2 * * *", default_status=DefaultScheduleStatus.STOPPED
    )
    def nightly_harvest(context: ScheduleEvaluationContext) -> RunRequest:
        moment = (context.scheduled_execution_time or datetime.now(UTC)).astimezone(UTC)
        day = moment.strftime("%Y-%m-%d")
        full = moment.weekday() == full_refresh_weekday
        ops = {f"moodle__{name}": {"config": {"full_refresh": True}} for name in incremental} if full else {}
        return RunRequest(
            run_key=day, partition_key=day, run_config={"ops": ops}, tags={"full_refresh": str(full).lower()}
        )

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
