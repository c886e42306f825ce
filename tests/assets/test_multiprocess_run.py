"""The moodle_harvest job under the multiprocess executor: one process per asset step.

This is how a deployment runs it (``dagster dev``, a daemon, k8s): each step is a fresh
process that loads the Definitions, reads MOODLE_URL/MOODLE_TOKEN/MOODLE_DUCKDB_PATH from
its environment, and writes the shared DuckDB file while other steps wait on its lock.
The run must succeed and leave exactly the tables an in-process run leaves.
"""

from __future__ import annotations

import functools
import os

from dagster import DagsterEventType, DagsterInstance, execute_job, instance_for_test, reconstructable

from moodle_assets.assets.jobs import HARVEST_JOB
from moodle_assets.demo.server import DEMO_TOKEN
from tests.assets.conftest import HARVEST_CONCURRENCY, Harvest, step_failures, table_counts, unpartitioned_assets
from tests.assets.helpers import rows


@functools.cache
def _resolved_job():
    from moodle_assets.definitions import defs

    return defs.resolve_job_def(HARVEST_JOB)


def harvest_job():
    """The job exactly as the code location defines it, rebuilt in every step process.

    Resolved once in the fork server that preloads this module, so each forked step
    inherits it instead of resolving the whole asset graph again.
    """
    return _resolved_job()


_resolved_job()


def _run(instance: DagsterInstance, keys):
    return execute_job(
        reconstructable(harvest_job),
        instance=instance,
        asset_selection=keys,
        run_config={
            "execution": {"config": {"multiprocess": {
                "max_concurrent": 2,
                # Fork step processes from one that has already imported Dagster and the
                # code location, instead of starting a fresh interpreter for every step.
                "start_method": {"forkserver": {"preload_modules": ["moodle_assets.definitions", __name__]}},
            }}},
            # The token stays an env reference here too: run config is stored with the run.
            "resources": {"moodle": {"config": {
                "url": {"env": "MOODLE_URL"}, "token": {"env": "MOODLE_TOKEN"},
                "max_concurrency": HARVEST_CONCURRENCY,
            }}},
        },
        raise_on_error=False,
    )


def test_harvest_job_in_separate_processes_leaves_the_same_tables(
    demo_server, full_harvest: Harvest, tmp_path, monkeypatch
):
    db = str(tmp_path / "multiprocess.duckdb")
    monkeypatch.setenv("MOODLE_URL", demo_server.url)
    monkeypatch.setenv("MOODLE_TOKEN", DEMO_TOKEN)
    monkeypatch.setenv("MOODLE_DUCKDB_PATH", db)
    keys = [key for a in unpartitioned_assets() for key in a.keys]

    with instance_for_test() as instance:
        with _run(instance, keys) as result:
            assert result.success, step_failures(result)
            events = result.all_events
            step_pids = {e.step_key: e.pid for e in events if e.event_type == DagsterEventType.STEP_START}
            materialized = {
                e.asset_key.path[-1] for e in events if e.event_type == DagsterEventType.ASSET_MATERIALIZATION
            }

    # Every asset step ran in a process of its own, none in this one.
    asset_steps = {"moodle__" + k.path[-1] for k in keys}
    assert len(keys) == 27 and set(step_pids) >= asset_steps
    assert len({step_pids[s] for s in asset_steps}) == len(keys)
    assert os.getpid() not in step_pids.values()
    assert materialized == {k.path[-1] for k in keys}

    # The file every process wrote holds every table, with the in-process run's row counts.
    in_process = table_counts(full_harvest.db)
    multiprocess = table_counts(db)
    assert set(multiprocess) == set(in_process)
    assert set(multiprocess) >= {k.path[-1] for k in keys} | {"_errors", "_loads"}
    assert {t: n for t, n in multiprocess.items() if t != "_loads"} == {
        t: n for t, n in in_process.items() if t != "_loads"
    }
    # One load recorded per table, and the same per-item failures.
    assert multiprocess["_loads"] == len(keys)
    assert rows(db, "SELECT table_name, errorcode FROM moodle._errors ORDER BY 1") == rows(
        full_harvest.db, "SELECT table_name, errorcode FROM moodle._errors ORDER BY 1"
    )
    assert rows(db, "SELECT sum(id) FROM moodle.quiz_attempts") == rows(
        full_harvest.db, "SELECT sum(id) FROM moodle.quiz_attempts"
    )
