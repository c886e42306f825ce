"""Asset checks on the analytics tables: the invariants every model promises.

Each check is one COUNT over the finished table, so it can be re-run on its own from the UI
after a manual fix. A model's checks share one step (they are cheap; a step each cost a
harvest ~1-2 s of Dagster's per-step bookkeeping), and each is still selectable alone.
Keys must be unique (blocking: downstream models and the dashboard would double count),
rates must lie in [0, 1], and every row's course must be a course of ``moodle.courses``
(a warning: it means raw tables were loaded from different runs).
``raw_tables_loaded`` (an error) reads the table's last build in ``moodle._loads``: a model
built while a raw table it reads (or one its upstream models read) was never materialised
has zeros that mean "not loaded"; the check names the tables and the assets to materialise.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    multi_asset_check,
)

from moodle_assets.assets.resources import WarehouseResource
from moodle_assets.warehouse.sql import quote

from .factory import model_key, sources_problem
from .models import Model
from .sources import last_build, missing_tables

SITE_COLUMN = "site"


def _missing(model: Model) -> dict:
    return {"passed": False, "metadata": {"reason": f"{model.table} does not exist yet"}}


def _has_site(wh, table: str) -> bool:
    """A table of the shared warehouse of several sites: ``site`` is part of every key."""
    return SITE_COLUMN in {r[0] for r in wh.query(f"DESCRIBE {table}")}


def _keys_unique(wh, model: Model) -> dict:
    keys = ", ".join(quote(k) for k in ([SITE_COLUMN] if _has_site(wh, model.table) else []) + list(model.key))
    [(duplicates, nulls)] = wh.query(
        f"SELECT (SELECT count(*) FROM (SELECT {keys} FROM {model.table} GROUP BY ALL HAVING count(*) > 1)), "
        f"(SELECT count(*) FROM {model.table} WHERE " + " OR ".join(f"{quote(k)} IS NULL" for k in model.key) + ")"
    )
    return {"passed": duplicates == 0 and nulls == 0, "metadata": {"duplicate_keys": duplicates, "null_keys": nulls}}


def _rates_in_range(wh, model: Model) -> dict:
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
    return {"passed": bad == 0, "metadata": {k: v for k, v in metadata.items() if v is not None}}


def _courses_exist(wh, model: Model) -> dict:
    if not wh.table_exists("moodle.courses"):
        return {"passed": False, "metadata": {"reason": "moodle.courses does not exist yet"}}
    column = quote(model.course_column)
    same_site = " AND c.site = m.site" if _has_site(wh, model.table) else ""
    unknown = [
        row[0]
        for row in wh.query(
            f"SELECT DISTINCT m.{column} FROM {model.table} AS m WHERE m.{column} IS NULL OR NOT EXISTS "
            f"(SELECT 1 FROM moodle.courses AS c WHERE c.id = m.{column}{same_site}) ORDER BY 1"
        )
    ]
    return {
        "passed": not unknown,
        "severity": AssetCheckSeverity.WARN,
        "metadata": {"unknown_courses": len(unknown), "examples": str(unknown[:10])},
    }


def _raw_tables_loaded(wh, model: Model) -> dict:
    meta = last_build(wh, model.table)
    absent = meta.get("missing_tables")
    if absent is None:
        absent = missing_tables(meta.get("missing") or {})
    inherited = meta.get("upstream_missing") or {}
    if not absent and not inherited:
        return {"passed": True, "metadata": {"raw_tables": len(model.reads)}}
    problem = sources_problem(model, list(absent), inherited)
    lacked = sorted({*absent, *(t for tables in inherited.values() for t in tables)})
    return {
        "passed": False,
        "severity": AssetCheckSeverity.ERROR,
        "description": f"{model.table} was {problem}",
        "metadata": {"missing_tables": ", ".join(lacked), "what_to_do": problem},
    }


@dataclass(frozen=True)
class _Check:
    name: str
    evaluate: Callable[[Any, Model], dict]
    description: Callable[[Model], str]
    blocking: bool = False


_CHECKS = (
    _Check(
        "keys_unique", _keys_unique, lambda m: f"({', '.join(m.key)}) identifies one row of {m.table}.", blocking=True
    ),
    _Check(
        "courses_exist",
        _courses_exist,
        lambda m: f"Every {m.course_column} of {m.table} is a course of moodle.courses.",
    ),
    _Check(
        "raw_tables_loaded",
        _raw_tables_loaded,
        lambda m: (
            f"{m.table} was built with every raw table it reads materialised "
            "(its own and those of the analytics tables it reads)."
        ),
    ),
    _Check(
        "rates_between_0_and_1", _rates_in_range, lambda m: f"{', '.join(m.rates)} lie between 0 and 1 (or are NULL)."
    ),
)


def build_model_checks(model: Model) -> list[AssetChecksDefinition]:
    """The model's checks as one step (``<model>_checks``): in a run they cost one step, not
    one each, and each can still be run alone from the UI (the step evaluates only those
    selected). ``keys_unique`` is blocking: a failure stops the models built on this one."""
    key = model_key(model.name)
    checks = [c for c in _CHECKS if c.name != "rates_between_0_and_1" or model.rates]
    specs = [AssetCheckSpec(c.name, asset=key, description=c.description(model), blocking=c.blocking) for c in checks]

    @multi_asset_check(specs=specs, name=f"{model.name}_checks", can_subset=True)
    def _model_checks(context: AssetCheckExecutionContext, warehouse: WarehouseResource):
        selected = {k.name for k in context.selected_asset_check_keys}
        wh = warehouse.get()
        exists = wh.table_exists(model.table)
        for check in checks:
            if check.name not in selected:
                continue
            result = check.evaluate(wh, model) if exists else _missing(model)
            yield AssetCheckResult(asset_key=key, check_name=check.name, **result)

    return [_model_checks]
