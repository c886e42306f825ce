"""Jobs and schedules over the endpoint assets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

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
    Selector,
    define_asset_job,
    executor,
    multi_or_in_process_executor,
    multiple_process_executor_requirements,
    run_status_sensor,
    schedule,
)
from dagster._core.definitions.executor_definition import _core_in_process_executor_creation
from dagster._core.definitions.partitions.context import partition_loading_context
from dagster._core.execution.retries import RetryMode
from dagster._core.execution.step_dependency_config import StepDependencyConfig
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from moodle_assets.assets.executor import ThreadedInProcessExecutor
from moodle_assets.assets.partitions import partitions_for
from moodle_assets.assets.resources import WarehouseResource
from moodle_assets.endpoints.spec import EndpointSpec

HARVEST_JOB = "moodle_harvest"


def _requirements(config: Mapping[str, object]) -> Sequence[ExecutorRequirement]:
    return multiple_process_executor_requirements() if "multiprocess" in config else []


STEPS_AT_ONCE = 4
_DAGSTER_MODES = multi_or_in_process_executor.config_schema.as_field().config_type.fields
_IN_PROCESS = Field(
    {
        **_DAGSTER_MODES["in_process"].config_type.fields,
        "max_concurrent": Field(
            int,
            default_value=STEPS_AT_ONCE,
            is_required=False,
            description="Steps running at once, as threads of the run's process (1: one after another). "
            "They share the site's max_concurrency calls in flight and take turns writing to DuckDB, so more "
            "only overlaps their fixed parts (lookups, loads, Dagster's events) on the run's CPUs.",
        ),
    },
    description="Execute every step in the run's own process, up to max_concurrent at once.",
)


@executor(
    name="moodle_executor",
    # Dagster's default executor's choice of modes (same run config), with in_process as the default.
    config_schema=Field(
        Selector({"in_process": _IN_PROCESS, "multiprocess": _DAGSTER_MODES["multiprocess"]}),
        default_value={"in_process": {}},
        is_required=False,
        description="in_process (the default): every step in the run's own process, up to max_concurrent at once. "
        "multiprocess: one process per step (start_method forkserver with preload_modules makes a step start "
        "cheaper).",
    ),
    requirements=_requirements,
)
def moodle_executor(init_context: InitExecutorContext) -> Executor:
    """The steps of a run in the run's own process, up to ``max_concurrent`` side by side as
    threads (``assets/executor.py``), unless run config asks for
    ``execution: {config: {multiprocess: {...}}}``; ``in_process: {max_concurrent: 1}`` is
    Dagster's in-process executor, one step after another.

    Why not a process per step (Dagster's default): each step process imports Dagster, opens
    the instance and loads the definitions again. Measured from process start on the
    benchmark's site model (2 CPUs, docs/performance.md), the fan-out chain took 25 s in
    process against 30-32 s with a forkserver and 2-3 steps at once, with half the CPU and a
    third of the memory; the full harvest 72 s against 95 s. Why side by side: one step at a
    time leaves the site idle through every step's fixed part, and independent fan-outs
    (activity_completion, quiz_attempts) never call it at once. Steps side by side share the
    site's ``max_concurrency`` (``moodle/site_gate.py``) and take turns writing to DuckDB
    (``warehouse/writers.py``); the ``moodle_api`` pool is claimed per step by every mode.
    """
    if "multiprocess" in init_context.executor_config:
        return multi_or_in_process_executor.executor_creation_fn(init_context)
    config = dict(init_context.executor_config["in_process"])
    steps = config.pop("max_concurrent", STEPS_AT_ONCE)
    if steps == 1:
        return _core_in_process_executor_creation(config)
    return ThreadedInProcessExecutor(
        retries=RetryMode.from_config(config["retries"]),
        max_concurrent=steps,
        step_dependency_config=StepDependencyConfig.from_config(config.get("step_dependency_config")),
    )


harvest_job = define_asset_job(
    HARVEST_JOB,
    selection=AssetSelection.key_prefixes(["moodle"], ["analytics"]),
    description="Materialise every Moodle asset and the analytics built on them, in dependency order.",
    executor_def=moodle_executor,
)


def build_nightly_schedule(specs: Sequence[EndpointSpec], full_refresh_weekday: int | None = 6) -> ScheduleDefinition:
    """Every night at 02:00 UTC: all assets, and the calendar days from yesterday to the last
    day its partitions reach (events added or moved for the coming weeks land the same night;
    one call per course batch for the whole window).

    Fan-out assets refresh incrementally: the items Moodle's signals show (about a tenth of a
    full harvest's calls after a day with 5 % of learners active). On ``full_refresh_weekday``
    (0 = Monday; default Sunday) they are read in full, which bounds what no signal shows (a
    completion overridden, a badge awarded by hand) to a week. None leaves that bound to a
    rotation (``incremental.rotate`` in the spec or run config), which spreads the same
    week's re-read over the nights instead (docs/incremental.md).
    """
    incremental = [s.name for s in specs if s.incremental]
    windows = [partitions_for(s.partition) for s in specs if s.partition]

    @schedule(
        name="nightly_harvest", job=harvest_job, cron_schedule="0 2 * * *", default_status=DefaultScheduleStatus.STOPPED
    )
    def nightly_harvest(context: ScheduleEvaluationContext) -> RunRequest:
        moment = (context.scheduled_execution_time or datetime.now(UTC)).astimezone(UTC)
        day = moment.strftime("%Y-%m-%d")
        full = full_refresh_weekday is not None and moment.weekday() == full_refresh_weekday
        ops = {f"moodle__{name}": {"config": {"full_refresh": True}} for name in incremental} if full else {}
        tags = {"full_refresh": str(full).lower()}
        if windows and all(w == windows[0] for w in windows):  # one range for every partitioned asset
            start = (moment - timedelta(days=1)).strftime("%Y-%m-%d")
            with partition_loading_context(effective_dt=moment):  # the partitions as of the tick
                last = windows[0].get_last_partition_key()
            if last is not None and last >= day:
                tags |= {ASSET_PARTITION_RANGE_START_TAG: max(start, windows[0].get_first_partition_key() or start)}
                tags |= {ASSET_PARTITION_RANGE_END_TAG: last}
                return RunRequest(run_key=day, run_config={"ops": ops}, tags=tags)
        return RunRequest(run_key=day, partition_key=day, run_config={"ops": ops}, tags=tags)

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
