"""Any selection a user can click materialises in a green run, for every asset key.

"Materialize" on one asset in the UI runs that asset alone (its upstream already loaded), or
that asset with its upstream on a warehouse that may be empty. Both shapes are run here for
every asset of the code location (every Moodle asset of the templates and every analytics
model), in a few batched runs, through both executors a run can use (the code location's
default runs steps in the run's process, ``multiprocess`` one process per step):

* with upstream, on a fresh warehouse, with the multiprocess executor: one run selecting
  every asset but site_info on an empty warehouse. Each asset runs after its upstream,
  reading nothing else (no asset reads a table it does not depend on), as in a run of it with
  its upstream only; site_info is never there, so every ``function_available`` check meets a
  warehouse without it, the first click's situation. The calendar is in the selection, so it
  is one partition's run, as the UI launches it.
* alone, upstream loaded, in process: the assets in levels (a level's assets depend only on
  earlier levels), one run per level on the warehouse the first run left, the calendar alone
  with a partition. site_info is in the first level, so the later levels' checks evaluate
  from it.

A third test is the literal first click, ``dagster asset materialize`` of courses with its
upstream course_index on an empty warehouse (with the code location's default executor),
started from another folder.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import AssetCheckKey, AssetKey, DagsterEventType, instance_for_test
from dagster._core.loader import LoadingContextForTest

from moodle_assets.assets.site_checks import CHECK_NAME, NOT_EVALUATED, SITE_INFO
from moodle_assets.demo.server import DEMO_TOKEN
from tests.assets.conftest import step_failures
from tests.assets.helpers import rows
from tests.assets.multiprocess import definitions, harvest_job, run_multiprocess

# The first test's fixture harvests the whole site in step processes (about a minute on two
# idle cores); leave room for a busy machine beyond the suite's 300 s per test.
pytestmark = pytest.mark.timeout(900)

# A day of the demo site's calendar (its events run around 2026-11-26).
PARTITION = "2026-11-26"
PARTITION_TAGS = {"dagster/partition": PARTITION}
SITE_INFO_KEY = AssetKey(["moodle", SITE_INFO])
CHECK_NAMES = (CHECK_NAME, "failed_items")


def asset_graph():
    return definitions().resolve_asset_graph()


def every_key() -> list[AssetKey]:
    return sorted(asset_graph().get_all_asset_keys())


def is_partitioned(key: AssetKey) -> bool:
    return asset_graph().get(key).partitions_def is not None


def levels() -> list[list[AssetKey]]:
    """Every asset key by level: level 0 has no upstream, level n depends on levels below n."""
    graph = asset_graph()
    level: dict[AssetKey, int] = {}

    def of(key: AssetKey) -> int:
        if key not in level:
            level[key] = 1 + max((of(p) for p in graph.get(key).parent_keys), default=-1)
        return level[key]

    keys = every_key()
    return [[k for k in keys if of(k) == n] for n in range(max(map(of, keys)) + 1)]


def outcome(instance, result) -> dict:
    """What a run did: materialised keys, check evaluations, the status the UI shows for each
    check the run planned, and the warnings it logged."""
    events = result.all_events
    checks = [AssetCheckKey(a, c) for a in {e.asset_key for e in events if e.asset_key} for c in CHECK_NAMES]
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(checks)
    context = LoadingContextForTest(instance)
    return {
        "materialized": {e.asset_key for e in events if e.event_type == DagsterEventType.ASSET_MATERIALIZATION},
        "evaluated": {
            AssetCheckKey(
                e.asset_check_evaluation_data.asset_key, e.asset_check_evaluation_data.check_name
            ): e.asset_check_evaluation_data
            for e in events
            if e.event_type == DagsterEventType.ASSET_CHECK_EVALUATION
        },
        "ui_status": {
            key: asyncio.run(record.resolve_status(context)).value
            for key, record in latest.items()
            if record.run_id == result.run_id
        },
        "warnings": [r.user_message for r in instance.all_logs(result.run_id) if r.level >= logging.WARNING],
    }


def function_checks(keys) -> set[AssetCheckKey]:
    return {AssetCheckKey(k, CHECK_NAME) for k in keys if k.path[0] == "moodle" and k != SITE_INFO_KEY}


@pytest.fixture(scope="module")
def fresh_with_upstream(multiprocess_env, tmp_path_factory):
    """The run of every asset but site_info on an empty warehouse: (warehouse, keys, outcome)."""
    db = str(tmp_path_factory.mktemp("any_selection") / "fresh.duckdb")
    keys = [k for k in every_key() if k != SITE_INFO_KEY]
    with instance_for_test() as instance:
        with run_multiprocess(instance, keys, db=db, tags=PARTITION_TAGS) as result:
            assert result.success, step_failures(result)
            return db, keys, outcome(instance, result)


def test_every_asset_with_its_upstream_on_a_fresh_warehouse(fresh_with_upstream):
    db, keys, done = fresh_with_upstream
    assert len(keys) == 33  # 27 Moodle assets and 6 analytics assets: every key but site_info
    assert done["materialized"] == set(keys)
    # No site_info yet: the checks that read it yield nothing, which Dagster records as skipped
    # in a green run (not failed), and the log says what to materialise.
    assert {k: done["ui_status"].get(k) for k in function_checks(keys)} == dict.fromkeys(
        function_checks(keys), "SKIPPED"
    )
    assert not function_checks(keys) & set(done["evaluated"])
    assert any(
        w.startswith(f"{CHECK_NAME} {NOT_EVALUATED}; skipped for ") and "moodle/courses" in w for w in done["warnings"]
    ), done["warnings"]
    assert NOT_EVALUATED.startswith("not evaluated yet: materialise moodle/site_info")
    # Every check that did evaluate passed.
    assert {str(k) for k, e in done["evaluated"].items() if not e.passed} == set()
    assert rows(db, "SELECT DISTINCT _partition FROM moodle.calendar_events") == [(PARTITION,)]


def test_every_asset_alone_with_its_upstream_loaded(fresh_with_upstream, multiprocess_env, tmp_path):
    db = str(tmp_path / "loaded.duckdb")
    shutil.copy(fresh_with_upstream[0], db)
    by_level = levels()
    # incremental signals read tables refreshed earlier in the run (grade_items before course_grades, ...)
    assert len(by_level) == 10 and SITE_INFO_KEY in by_level[0]
    runs = []
    for level in by_level:
        runs.append(([k for k in level if not is_partitioned(k)], {}))
        partitioned = [k for k in level if is_partitioned(k)]
        if partitioned:
            runs.append((partitioned, PARTITION_TAGS))
    covered: set[AssetKey] = set()
    with instance_for_test() as instance:
        for keys, tags in runs:
            result = harvest_job().execute_in_process(
                instance=instance,
                asset_selection=keys,
                tags=tags,
                raise_on_error=False,
                run_config={"resources": {"warehouse": {"config": {"path": db}}}},
            )
            assert result.success, (keys, step_failures(result))
            done = outcome(instance, result)
            assert done["materialized"] == set(keys)
            # site_info is loaded (by the first level's run, before its checks): every check is
            # evaluated, and the demo token offers every function.
            assert set(done["evaluated"]) >= function_checks(keys)
            assert set(done["ui_status"]) >= function_checks(keys)
            assert set(done["ui_status"].values()) <= {"SUCCEEDED"}, {
                k: v for k, v in done["ui_status"].items() if v != "SUCCEEDED"
            }
            assert {str(k) for k, e in done["evaluated"].items() if not e.passed} == set()
            covered |= set(keys)
    assert covered == set(every_key()) and len(covered) == 34


def test_first_click_materialises_courses_with_its_upstream_from_another_folder(demo_server, tmp_path):
    """``dagster asset materialize --select moodle/course_index,moodle/courses`` on a fresh
    warehouse, started in a folder that is not the project's: a green run, the courses in the
    project folder's warehouse, the function checks skipped with the reason in the log."""
    project, elsewhere, home = tmp_path / "project", tmp_path / "elsewhere", tmp_path / "dagster_home"
    for folder in (project, elsewhere, home):
        folder.mkdir()
    (home / "dagster.yaml").write_text("")
    env = {
        **{
            k: v for k, v in os.environ.items() if not k.startswith(("MOODLE_", "DAGSTER_")) or k == "MOODLE_ASSETS_NOW"
        },
        "DAGSTER_HOME": str(home),
        "MOODLE_PROJECT_DIR": str(project),
        "MOODLE_URL": demo_server.url,
        "MOODLE_TOKEN": DEMO_TOKEN,
        "MOODLE_DUCKDB_PATH": "data/first_click.duckdb",  # relative: from the project folder
    }
    dagster = Path(sys.executable).with_name("dagster")
    done = subprocess.run(
        [
            str(dagster),
            "asset",
            "materialize",
            "-m",
            "moodle_assets.definitions",
            "--select",
            "moodle/course_index,moodle/courses",
        ],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-4000:]
    assert "RUN_SUCCESS" in log and "STEP_FAILURE" not in log
    assert f"{CHECK_NAME} {NOT_EVALUATED}; skipped for moodle/course_index, moodle/courses" in log
    db = project / "data" / "first_click.duckdb"
    assert rows(str(db), "SELECT count(*) > 0 FROM moodle.courses") == [(True,)]
    assert os.listdir(elsewhere) == []
