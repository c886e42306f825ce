"""Turn an analytics :class:`~.models.Model` into a Dagster asset that builds its table.

The asset reads nothing into Python: DuckDB runs the model's SELECT and
``Warehouse.create_table_as`` swaps the table in one transaction, so a failed model leaves
yesterday's table in place. Lineage comes from ``deps`` on the raw assets the SQL reads.
"""

import time
from collections.abc import Mapping
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    Failure,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableSchema,
    asset,
)

from moodle_assets.assets.resources import WarehouseResource
from moodle_assets.common import KEY_PREFIX, preview_markdown
from moodle_assets.warehouse import TableNotes

from .models import SCHEMA, Model
from .settings import AnalyticsSettings
from .sources import last_build, missing_tables, resolve_sources, tables_built_without

GROUP = "analytics"
RAW_PREFIX = KEY_PREFIX
LOADED_AT = "When this table was built (UTC); the now it measured from is in its moodle._loads row."


def column_notes(model: Model) -> dict[str, str]:
    """Each column's description, the build time included."""
    return {**model.columns, "_loaded_at": LOADED_AT}


def model_key(name: str) -> AssetKey:
    return AssetKey([SCHEMA, name])


def column_schema(model: Model, types: dict[str, str]) -> TableSchema:
    """The table's columns with their DuckDB types and the model's descriptions."""
    return TableSchema(
        columns=[
            TableColumn(name, types.get(name, "unknown"), description=column_notes(model).get(name))
            for name in [*[c for c in model.columns if c in types], *[c for c in types if c not in model.columns]]
        ]
    )


def sources_problem(model: Model, absent: list[str], inherited: Mapping[str, list[str]]) -> str:
    """What a build lacked and what to do: "built without moodle.X: materialise moodle/X, then ..."."""
    lacked = sorted({*absent, *(t for tables in inherited.values() for t in tables)})
    parts = []
    if absent:
        parts.append(f"built without {', '.join(absent)} (never materialised)")
    for upstream, tables in inherited.items():
        parts.append(f"built from {upstream}, which was built without {', '.join(tables)}")
    assets = ", ".join(t.replace(".", "/", 1) for t in lacked)
    rebuild = [u.replace(".", "/", 1) for u in inherited] + [f"{SCHEMA}/{model.name}"]
    return (
        "; ".join(parts) + ": its figures from those tables are zeros and NULLs that mean 'not loaded'. "
        f"Materialise {assets}, then re-materialise {', '.join(rebuild)}."
    )


def build_model_asset(model: Model, sites: Any = None) -> AssetsDefinition:
    """The asset ``analytics/<name>`` that (re)builds table ``analytics.<name>``.

    With ``sites`` (a sites file's), it is partitioned by site: each run builds the model in
    that site's own file and publishes its rows, with ``site``, to the shared warehouse
    (:mod:`moodle_assets.sites.analytics`).
    """
    from moodle_assets.sites.partitions import site_partitions

    @asset(
        partitions_def=site_partitions(sites) if sites is not None else None,
        key=model_key(model.name),
        description=model.description,
        group_name=GROUP,
        deps=[AssetKey([RAW_PREFIX, r]) for r in model.reads] + [model_key(u) for u in model.upstream],
        kinds={"duckdb", "sql"},
        metadata={"dagster/table_name": model.table, "sql_file": f"moodle_assets/analytics/sql/{model.name}.sql"},
    )
    def _model_asset(
        context: AssetExecutionContext, warehouse: WarehouseResource, analytics: AnalyticsSettings
    ) -> MaterializeResult:
        if sites is not None:
            from moodle_assets.sites.analytics import materialize_site_model

            return materialize_site_model(model, context, warehouse, analytics, sites)
        return materialize_model(model, context, warehouse, analytics)

    return _model_asset


def materialize_model(
    model: Model, context: AssetExecutionContext, warehouse_res: WarehouseResource, settings: AnalyticsSettings
) -> MaterializeResult:
    started = time.perf_counter()
    warehouse = warehouse_res.get()
    for upstream in model.upstream:
        if not warehouse.table_exists(f"{SCHEMA}.{upstream}"):
            raise Failure(
                f"Table {SCHEMA}.{upstream} does not exist yet: materialise asset "
                f"{SCHEMA}/{upstream} first (or select it together with {SCHEMA}/{model.name})."
            )
    now = settings.now_ts()
    sql, missing = resolve_sources(model.sql, warehouse)
    absent = missing_tables(missing)
    # What the analytics tables this model reads were built without, so the gap travels downstream.
    inherited = {
        f"{SCHEMA}.{u}": lacked
        for u in model.upstream
        if (lacked := tables_built_without(last_build(warehouse, f"{SCHEMA}.{u}")))
    }
    if absent or inherited:
        context.log.warning(f"{model.name}: {sources_problem(model, absent, inherited)}")
    columns_absent = {t: cols for t, cols in missing.items() if cols != ["*"]}
    if columns_absent:
        context.log.info(
            f"{model.name}: Moodle returned no "
            + "; ".join(f"moodle.{t}.{', '.join(cols)}" for t, cols in columns_absent.items())
            + " (nothing of that kind on the site yet); those figures are zero or NULL."
        )
    params = settings.params_for(sql, now)
    meta = {"params": params, "missing": missing, "missing_tables": absent, "upstream_missing": inherited}
    result = warehouse.create_table_as(
        model.table, sql, params, meta=meta, notes=TableNotes(model.description, column_notes(model))
    )
    preview = warehouse.query_dicts(f"SELECT * EXCLUDE (_loaded_at) FROM {model.table} LIMIT 5")
    extra = {}
    if absent or inherited:
        extra["missing_tables"] = MetadataValue.md(sources_problem(model, absent, inherited))
    return MaterializeResult(
        metadata={
            **extra,
            "dagster/row_count": result.row_count,
            "dagster/table_name": model.table,
            "dagster/column_schema": column_schema(model, result.columns),
            "now": MetadataValue.timestamp(float(now)),
            "parameters": MetadataValue.json(params),
            "missing_sources": MetadataValue.json(missing),
            "duration_s": round(time.perf_counter() - started, 3),
            "preview": MetadataValue.md(
                preview_markdown(preview, width=32, hide_private=False, none="", ensure_ascii=True)
            ),
        }
    )
