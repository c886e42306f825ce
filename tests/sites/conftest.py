"""Two emulated sites of different sizes over real HTTP, harvested once into one warehouse.

Starting the two sites and running both whole-site harvests is the slow part of the
multi-site tests, so the fixtures are package-scoped: the modules that check the result
(tests/sites/test_multi_site_*.py) share one harvest instead of each repeating it. The
helpers below are the ones those modules and the fixtures use alike.
"""

from __future__ import annotations

import os

import duckdb
import pytest
from dagster import DagsterInstance

from moodle_assets.definitions import build_definitions
from moodle_assets.endpoints import load_specs
from moodle_assets.sites import load_sites
from moodle_assets.sites.demo import sites_yaml, start_demo_sites

SPECS = load_specs(include_user=False)
CHAIN = ["site_info", "course_index", "courses", "enrolled_users", "quizzes", "quiz_attempts"]


@pytest.fixture(scope="package")
def two_sites(tmp_path_factory):
    sites = start_demo_sites(2, scale=0.3, seed=11)
    folder = tmp_path_factory.mktemp("sites")
    file = folder / "moodle_sites.yaml"
    text = sites_yaml(sites)
    # the second site keeps to 2 calls in flight, the first to the default (4)
    text = text.replace(
        f"    token_env: {sites[1].token_env}", f"    token_env: {sites[1].token_env}\n    max_concurrency: 2"
    )
    file.write_text(text)
    saved = {s.token_env: os.environ.get(s.token_env) for s in sites}
    for s in sites:
        os.environ[s.token_env] = s.token
    yield sites, file, folder
    for s in sites:
        s.server.stop()
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def run_site(defs, job: str, key, db: str, instance, selection=None, moodle=None):
    resources = {"warehouse": {"config": {"path": db}}}
    if moodle:
        resources["moodle"] = {"config": moodle}
    return defs.resolve_job_def(job).execute_in_process(
        partition_key=key,
        instance=instance,
        raise_on_error=False,
        asset_selection=selection,
        run_config={"resources": resources},
    )


@pytest.fixture(scope="package")
def harvested(two_sites):
    sites, file, folder = two_sites
    defs = build_definitions(SPECS, load_sites(file))
    shared = str(folder / "warehouse.duckdb")
    peaks = {}
    # The runs' record is read by none of the tests (they read the warehouse, the reports and the
    # sites' calls): an in-memory instance, as execute_in_process uses by default, spares the two
    # whole-site runs the SQLite instance's writes (a third of their time). The tests' own runs
    # keep a persistent test instance.
    with DagsterInstance.ephemeral() as instance:
        for site in sites:
            site.server.reset_calls()
            result = run_site(defs, "moodle_harvest", site.name, shared, instance)
            assert result.success, [e.event_specific_data.error.message for e in result.all_events if e.is_step_failure]
            peaks[site.name] = site.server.peak_in_flight
    return sites, defs, shared, folder, peaks


def query(db: str, sql: str, params=None) -> list[tuple]:
    with duckdb.connect(db, read_only=True) as con:
        return con.execute(sql, params or []).fetchall()
