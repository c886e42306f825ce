"""Materialise endpoint assets against the demo Moodle into a DuckDB file."""

from __future__ import annotations

from collections.abc import Iterable

from dagster import materialize

from moodle_assets.assets.factory import build_endpoint_asset
from moodle_assets.assets.resources import MoodleResource, WarehouseResource
from moodle_assets.endpoints import load_specs
from moodle_assets.warehouse import Warehouse


def resources(url: str, token: str, db_path: str, **moodle_kwargs) -> dict:
    return {
        "moodle": MoodleResource(url=url, token=token, **moodle_kwargs),
        "warehouse": WarehouseResource(path=db_path, lock_timeout_seconds=10),
    }


def endpoint_assets(names: Iterable[str] | None = None):
    wanted = set(names) if names is not None else None
    specs = load_specs(include_user=False)  # the catalog, as definitions.py passes it: explodes read their parent's
    return [build_endpoint_asset(s, specs) for s in specs if wanted is None or s.name in wanted]


def run(assets, res: dict, **kwargs):
    return materialize(assets, resources=res, raise_on_error=False, **kwargs)


def rows(db_path: str, sql: str, params=None) -> list[tuple]:
    """Query through the warehouse (which waits for the file lock like the assets do)."""
    return Warehouse(db_path, lock_timeout=10).query(sql, params)


def materialization_metadata(result) -> dict[str, dict]:
    out = {}
    for event in result.get_asset_materialization_events():
        m = event.materialization
        out[m.asset_key.path[-1]] = {k: v.value for k, v in m.metadata.items()}
    return out
