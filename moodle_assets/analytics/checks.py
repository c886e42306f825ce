"""Asset checks on the analytics tables: the invariants every model promises.

Each check is one COUNT over the finished table, so it can be re-run on its own from the UI
after a manual fix. Keys must be unique (blocking: downstream models and the dashboard
would double count), rates must lie in [0, 1], and every row's course must be a course of
``moodle.courses`` (a warning: it means raw tables were loaded from different runs).
``raw_tables_loaded`` (an error) reads the table's last build in ``moodle._loads``: a model
built while a raw table it reads (or one its upstream models read) was never materialised
has zeros that mean "not loaded"; the check names the tables and the assets to materialise.
"""

from dagster import AssetCheckResult, AssetChecksDefinition, AssetCheckSeverity, asset_check

from moodle_assets.assets.resources import WarehouseResource
from moodle_assets.warehouse.sql import quote

from .factory import model_key, sources_problem
from .models import Model
from .sources import last_build, missing_tables

SITE_COLUMN = "site"


def _missing(model: Model) -> AssetCheckResult:
    return AssetCheckResult(passed=False, metadata={"reason": f"{model.table} does not exist yet"})


def _has_site(wh, table: str) -> bool:
    """A table of the shared warehouse of several sites: ``site`` is part of every key."""
    return SITE_COLUMN in {r[0] for r in wh.query(f"DESCRIBE {table}")}


def keys_unique_check(model: Model) -> AssetChecksDefinition:
    @asset_check(
        asset=model_key(model.name),
        name="keys_unique",
        blocking=True,
        description=f"({', '.join(model.key)}) identifies one row of {model.table}.",
    )
    def _check(warehouse: WarehouseResource) -> AssetCheckResult:
        wh = warehouse.get()
        if not wh.table_exists(model.table):
            return _missing(model)
        keys = ", ".join(quote(k) for k in ([SITE_COLUMN] if _has_site(wh, model.table) else []) + list(model.key))
        [(duplicates, nulls)] = wh.query(
            f"SELECT (SELECT count(*) FROM (SELECT {keys} FROM {model.table} GROUP BY ALL HAVING count(*) > 1)), "
            f"(SELECT count(*) FROM {model.table} WHERE " + " OR ".join(f"{quote(k)} IS NULL" for k in model.key) + ")"
        )
        return AssetCheckResult(
            passed=duplicates == 0 and nulls == 0, metadata={"duplicate_keys": duplicates, "null_keys": nulls}
        )

    return _check


def rates_in_range_check(model: Model) -> AssetChecksDefinition:
    @asset_check(
        asset=model_key(model.name),
        name="rates_between_0_and_1",
        description=f"{', '.join(model.rates)} lie between 0 and 1 (or are NULL).",
    )
    def _check(warehouse: WarehouseResource) -> AssetCheckResult:
        wh = warehouse.get()
        if not wh.table_exists(model.table):
            return _missing(model)
        metadata = {}
        bad = 0
        for column in model.rates:
            [(outside, low, high)] = wh.query(
                f"SELECT count(*) FILTER (WHERE NOT ({quote(column)} BETWEEN 0 AND 1)), "
                f"min({quote(column)}), max({quote(column)}) FROM {model.table}"
            )
            bad += outside
            metadata[f"{column}_outside"] = outside
            metadata[f"{column}_min"] = float(low) if low is not None else None
            metadata[f"{column}_max"] = float(high) if high is not None else None
        return AssetCheckResult(passed=bad == 0, metadata={k: v for k, v in metadata.items() if v is not None})

    return _check


def courses_exist_check(model: Model) -> AssetChecksDefinition:
    column = quote(model.course_column)

    @asset_check(
        asset=model_key(model.name),
        name="courses_exist",
        description=f"Every {model.course_column} of {model.table} is a course of moodle.courses.",
    )
    def _check(warehouse: WarehouseResource) -> AssetCheckResult:
        wh = warehouse.get()
        if not wh.table_exists(model.table):
            return _missing(model)
        if not wh.table_exists("moodle.courses"):
            return AssetCheckResult(passed=False, metadata={"reason": "moodle.courses does not exist yet"})
        same_site = " AND c.site = m.site" if _has_site(wh, model.table) else ""
        unknown = [
            row[0]
            for row in wh.query(
                f"SELECT DISTINCT m.{column} FROM {model.table} AS m WHERE m.{column} IS NULL OR NOT EXISTS "
                f"(SELECT 1 FROM moodle.courses AS c WHERE c.id = m.{column}{same_site}) ORDER BY 1"
            )
        ]
        return AssetCheckResult(
            passed=not unknown,
            severity=AssetCheckSeverity.WARN,
            metadata={"unknown_courses": len(unknown), "examples": str(unknown[:10])},
        )

    return _check


def raw_tables_loaded_check(model: Model) -> AssetChecksDefinition:
    @asset_check(
        asset=model_key(model.name),
        name="raw_tables_loaded",
        description=f"{model.table} was built with every raw table it reads materialised "
        "(its own and those of the analytics tables it reads).",
    )
    def _check(warehouse: WarehouseResource) -> AssetCheckResult:
        wh = warehouse.get()
        if not wh.table_exists(model.table):
            return _missing(model)
        meta = last_build(wh, model.table)
        absent = meta.get("missing_tables")
        if absent is None:
            absent = missing_tables(meta.get("missing") or {})
        inherited = meta.get("upstream_missing") or {}
        if not absent and not inherited:
            return AssetCheckResult(passed=True, metadata={"raw_tables": len(model.reads)})
        problem = sources_problem(model, list(absent), inherited)
        lacked = sorted({*absent, *(t for tables in inherited.values() for t in tables)})
        return AssetCheckResult(
            passed=False,
            severity=AssetCheckSeverity.ERROR,
            description=f"{model.table} was {problem}",
            metadata={"missing_tables": ", ".join(lacked), "what_to_do": problem},
        )

    return _check


def build_model_checks(model: Model) -> list[AssetChecksDefinition]:
    checks = [keys_unique_check(model), courses_exist_check(model), raw_tables_loaded_check(model)]
    if model.rates:
        checks.append(rates_in_range_check(model))
    return checks
