"""The harvest job launched without a partition, as ``dagster job execute -j moodle_harvest``
launches it: the calendar (partitioned) fails its own step with one Failure that names it and
says how to pass a partition; the unpartitioned assets of the run do not need one and succeed.

(``dagster asset materialize`` of a partitioned asset without ``--partition`` does not start a
run at all: Dagster refuses it before launching.)
"""

from __future__ import annotations

import re

import pytest
from dagster import AssetKey, DagsterEventType, instance_for_test

from moodle_assets.assets.jobs import HARVEST_JOB
from moodle_assets.definitions import build_definitions
from moodle_assets.endpoints import load_specs
from tests.assets.conftest import step_failures
from tests.assets.helpers import rows

CALENDAR = AssetKey(["moodle", "calendar_events"])
# The calendar with the upstream it reads its course ids from, which need no partition.
UNPARTITIONED = [AssetKey(["moodle", "course_index"]), AssetKey(["moodle", "courses"])]


@pytest.fixture(scope="module")
def harvest_job():
    """The code location's moodle_harvest job, built as ``moodle_assets.definitions`` builds it."""
    return build_definitions(load_specs()).resolve_job_def(HARVEST_JOB)


def test_a_partitioned_asset_run_without_a_partition_fails_its_step_with_what_to_do(
    harvest_job, multiprocess_env, tmp_path
):
    db = str(tmp_path / "warehouse.duckdb")
    run_config = {"resources": {"warehouse": {"config": {"path": db}}}}
    with instance_for_test() as instance:
        result = harvest_job.execute_in_process(
            instance=instance, asset_selection=[*UNPARTITIONED, CALENDAR], run_config=run_config, raise_on_error=False
        )
        assert not result.success

        # One failure, the calendar's own step, raised as a Failure with a description for the user.
        failures = [e for e in result.all_events if e.is_step_failure]
        assert [e.step_key for e in failures] == ["moodle__calendar_events"], step_failures(result)
        data = failures[0].step_failure_data
        assert data.error.cls_name == "Failure", data.error.to_string()
        assert data.user_failure_data is not None, data.error.to_string()
        description = data.user_failure_data.description
        assert "MacroError" not in data.error.to_string()
        assert "moodle/calendar_events" in description
        assert "--partition " in description  # dagster asset materialize
        assert '--tags \'{"dagster/partition": ' in description  # dagster job execute
        assert "backfill" in description  # the UI

        # The unpartitioned assets of the same run ran and loaded their tables.
        materialized = {
            e.asset_key for e in result.all_events if e.event_type == DagsterEventType.ASSET_MATERIALIZATION
        }
        assert materialized == set(UNPARTITIONED)
        for key in UNPARTITIONED:
            assert rows(db, f"SELECT count(*) FROM moodle.{key.path[-1]}")[0][0] > 0

        # The partition the message suggests exists, and passing it as told makes the calendar run.
        [example] = set(re.findall(r"--partition (\S+?)`", description))
        assert re.findall(r'"dagster/partition": "([^"]+)"', description) == [example]
        partitions = harvest_job.asset_layer.get(CALENDAR).partitions_def
        assert partitions.has_partition_key(example)
        again = harvest_job.execute_in_process(
            instance=instance,
            asset_selection=[CALENDAR],
            run_config=run_config,
            tags={"dagster/partition": example},
            raise_on_error=False,
        )
        assert again.success, step_failures(again)
