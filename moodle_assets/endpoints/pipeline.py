"""The harvest of one endpoint, from spec to table, with no Dagster in it.

:func:`harvest_endpoint` runs the steps in order, each a function of this module or of the
runner:

1. settings: run config applied to the spec (:func:`runner.resolve`);
2. inputs: lookup rows, the incremental plan and the stored site info, read in one short
   open of the warehouse (:func:`read_inputs`);
3. target and calls: the table, partitions or items the load replaces, and every call
   (:func:`runner.plan_calls`);
4. fetch: pages from Moodle with bounded concurrency, records extracted by data path
   (:func:`fetch`, :func:`runner.harvest`), or rows exploded from a parent table
   (:func:`explode_rows`);
5. stage: records on disk, placed in partitions (``with stage(...) as staged``);
6. load: one transaction replaces the table, partitions or items (:func:`load`).

It returns a :class:`HarvestResult` (rows, calls by function, pages, failed items, columns,
preview, ...); ``assets/factory.py`` turns it into Dagster metadata and checks. Whatever stops
the run is a :class:`HarvestError` whose message says what to do.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from moodle_assets import clock
from moodle_assets.common import KEY_PREFIX
from moodle_assets.endpoints import incremental
from moodle_assets.endpoints.availability import offered_functions
from moodle_assets.endpoints.columns import (
    PARTITION_COLUMN,
    TIME_SCHEMA,
    column_descriptions,
    declared_columns,
    table_description,
    unix_time_columns,
)
from moodle_assets.endpoints.runner import (
    ITEM_COLUMN,
    Call,
    EndpointFailure,
    HarvestOutcome,
    LookupQuery,
    Resolved,
    SettingsError,
    choose_function,
    harvest,
    lookup_queries,
    lookup_sql,
    plan_calls,
    resolve,
)
from moodle_assets.endpoints.spec import EndpointSpec
from moodle_assets.moodle import MoodleClient, MoodleError
from moodle_assets.moodle.settings import ClientSettings
from moodle_assets.warehouse import StagedRecords, TableNotes, Warehouse, WarehouseLockedError

NO_CALLS = {"total_calls": 0, "calls": {}, "retries": 0}


class HarvestError(RuntimeError):
    """The harvest cannot go on; the message says why and what to do."""


class Placer(Protocol):
    """Places records in the time partitions being loaded (``assets.partitions.PartitionPlacer``)."""

    keys: list[str]

    def key_for(self, timestamp: float | None) -> str | None: ...

    def window(self) -> tuple[datetime, datetime]: ...


Progress = Callable[[int, MoodleClient], Callable[[HarvestOutcome, int], None]]


@dataclass
class Target:
    """How a load is written: the whole table, or some partitions/items of it."""

    partition_column: str | None = None
    partitions: list[str] | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    outside: int = 0  # records outside every loaded partition window


@dataclass
class Inputs:
    """What the harvest reads from the warehouse before calling Moodle."""

    rows: list[dict] | None = None  # every lookup row (the items of a fan-out)
    item_columns: Sequence[str] | None = None  # an incremental fan-out's item key columns
    step: incremental.IncrementalPlan | None = None  # what an incremental run re-reads
    site: Mapping[str, Any] | None = None  # the stored site info's version and functions


@dataclass
class HarvestResult:
    """What one harvest did, for the caller to report."""

    function: str  # the function called ("" for an exploded endpoint)
    outcome: HarvestOutcome  # items, pages, records, failed and empty items, warnings
    stats: dict  # the client's calls: total_calls, calls (by function), retries
    target: Target
    table_rows: int  # rows in the table after the load
    rows_loaded: int  # rows this load wrote
    columns: dict[str, str]  # the table's columns and types
    preview: list[dict]  # the first staged rows
    seconds: float


@contextlib.contextmanager
def locked_is_failure(spec: EndpointSpec) -> Iterator[None]:
    """Another process holding the DuckDB file is the user's to fix: say so as the run's failure."""
    try:
        yield
    except WarehouseLockedError as exc:
        raise HarvestError(f"{spec.name}: {exc}") from None


def held(warehouse: Warehouse):
    """Keep the database file open across several short reads (each would reopen it)."""
    if not os.path.isfile(warehouse.path):
        return contextlib.nullcontext()
    return warehouse.connect(read_only=True)


def read_lookup_rows(warehouse: Warehouse, query: LookupQuery) -> list[dict]:
    """Rows a fan-out walks: one column set of an upstream table, or a lookup query."""
    if query.sql is None and len(query.columns) == 1 and set(query.equals) == set(query.columns):
        # "course_id: 5" needs no table: the one value is the fan-out.
        return [dict(query.equals)]
    if query.sql is None:
        table = f"{KEY_PREFIX}.{query.asset}"
        if not warehouse.table_exists(table):
            raise HarvestError(
                f"Table {table} does not exist yet: materialise asset {KEY_PREFIX}/{query.asset} first "
                "(or select it together with this asset)."
            )
        present = {row[0] for row in warehouse.query(f"DESCRIBE {table}")}
        missing = [c for c in query.columns if c not in present]
        if missing:
            if warehouse.query(f"SELECT count(*) FROM {table}")[0][0] == 0:
                return []  # an empty upstream table: nothing to fan out over
            raise HarvestError(
                f"Table {table} has no column {', '.join(missing)}; its columns are {', '.join(sorted(present))}."
            )
    try:
        return warehouse.query_dicts(*lookup_sql(query))
    except Exception as exc:  # a lookup query is user SQL: say where it came from
        raise HarvestError(f"The lookup for {query.asset} failed in DuckDB: {exc}") from None


def read_inputs(spec: EndpointSpec, resolved: Resolved, warehouse: Warehouse, full_refresh: bool, now, log) -> Inputs:
    """Lookup rows, the incremental plan and site info, in one open of the file."""
    inputs, moment = Inputs(), int(now.timestamp())
    with locked_is_failure(spec), held(warehouse):
        for query in lookup_queries(resolved):
            inputs.rows = read_lookup_rows(warehouse, query)
            if spec.incremental:
                inputs.item_columns = query.columns
        if inputs.item_columns is not None and not full_refresh:
            try:
                inputs.step = incremental.plan(spec, warehouse, inputs.rows, inputs.item_columns, moment, log)
            except incremental.ChangedQueryError as exc:
                raise HarvestError(str(exc)) from None
        if warehouse.table_exists("moodle.site_info"):  # the version and functions, read once stored
            inputs.site = (warehouse.query_dicts("SELECT version, functions FROM moodle.site_info") or [None])[0]
    return inputs


def plan_target(
    spec: EndpointSpec, inputs: Inputs, placer: Placer | None, now: datetime, log: Callable[[str], None]
) -> tuple[Target, list[dict] | None]:
    """What the load replaces, and the lookup rows to fetch (an incremental run's few)."""
    target = Target(PARTITION_COLUMN, placer.keys) if placer is not None else Target()
    if inputs.item_columns is None:
        return target, inputs.rows
    target.meta["cutoff"] = int(now.timestamp()) - incremental.CUTOFF_MARGIN_SECONDS
    target.meta["mode"] = "full"
    step = inputs.step
    if step is None:
        target.meta["oldest_verified_at"] = int(now.timestamp())
        return target, inputs.rows
    log(
        f"{spec.name}: incremental since {datetime.fromtimestamp(step.cutoff, UTC):%Y-%m-%d %H:%M} UTC: "
        + step.summary()
    )
    meta = {**target.meta, "mode": "incremental", "oldest_verified_at": step.oldest_verified}
    meta.update(changed_items=step.changed, rotated_items=step.rotated, kept_items=step.kept)
    return Target(ITEM_COLUMN, step.replace, meta), step.rows


def stage(spec: EndpointSpec, target: Target, inputs: Inputs, catalog: Sequence[EndpointSpec]) -> StagedRecords:
    """Staging on disk with every declared column; use as ``with stage(...) as staged``."""
    declared = declared_columns(spec, catalog)  # every field the function declares, on any release, typed
    if target.partition_column:
        declared[target.partition_column] = "VARCHAR"
    if inputs.item_columns is not None:
        declared[ITEM_COLUMN] = "VARCHAR"
    return StagedRecords(columns=declared)


@dataclass
class PartitionSink:
    """Hands each call's records to staging, placed in the partitions being loaded."""

    spec: EndpointSpec
    staged: StagedRecords
    target: Target
    placer: Placer | None

    def __call__(self, records: list[dict], context: Mapping[str, Any]) -> None:
        placer, field_name = self.placer, self.spec.partition.field if self.spec.partition else None
        if placer is not None:
            kept = []
            for record in records:
                key = placer.key_for(record.get(field_name)) if field_name else placer.keys[0]
                if key is None:
                    self.target.outside += 1
                    continue
                record[PARTITION_COLUMN] = key
                kept.append(record)
            records = kept
        self.staged.add(records, context)


async def fetch(
    spec: EndpointSpec,
    resolved: Resolved,
    calls: list[Call],
    sink: PartitionSink,
    settings: ClientSettings,
    site: Mapping[str, Any] | None,
    log: Callable[[str], None],
    progress: Progress | None,
) -> tuple[str, HarvestOutcome, dict]:
    """Every call's pages from Moodle (after choosing among the spec's alternatives)."""
    async with MoodleClient(settings) as client:
        if site:  # tells a function the site lacks from an item it lacks (Moodle 5.0)
            client.site_functions = frozenset(offered_functions(site))
        if spec.alternatives:
            info = site or await client.call("core_webservice_get_site_info")
            resolved = replace(resolved, function=choose_function(spec, info))
            log(f"{spec.name}: calling {resolved.function} (site version {info.get('version')})")
        outcome = await harvest(resolved, client, calls, sink, progress(len(calls), client) if progress else None)
        return resolved.function, outcome, client.stats.as_dict()


def explode_rows(spec: EndpointSpec, warehouse: Warehouse, staged: StagedRecords) -> tuple[HarvestOutcome, dict]:
    """Stage one row per element of a JSON list column of the parent table, with its keys."""
    ex = spec.explode
    table = f"{KEY_PREFIX}.{ex.asset}"
    if not warehouse.table_exists(table):
        raise HarvestError(f"Table {table} does not exist yet: materialise asset {KEY_PREFIX}/{ex.asset} first.")
    present = {row[0] for row in warehouse.query(f"DESCRIBE {table}")}
    outcome = HarvestOutcome()
    absent = [c for c in (ex.column, *ex.keys.values()) if c not in present]
    if absent:
        if warehouse.query(f"SELECT count(*) FROM {table}")[0][0] == 0:
            # An empty parent has only its declared columns: there is nothing to explode.
            return outcome, dict(NO_CALLS)
        raise HarvestError(
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
    return outcome, dict(NO_CALLS)


def table_notes(
    spec: EndpointSpec, columns: Sequence[str], function: str, catalog: Sequence[EndpointSpec] = ()
) -> TableNotes:
    """The DuckDB comments of an endpoint's table and its view in ``moodle_t`` with unix times as
    timestamps, written by the load that fills it."""
    name = spec.table.partition(".")[2]
    return TableNotes(
        description=table_description(spec, function),
        columns=column_descriptions(spec, [*columns, "_loaded_at"], function, catalog),
        epoch_columns=unix_time_columns(spec, catalog, function),
        epoch_view=f"{TIME_SCHEMA}.{name}",
    )


def load(
    spec: EndpointSpec,
    warehouse: Warehouse,
    staged: StagedRecords,
    outcome: HarvestOutcome,
    function: str,
    target: Target,
    catalog: Sequence[EndpointSpec] = (),
):
    """Replace the table (or partitions, or items) in one transaction; None when nothing is replaced."""
    meta_json, notes = dict(target.meta), table_notes(spec, list(staged.columns), function, catalog)
    if spec.metadata_path:
        meta_json["warnings"] = outcome.metadata[:1000]
    if target.partition_column and target.partitions:
        return warehouse.replace_partitions(
            spec.table,
            staged,
            partition_column=target.partition_column,
            partitions=target.partitions,
            errors=outcome.errors,
            meta=meta_json,
            notes=notes,
        )
    if target.partition_column:
        return None  # an incremental run with nothing to re-read: the table stays as it is
    return warehouse.replace_table(spec.table, staged, errors=outcome.errors, meta=meta_json, notes=notes)


def harvest_endpoint(
    spec: EndpointSpec,
    warehouse: Warehouse,
    client_settings: Callable[[], ClientSettings],
    *,
    config: Mapping[str, Any] | None = None,
    full_refresh: bool = False,
    placer: Placer | None = None,
    catalog: Sequence[EndpointSpec] = (),
    log: Callable[[str], None] = lambda message: None,
    progress: Progress | None = None,
) -> HarvestResult:
    """Harvest one endpoint into its table: settings -> lookup rows -> calls -> pages -> stage -> load."""
    started = time.perf_counter()
    try:
        resolved = resolve(spec, config)
    except SettingsError as exc:
        raise HarvestError(str(exc)) from None
    now = clock.now()  # the site's moment for macros and the incremental cut-off
    inputs = read_inputs(spec, resolved, warehouse, full_refresh, now, log)
    target, fetch_rows = plan_target(spec, inputs, placer, now, log)
    window = placer.window() if placer is not None else None
    calls = list(plan_calls(resolved, fetch_rows, now, window, inputs.item_columns))

    function = resolved.function
    with locked_is_failure(spec), stage(spec, target, inputs, catalog) as staged:
        if spec.explode:
            outcome, stats = explode_rows(spec, warehouse, staged)
        else:
            try:
                settings = client_settings()
            except ValueError as exc:  # e.g. an empty or schemeless MOODLE_URL
                raise HarvestError(f"{spec.name}: {exc}") from None
            sink = PartitionSink(spec, staged, target, placer)
            try:
                function, outcome, stats = asyncio.run(
                    fetch(spec, resolved, calls, sink, settings, inputs.site, log, progress)
                )
            except (MoodleError, EndpointFailure) as exc:
                raise HarvestError(f"{spec.name}: {exc}") from None
        loaded = load(spec, warehouse, staged, outcome, function, target, catalog)
        preview = staged.preview(5)
    with locked_is_failure(spec), held(warehouse):
        table_rows = warehouse.query(f"SELECT count(*) FROM {spec.table}")[0][0]
        columns = loaded.columns if loaded else {r[0]: r[1] for r in warehouse.query(f"DESCRIBE {spec.table}")}
    if inputs.item_columns is not None:
        read = fetch_rows if inputs.step is not None else None
        incremental.remember_items(warehouse, spec.table, inputs.rows or [], inputs.item_columns, now, read, outcome)
        if inputs.step is not None:  # a full read holds Moodle's values already
            with locked_is_failure(spec):
                try:
                    incremental.follow(spec, warehouse, log)
                except incremental.ChangedQueryError as exc:
                    raise HarvestError(str(exc)) from None
    return HarvestResult(
        function=function,
        outcome=outcome,
        stats=stats,
        target=target,
        table_rows=table_rows,
        rows_loaded=loaded.row_count if loaded else 0,
        columns=columns,
        preview=preview,
        seconds=time.perf_counter() - started,
    )
