"""The harvest of one endpoint without Dagster: endpoints.pipeline against the demo over HTTP.

The asset factory, the benchmark and any other caller get the same tables through
``harvest_endpoint``; these tests call it directly, as a script that never imports Dagster would.
"""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pytest

from moodle_assets.demo.dataset.parts import THE_BIG_COURSE
from moodle_assets.demo.server import DEMO_TOKEN
from moodle_assets.endpoints import load_specs
from moodle_assets.endpoints.pipeline import HarvestError, harvest_endpoint
from moodle_assets.moodle.settings import ClientSettings
from moodle_assets.warehouse import Warehouse

SPECS = {spec.name: spec for spec in load_specs(include_user=False)}


@pytest.fixture()
def warehouse(tmp_path) -> Warehouse:
    return Warehouse(str(tmp_path / "warehouse.duckdb"), snapshot_path=None)


def _harvest(name: str, server, warehouse: Warehouse, **kwargs):
    settings = lambda: ClientSettings(url=server.url, token=DEMO_TOKEN)  # noqa: E731
    return harvest_endpoint(SPECS[name], warehouse, settings, catalog=list(SPECS.values()), **kwargs)


def test_a_fan_out_chain_lands_with_what_the_site_was_asked(demo_server, demo_dataset, warehouse):
    for name in ("course_index", "courses"):
        _harvest(name, demo_server, warehouse)
    demo_server.reset_calls()
    result = _harvest("enrolled_users", demo_server, warehouse)

    with duckdb.connect(warehouse.path, read_only=True) as con:
        rows = con.execute("SELECT count(*) FROM moodle.enrolled_users").fetchone()[0]
        big = con.execute(
            f"SELECT count(*) FROM moodle.enrolled_users WHERE courseid = {THE_BIG_COURSE.id}"
        ).fetchone()[0]
    assert result.table_rows == result.rows_loaded == rows > 0
    # Every call the site saw, and one per page: the records' pages plus the empty page that
    # ends each course's walk (Moodle can return a short page before the end).
    assert result.stats["total_calls"] == len(demo_server.calls) == result.outcome.pages + result.outcome.items
    assert result.stats["calls"] == {"core_enrol_get_enrolled_users": len(demo_server.calls)}
    # The big course pages past the first page of 100 (the walk really paged).
    assert big > 100
    assert {"courseid", "id", "_loaded_at"} <= set(result.columns)
    assert result.function == "core_enrol_get_enrolled_users"
    assert len(result.preview) == 5


def test_a_missing_upstream_table_is_one_error_saying_what_to_materialise(demo_server, warehouse):
    with pytest.raises(HarvestError, match=r"materialise asset moodle/course_index"):
        _harvest("courses", demo_server, warehouse)


def test_bad_run_config_stops_before_any_call(demo_server, warehouse):
    demo_server.reset_calls()
    with pytest.raises(HarvestError, match="page_size"):
        _harvest("course_index", demo_server, warehouse, config={"page_size": 0})
    assert demo_server.calls == []


def test_the_pipeline_runs_without_importing_dagster(demo_server, tmp_path):
    script = f"""
import sys
from moodle_assets.endpoints import load_specs
from moodle_assets.endpoints.pipeline import harvest_endpoint
from moodle_assets.moodle.settings import ClientSettings
from moodle_assets.warehouse import Warehouse
spec = {{s.name: s for s in load_specs(include_user=False)}}["site_info"]
result = harvest_endpoint(spec, Warehouse({str(tmp_path / "w.duckdb")!r}, snapshot_path=None),
                          lambda: ClientSettings(url={demo_server.url!r}, token={DEMO_TOKEN!r}))
assert result.table_rows == 1, result
print("dagster" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
