"""The moodle_harvest job under the multiprocess executor: one process per asset step.

This is how a run configured with ``execution: {config: {multiprocess: ...}}`` runs (the code
location's default executor keeps the steps in the run's process): each step is a process that
loads the Definitions, reads MOODLE_URL/MOODLE_TOKEN from its environment, finds the default
warehouse ``data/warehouse.duckdb`` in the project folder (never its working directory), and
writes the shared DuckDB file while other steps wait on its lock. The run must succeed and
leave exactly the tables an in-process run leaves.
"""

from __future__ import annotations

import os

from dagster import DagsterEventType, instance_for_test

from tests.assets.conftest import HARVEST_CONCURRENCY, Harvest, step_failures, unpartitioned_assets
from tests.assets.helpers import rows
from tests.assets.multiprocess import harvest_job, run_multiprocess

# Written at load time, not data: when a row was loaded.
LOAD_TIME_COLUMNS = {"_loaded_at", "loaded_at"}


def moodle_tables(db: str) -> list[str]:
    return [
        r[0]
        for r in rows(db, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'moodle' ORDER BY 1")
    ]


def table_contents(db: str, table: str) -> tuple[list[str], list[tuple]]:
    """(columns, rows) of ``moodle.<table>``: columns by name (their position follows which call
    answered first), rows sorted, load-time columns left out."""
    columns = sorted(r[0] for r in rows(db, f'DESCRIBE moodle."{table}"') if r[0] not in LOAD_TIME_COLUMNS)
    select = ", ".join(f'"{c}"' for c in columns)
    return columns, rows(db, f'SELECT {select} FROM moodle."{table}" ORDER BY ALL')


def test_harvest_job_in_separate_processes_leaves_the_same_tables(
    multiprocess_env, project_folder, full_harvest: Harvest
):
    db = str(project_folder / "data" / "warehouse.duckdb")  # the default path, from the project folder
    assert not os.path.exists(db)
    keys = [key for a in unpartitioned_assets() for key in a.keys]
    with instance_for_test() as instance:
        with run_multiprocess(instance, keys, job=harvest_job, max_concurrency=HARVEST_CONCURRENCY) as result:
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

    # The file every process wrote holds every table of the in-process run, with the same
    # rows: data tables, per-item failures (_errors), covered items (_items) and one load per
    # table with its row count and meta (_loads); only the load times differ.
    tables = moodle_tables(db)
    assert tables == moodle_tables(full_harvest.db)
    assert set(tables) >= {k.path[-1] for k in keys} | {"_errors", "_loads"}
    differ = [t for t in tables if table_contents(db, t) != table_contents(full_harvest.db, t)]
    assert differ == []
    assert rows(db, "SELECT count(*) FROM moodle._loads") == [(len(keys),)]
