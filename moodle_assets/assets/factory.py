"""Turn an endpoint spec into a Dagster asset.

One factory for every endpoint, built-in or user-defined: the asset reads its lookup values
from DuckDB, fetches everything from Moodle with no database connection held, stages the
records on disk, then replaces its table (or its partitions) in one short transaction and
reports what it did as metadata.
"""

import warnings
from collections.abc import Sequence
from typing import Any

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    BackfillPolicy,
    BetaWarning,
    Failure,
    Field,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableSchema,
    TimeWindowPartitionsDefinition,
    asset,
)

from moodle_assets import clock
from moodle_assets.assets.partitions import PartitionPlacer, partitions_for
from moodle_assets.assets.reporting import PARTITION_COLUMN, Progress, describe_columns, table_description
from moodle_assets.assets.resources import MoodleResource, WarehouseResource
from moodle_assets.common import preview_markdown
from moodle_assets.endpoints.availability import SITE_INFO_FUNCTION, unavailable
from moodle_assets.endpoints.pipeline import KEY_PREFIX, HarvestError, HarvestResult, harvest_endpoint
from moodle_assets.endpoints.spec import SETTING_TYPES, EndpointSpec
from moodle_assets.sites.config import Sites
from moodle_assets.sites.partitions import SiteRunError, partitions_for_spec
from moodle_assets.sites.runtime import SiteRun, SiteSettingsError
from moodle_assets.warehouse import WarehouseLockedError
from moodle_assets.warehouse.publish import PublishError

POOL = "moodle_api"
CHECK_NAME = "failed_items"
# What no signal shows stays at most this old with the nightly schedule's weekly full refresh
# (or a rotation of 7 or fewer): an older kept item means neither is running.
FRESH_CHECK_NAME = "items_read_within_a_week"
MAX_ITEM_AGE_DAYS = 7
FULL_REFRESH = "full_refresh"
ROTATE = "rotate"


def asset_key(name: str) -> AssetKey:
    return AssetKey([KEY_PREFIX, name])


def config_schema(spec: EndpointSpec) -> dict[str, Field]:
    """Template settings as typed run config, shown with their defaults in the Launchpad."""
    schema = {}
    if spec.incremental:
        schema[FULL_REFRESH] = Field(
            bool,
            default_value=False,
            is_required=False,
            description="Re-read every item instead of only those that may have changed since the last load.",
        )
        schema[ROTATE] = Field(
            int,
            default_value=spec.incremental.rotate or 0,
            is_required=False,
            description="Also re-read the 1/rotate of the items read longest ago (0 = none): what no signal "
            "shows is then at most rotate runs old. Lower bounds staleness tighter, higher saves calls.",
        )
    for s in spec.settings.values():
        help_text = s.help
        if s.choices:
            help_text += f" One of: {', '.join(map(str, s.choices))}."
        schema[s.name] = Field(
            SETTING_TYPES[s.type], default_value=s.default, is_required=False, description=help_text.strip()
        )
    return schema


def build_endpoint_asset(
    spec: EndpointSpec, catalog: Sequence[EndpointSpec] = (), sites: Sites | None = None
) -> AssetsDefinition:
    """The Dagster asset for one endpoint spec.

    ``catalog`` (all specs) lets site_info report which assets this token cannot run. With
    ``sites`` (a sites file), the asset is partitioned by site (site x day when time-partitioned)
    and each run loads one site (:mod:`moodle_assets.sites.runtime`).
    """
    if sites is not None:
        partitions_def = partitions_for_spec(spec, sites)
    else:
        partitions_def = partitions_for(spec.partition) if spec.partition else None
    key = asset_key(spec.name)

    extra: dict[str, Any] = {}
    if partitions_def is not None and sites is None:
        # One call covers a whole range of days, so a backfill is one run, not one per day.
        extra["backfill_policy"] = BackfillPolicy.single_run()

    with warnings.catch_warnings():
        # Dagster 1.13 marks backfill_policy beta and says so on every load of the definitions
        # (each CLI command, the UI, every run). The version is pinned and the policy tested
        # (tests/ui/test_graph_served.py), so the notice is only noise to users.
        warnings.simplefilter("ignore", BetaWarning)

        @asset(
            key=key,
            description=table_description(spec),
            group_name=spec.group,
            deps=[asset_key(d) for d in spec.upstream()],
            config_schema=config_schema(spec),
            partitions_def=partitions_def,
            pool=POOL,
            kinds={"moodle", "duckdb"},
            metadata={"moodle_function": spec.function, "dagster/table_name": spec.table, "spec_source": spec.source},
            check_specs=[
                AssetCheckSpec(
                    CHECK_NAME,
                    asset=key,
                    description="Share of fan-out items (courses, users, ...) Moodle refused is within moodle.max_failed_share.",
                ),
                *(
                    [
                        AssetCheckSpec(
                            FRESH_CHECK_NAME,
                            asset=key,
                            description=f"No item an incremental run kept was last read from Moodle more than "
                            f"{MAX_ITEM_AGE_DAYS} days ago: what no signal shows (a completion overridden, a badge "
                            "awarded by hand) is at most a week old.",
                        )
                    ]
                    if spec.incremental
                    else []
                ),
            ],
            **extra,
        )
        def _endpoint_asset(
            context: AssetExecutionContext, moodle: MoodleResource, warehouse: WarehouseResource
        ) -> MaterializeResult:
            return materialize_endpoint(spec, context, moodle, warehouse, catalog, sites)

    return _endpoint_asset


def materialize_endpoint(
    spec: EndpointSpec,
    context: AssetExecutionContext,
    moodle: MoodleResource,
    warehouse_res: WarehouseResource,
    catalog: Sequence[EndpointSpec] = (),
    sites: Sites | None = None,
) -> MaterializeResult:
    """Run the endpoint's pipeline with the run's config and partitions, and report it to Dagster."""
    partitions_def = context.assets_def.partitions_def
    has_partition = context.has_partition_key or context.has_partition_key_range
    if partitions_def is not None and not has_partition:
        if sites is not None:
            raise Failure(f"{spec.name}: {missing_site()}")
        raise Failure(missing_partition(spec, partitions_def))
    config = dict(context.op_execution_context.op_config or {})
    full_refresh = bool(config.pop(FULL_REFRESH, False))
    if ROTATE in config:  # this run's rotation, in place of the spec's
        rotate = int(config.pop(ROTATE))
        if rotate < 0:
            raise Failure(f"{spec.name}: rotate must be 0 (none) or a positive number of runs, not {rotate}.")
        spec = spec.model_copy(update={"incremental": spec.incremental.model_copy(update={"rotate": rotate or None})})
    warehouse, settings, site_run = warehouse_res.get(), moodle.client_settings, None
    if sites is not None:
        try:
            site_run = SiteRun.for_run(spec, context.partition_keys, sites, warehouse, moodle)
        except SiteRunError as exc:
            raise Failure(f"{spec.name}: {exc}") from None
        warehouse, settings, placer = site_run.warehouse, site_run.settings, site_run.placer
        if spec.partition is not None and site_run.before_calendar_start():
            return skipped_before_start(spec, site_run, context)
    else:
        placer = PartitionPlacer(partitions_def, context.partition_keys) if partitions_def is not None else None
    try:
        result = harvest_endpoint(
            spec,
            warehouse,
            settings,
            config=config,
            full_refresh=full_refresh,
            placer=placer,
            catalog=catalog,
            log=context.log.info,
            progress=lambda total, client: Progress(context, total, client),
        )
    except (HarvestError, SiteSettingsError) as exc:
        raise Failure(str(exc)) from None
    if site_run is not None:
        publish(spec, site_run, result, context)
    return report(spec, context, result, moodle.max_failed_share, catalog)


def skipped_before_start(spec: EndpointSpec, site_run: SiteRun, context: AssetExecutionContext) -> MaterializeResult:
    """A day before the site's calendar_start: nothing is read or replaced, and the log says why."""
    why = (
        f"{spec.name}: {', '.join(site_run.days)} is before site {site_run.site.name}'s calendar_start "
        f"({site_run.site.calendar_start}, moodle_sites.yaml): nothing loaded, nothing replaced"
    )
    context.log.info(why)
    checks = [AssetCheckResult(check_name=CHECK_NAME, asset_key=asset_key(spec.name), passed=True)]
    if spec.incremental:  # every check the asset declares gets its result
        checks.append(freshness_check(spec, 0.0))
    return MaterializeResult(metadata={"skipped": why, "dagster/row_count": 0}, check_results=checks)


def missing_site() -> str:
    return (
        "each run loads one site of moodle_sites.yaml: pick a site partition in the Materialize dialog or "
        "launch a backfill of sites (`dagster asset materialize ... --partition <site>`; for a calendar asset "
        "`--partition <site>|<day>`)"
    )


def publish(spec: EndpointSpec, site_run: SiteRun, result: HarvestResult, context: AssetExecutionContext) -> None:
    """The site's rows into the shared warehouse; a failure here fails the step, the site's file keeps the load."""
    column = result.target.partition_column if result.target.partition_column == PARTITION_COLUMN else None
    try:
        rows = site_run.publish(spec.table, column)
    except (WarehouseLockedError, PublishError) as exc:
        raise Failure(f"{spec.name}: publishing site {site_run.site.name}: {exc}") from None
    context.log.info(f"{spec.name}: {rows} rows of site {site_run.site.name} published to {site_run.shared.path}")


def missing_partition(spec: EndpointSpec, partitions_def: TimeWindowPartitionsDefinition) -> str:
    """Why a partitioned asset launched without a partition does not run, and how to launch one."""
    # The partition holding today (or the first, if today is before it): a key that exists, in its format.
    today = partitions_def.get_partition_key_for_timestamp(clock.now().timestamp())
    example = max(today, partitions_def.get_first_partition_key() or today)
    name = "/".join(asset_key(spec.name).path)
    return (
        f"{name} is partitioned ({spec.partition.type}): each run loads one partition or a range of them, "
        f"and this run has none. Pass a partition: `dagster asset materialize -m moodle_assets.definitions "
        f"--select {name} --partition {example}`, or for `dagster job execute` add "
        f"""`--tags '{{"dagster/partition": "{example}"}}'`; in the UI, pick a partition in the """
        f"Materialize dialog or launch a backfill of a range of partitions."
    )


def report(
    spec: EndpointSpec,
    context: AssetExecutionContext,
    result: HarvestResult,
    max_failed_share: float,
    catalog: Sequence[EndpointSpec] = (),
) -> MaterializeResult:
    """The load as Dagster metadata, and the asset check on the share of failed items."""
    outcome, stats, target, function, preview = (
        result.outcome,
        result.stats,
        result.target,
        result.function,
        result.preview,
    )
    # An incremental run re-reads every item that failed last time but keeps the good ones:
    # the share is of all the items the table covers, or two failures would look like 100 %.
    covered = outcome.items + int(target.meta.get("kept_items", 0))
    failed_share = len(outcome.errors) / covered if covered else 0.0
    metadata: dict[str, Any] = {
        "dagster/row_count": result.table_rows,
        "dagster/table_name": spec.table,
        "dagster/column_schema": TableSchema(
            columns=[
                TableColumn(name, type_, description=d)
                for name, type_, d in describe_columns(spec, result.columns, function, catalog)
            ]
        ),
        "rows_loaded": result.rows_loaded,
        "moodle_function": function or f"(from {KEY_PREFIX}.{spec.explode.asset})",
        "api_calls": stats["total_calls"],
        "calls_by_function": MetadataValue.json(stats["calls"]),
        "retries": stats["retries"],
        "items": outcome.items,
        "pages": outcome.pages,
        "failed_items": len(outcome.errors),
        "empty_items": outcome.empty_items,
        "empty_items_by_code": MetadataValue.json(outcome.empty_codes),
        "duration_s": round(result.seconds, 3),
        "preview": MetadataValue.md(preview_markdown(preview)),
    }
    if spec.metadata_path:
        metadata["warnings"] = MetadataValue.json(outcome.metadata[:50])
        metadata["warning_count"] = len(outcome.metadata)
    if outcome.duplicates_dropped:
        metadata["duplicates_dropped"] = outcome.duplicates_dropped
    if target.partition_column == PARTITION_COLUMN:
        metadata["partitions"] = len(target.partitions)
        metadata["records_outside_window"] = target.outside
    if "mode" in target.meta:
        metadata["refresh_mode"] = target.meta["mode"]
    if target.meta.get("oldest_verified_at") is not None:
        # How stale the table can be where no signal looks: the item read from Moodle longest ago.
        age = clock.now_ts() - target.meta["oldest_verified_at"]
        metadata["oldest_item_age_days"] = round(max(age, 0) / 86400, 2)
    for name in ("changed_items", "rotated_items", "kept_items"):
        if name in target.meta:
            metadata[name] = target.meta[name]
    if catalog and function == SITE_INFO_FUNCTION and preview:
        missing = unavailable(catalog, preview[0])
        metadata["functions_missing"] = MetadataValue.json(missing)
        metadata["assets_unavailable"] = len(missing)
        if missing:
            context.log.warning(
                f"This token cannot call {len(set(missing.values()))} function(s) the assets need: "
                + ", ".join(f"{fn} ({name})" for name, fn in sorted(missing.items()))
                + ". Add them to the token's external service."
            )
    if outcome.errors:
        metadata["failed_examples"] = MetadataValue.json(outcome.errors[:5])
        context.log.warning(
            f"{spec.name}: {len(outcome.errors)} of {outcome.items} items failed and are listed in "
            f"moodle._errors (first: {outcome.errors[0]['message']})"
        )
    check = AssetCheckResult(
        check_name=CHECK_NAME,
        asset_key=asset_key(spec.name),
        passed=failed_share <= max_failed_share,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "failed_items": len(outcome.errors),
            "items": covered,
            "failed_share": round(failed_share, 4),
            "max_failed_share": max_failed_share,
        },
    )
    checks = [check]
    if spec.incremental:
        checks.append(freshness_check(spec, metadata.get("oldest_item_age_days", 0.0)))
    return MaterializeResult(metadata=metadata, check_results=checks)


def freshness_check(spec: EndpointSpec, age_days: float) -> AssetCheckResult:
    """Warns when a kept item is older than a week: the weekly full refresh (or a rotation) is not running."""
    return AssetCheckResult(
        check_name=FRESH_CHECK_NAME,
        asset_key=asset_key(spec.name),
        passed=age_days <= MAX_ITEM_AGE_DAYS,
        severity=AssetCheckSeverity.WARN,
        description=None
        if age_days <= MAX_ITEM_AGE_DAYS
        else f"{spec.table} keeps items last read from Moodle {age_days:g} days ago; changes no signal shows "
        "(docs/incremental.md) may be missing. Run it with full_refresh: true, turn on the nightly_harvest "
        "schedule (it reads everything on Sundays), or set rotate in its run config.",
        metadata={"oldest_item_age_days": age_days, "max_item_age_days": MAX_ITEM_AGE_DAYS},
    )
