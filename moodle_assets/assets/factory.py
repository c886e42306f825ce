"""Turn an endpoint spec into a Dagster asset.

One factory for every endpoint, built-in or user-defined: the asset reads its lookup values
from DuckDB, fetches everything from Moodle with no database connection held, stages the
records on disk, then replaces its table (or its partitions) in one short transaction and
reports what it did as metadata.
"""


import asyncio
import contextlib
import json
import os
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Mapping, Sequence

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    BackfillPolicy,
    Failure,
    Field,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableSchema,
    asset,
)

from moodle_assets import clock
from moodle_assets.assets import incremental
from moodle_assets.assets.partitions import PartitionPlacer, partitions_for
from moodle_assets.assets.reporting import (
    PARTITION_COLUMN, Progress, declared_columns, describe_columns, preview_markdown, table_description, table_notes,
)
from moodle_assets.assets.resources import MoodleResource, WarehouseResource
from moodle_assets.endpoints.availability import SITE_INFO_FUNCTION, offered_functions, unavailable
from moodle_assets.endpoints.runner import (
    ITEM_COLUMN,
    EndpointFailure,
    HarvestOutcome,
    choose_function,
    LookupQuery,
    SettingsError,
    harvest,
    lookup_queries,
    lookup_sql,
    plan_calls,
    resolve,
)
from moodle_assets.endpoints.spec import SETTING_TYPES, EndpointSpec
from moodle_assets.moodle import MoodleClient, MoodleError
from moodle_assets.warehouse import StagedRecords, Warehouse, WarehouseLockedError

KEY_PREFIX = "moodle"
POOL = "moodle_api"
CHECK_NAME = "failed_items"
FULL_REFRESH = "full_refresh"


def asset_key(name: str) -> AssetKey:
    return AssetKey([KEY_PREFIX, name])


def config_schema(spec: EndpointSpec) -> dict[str, Field]:
    """Template settings as typed run config, shown with their defaults in the Launchpad."""
    schema = {}
    if spec.incremental:
        schema[FULL_REFRESH] = Field(
            bool, default_value=False, is_required=False,
            description="Re-read every item instead of only those that may have changed since the last load.",
        )
    for s in spec.settings.values():
        help_text = s.help
        if s.choices:
            help_text += f" One of: {', '.join(map(str, s.choices))}."
        schema[s.name] = Field(
            SETTING_TYPES[s.type], default_value=s.default, is_required=False, description=help_text.strip()
        )
    return schema


def read_lookup_rows(warehouse: Warehouse, query: LookupQuery) -> list[dict]:
    """Rows a fan-out walks: one column set of an upstream table, or a lookup query."""
    if query.sql is None and len(query.columns) == 1 and set(query.equals) == set(query.columns):
        # "course_id: 5" needs no table: the one value is the fan-out.
        return [dict(query.equals)]
    if query.sql is None:
        table = f"{KEY_PREFIX}.{query.asset}"
        if not warehouse.table_exists(table):
            raise Failure(
                f"Table {table} does not exist yet: materialise asset {KEY_PREFIX}/{query.asset} first "
                "(or select it together with this asset)."
            )
        present = {row[0] for row in warehouse.query(f"DESCRIBE {table}")}
        missing = [c for c in query.columns if c not in present]
        if missing:
            if warehouse.query(f"SELECT count(*) FROM {table}")[0][0] == 0:
                return []  # an empty upstream table: nothing to fan out over
            raise Failure(
                f"Table {table} has no column {', '.join(missing)}; its columns are {', '.join(sorted(present))}."
            )
    try:
        return warehouse.query_dicts(*lookup_sql(query))
    except Exception as exc:  # a lookup query is user SQL: say where it came from
        raise Failure(f"The lookup for {query.asset} failed in DuckDB: {exc}") from None


def build_endpoint_asset(spec: EndpointSpec, catalog: Sequence[EndpointSpec] = ()) -> AssetsDefinition:
    """The Dagster asset for one endpoint spec.

    ``catalog`` (all specs) lets site_info report which assets this token cannot run.
    """
    partitions_def = partitions_for(spec.partition) if spec.partition else None
    key = asset_key(spec.name)

    extra: dict[str, Any] = {}
    if partitions_def is not None:
        # One call covers a whole range of days, so a backfill is one run, not one per day.
        extra["backfill_policy"] = BackfillPolicy.single_run()

    @asset(
        key=key,
        description=table_description(spec),
        group_name=spec.group,
        deps=[asset_key(d) for d in spec.upstream()],
        config_schema=config_schema(spec),
        partitions_def=partitions_def,
        pool=POOL,
        kinds={"moodle", "duckdb"},
        metadata={
            "moodle_function": spec.function,
            "dagster/table_name": spec.table,
            "spec_source": spec.source,
        },
        check_specs=[
            AssetCheckSpec(
                CHECK_NAME, asset=key,
                description="Share of fan-out items (courses, users, ...) Moodle refused is within moodle.max_failed_share.",
            )
        ],
        **extra,
    )
    def _endpoint_asset(
        context: AssetExecutionContext, moodle: MoodleResource, warehouse: WarehouseResource
    ) -> MaterializeResult:
        return materialize_endpoint(spec, context, moodle, warehouse, catalog)

    return _endpoint_asset


@contextlib.contextmanager
def _locked_is_failure(spec: EndpointSpec):
    """Another process holding the DuckDB file is the user's to fix: say so as the run's failure."""
    try:
        yield
    except WarehouseLockedError as exc:
        raise Failure(f"{spec.name}: {exc}") from None


def _held(warehouse: Warehouse):
    """Keep the database file open across several short reads (each would reopen it)."""
    if not os.path.isfile(warehouse.path):
        return contextlib.nullcontext()
    return warehouse.connect(read_only=True)


@dataclass
class _Target:
    """How a load is written: the whole table, or some partitions/items of it."""

    partition_column: str | None = None
    partitions: list[str] | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    outside: int = 0  # records outside every loaded partition window


def materialize_endpoint(
    spec: EndpointSpec, context: AssetExecutionContext, moodle: MoodleResource, warehouse_res: WarehouseResource,
    catalog: Sequence[EndpointSpec] = (),
) -> MaterializeResult:
    started = time.perf_counter()
    config = dict(context.op_execution_context.op_config or {})
    full_refresh = bool(config.pop(FULL_REFRESH, False))
    try:
        resolved = resolve(spec, config)
    except SettingsError as exc:
        raise Failure(str(exc)) from None
    warehouse = warehouse_res.get()
    now = clock.now()  # the site's moment for macros and the incremental cut-off
    target = _Target()

    placer = None
    window = None
    if context.assets_def.partitions_def is not None and (context.has_partition_key or context.has_partition_key_range):
        placer = PartitionPlacer(context.assets_def.partitions_def, context.partition_keys)
        window = placer.window()
        target = _Target(PARTITION_COLUMN, placer.keys)

    rows, item_columns, step, site = None, None, None, None
    with _locked_is_failure(spec), _held(warehouse):  # one open of the file for every read before the fetch
        for query in lookup_queries(resolved):
            rows = read_lookup_rows(warehouse, query)
            if spec.incremental:
                item_columns = query.columns
        if item_columns is not None and not full_refresh:
            step = incremental.plan(spec, warehouse, rows, item_columns)
        if warehouse.table_exists("moodle.site_info"):  # the version and functions, read once stored
            site = (warehouse.query_dicts("SELECT version, functions FROM moodle.site_info") or [None])[0]
    fetch_rows = rows
    if item_columns is not None:
        target.meta["cutoff"] = int(now.timestamp()) - incremental.CUTOFF_MARGIN_SECONDS
        target.meta["mode"] = "full"
        if step is not None:
            fetch_rows = step.rows
            target = _Target(ITEM_COLUMN, step.replace, {**target.meta, "mode": "incremental"})
            context.log.info(
                f"{spec.name}: incremental since {datetime.fromtimestamp(step.cutoff, timezone.utc):%Y-%m-%d %H:%M} UTC: "
                f"{len(step.rows)} items to read, {step.kept} kept, {step.gone} gone"
            )
    calls = list(plan_calls(resolved, fetch_rows, now, window, item_columns))

    declared = declared_columns(spec, catalog)  # every field the function declares, on any release, typed
    if target.partition_column:
        declared[target.partition_column] = "VARCHAR"
    if item_columns is not None:
        declared[ITEM_COLUMN] = "VARCHAR"
    staged = StagedRecords(columns=declared)

    def sink(records: list[dict], ctx: Mapping[str, Any]) -> None:
        if placer is not None:
            kept = []
            for record in records:
                key = placer.key_for(record.get(spec.partition.field)) if spec.partition.field else placer.keys[0]
                if key is None:
                    target.outside += 1
                    continue
                record[PARTITION_COLUMN] = key
                kept.append(record)
            records = kept
        staged.add(records, ctx)

    if spec.explode:
        outcome, stats = explode_rows(spec, warehouse, staged)
        return _load_and_report(spec, context, moodle, warehouse, staged, outcome, stats, resolved.function,
                                target, started, catalog)

    try:
        client_settings = moodle.client_settings()
    except ValueError as exc:  # e.g. an empty or schemeless MOODLE_URL
        staged.close()
        raise Failure(f"{spec.name}: {exc}") from None

    async def run() -> tuple[HarvestOutcome, dict]:
        nonlocal resolved
        async with MoodleClient(client_settings) as client:
            if site:  # tells a function the site lacks from an item it lacks (Moodle 5.0)
                client.site_functions = frozenset(offered_functions(site))
            if spec.alternatives:
                info = site or await client.call("core_webservice_get_site_info")
                resolved = replace(resolved, function=choose_function(spec, info))
                context.log.info(f"{spec.name}: calling {resolved.function} (site version {info.get('version')})")
            progress = Progress(context, len(calls), client)
            outcome = await harvest(resolved, client, calls, sink, progress)
            return outcome, client.stats.as_dict()

    try:
        outcome, stats = asyncio.run(run())
    except (MoodleError, EndpointFailure) as exc:
        staged.close()
        raise Failure(f"{spec.name}: {exc}") from None
    with _locked_is_failure(spec):
        result = _load_and_report(spec, context, moodle, warehouse, staged, outcome, stats, resolved.function,
                                  target, started, catalog)
    if item_columns is not None:
        incremental.remember_items(warehouse, spec.table, rows or [], item_columns)
    return result


def explode_rows(spec: EndpointSpec, warehouse: Warehouse, staged: StagedRecords) -> tuple[HarvestOutcome, dict]:
    """Stage one row per element of a JSON list column of the parent table, with its keys."""
    ex = spec.explode
    table = f"{KEY_PREFIX}.{ex.asset}"
    if not warehouse.table_exists(table):
        raise Failure(f"Table {table} does not exist yet: materialise asset {KEY_PREFIX}/{ex.asset} first.")
    present = {row[0] for row in warehouse.query(f"DESCRIBE {table}")}
    outcome = HarvestOutcome()
    absent = [c for c in (ex.column, *ex.keys.values()) if c not in present]
    if absent:
        if warehouse.query(f"SELECT count(*) FROM {table}")[0][0] == 0:
            # An empty parent has only its declared columns: there is nothing to explode.
            return outcome, {"total_calls": 0, "calls": {}, "retries": 0}
        raise Failure(
            f"{spec.name}: table {table} has no column {', '.join(map(repr, absent))} to explode "
            f"(its columns: {', '.join(sorted(present))}). Check 'explode' in the endpoint spec, or "
            f"re-materialise asset {KEY_PREFIX}/{ex.asset} if its endpoint now returns the column."
        )
    keys = ", ".join(f'"{parent}" AS "{col}"' for col, parent in ex.keys.items())
    for row in warehouse.query_dicts(f'SELECT {keys}{", " if keys else ""}"{ex.column}" AS _items FROM {table}'):
        outcome.items += 1
        items = row.pop("_items")
        items = json.loads(items) if isinstance(items, str) else items
        records = [item if isinstance(item, dict) else {spec.scalar_column or "value": item} for item in items or []]
        staged.add(records, row)
        outcome.records += len(records)
    return outcome, {"total_calls": 0, "calls": {}, "retries": 0}


def _load_and_report(
    spec: EndpointSpec, context: AssetExecutionContext, moodle: MoodleResource, warehouse: Warehouse,
    staged: StagedRecords, outcome: HarvestOutcome, stats: dict, function: str,
    target: _Target, started: float, catalog: Sequence[EndpointSpec] = (),
) -> MaterializeResult:
    """Replace the table (or partitions, or items) in one transaction and describe the load."""
    meta_json, notes = dict(target.meta), table_notes(spec, list(staged.columns), function, catalog)
    if spec.metadata_path:
        meta_json["warnings"] = outcome.metadata[:1000]
    try:
        if target.partition_column and target.partitions:
            result = warehouse.replace_partitions(
                spec.table, staged, partition_column=target.partition_column, partitions=target.partitions,
                errors=outcome.errors, meta=meta_json, notes=notes,
            )
        elif target.partition_column:
            result = None  # an incremental run with nothing to re-read: the table stays as it is
        else:
            result = warehouse.replace_table(spec.table, staged, errors=outcome.errors, meta=meta_json, notes=notes)
        preview = staged.preview(5)
    finally:
        staged.close()
    with _held(warehouse):
        table_rows = warehouse.query(f"SELECT count(*) FROM {spec.table}")[0][0]
        columns = result.columns if result else {r[0]: r[1] for r in warehouse.query(f"DESCRIBE {spec.table}")}

    failed_share = len(outcome.errors) / outcome.items if outcome.items else 0.0
    metadata: dict[str, Any] = {
        "dagster/row_count": table_rows,
        "dagster/table_name": spec.table,
        "dagster/column_schema": TableSchema(
            columns=[TableColumn(name, type_, description=d) for name, type_, d in describe_columns(spec, columns, function, catalog)]
        ),
        "rows_loaded": result.row_count if result else 0,
        "moodle_function": function or f"(from {KEY_PREFIX}.{spec.explode.asset})",
        "api_calls": stats["total_calls"],
        "calls_by_function": MetadataValue.json(stats["calls"]),
        "retries": stats["retries"],
        "items": outcome.items,
        "pages": outcome.pages,
        "failed_items": len(outcome.errors),
        "empty_items": outcome.empty_items,
        "empty_items_by_code": MetadataValue.json(outcome.empty_codes),
        "duration_s": round(time.perf_counter() - started, 3),
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
        passed=failed_share <= moodle.max_failed_share,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "failed_items": len(outcome.errors),
            "items": outcome.items,
            "failed_share": round(failed_share, 4),
            "max_failed_share": moodle.max_failed_share,
        },
    )
    return MaterializeResult(metadata=metadata, check_results=[check])
