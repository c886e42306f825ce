"""The rotation is run config: a run can re-read a share of the items read longest ago (or none,
the templates' default), from the Launchpad or a schedule."""

from __future__ import annotations

import math
import shutil

import pytest
from dagster import AssetCheckSeverity

from moodle_assets import clock
from moodle_assets.assets.factory import FRESH_CHECK_NAME, ROTATE
from moodle_assets.demo.server import DEMO_TOKEN
from tests.assets.helpers import endpoint_assets, materialization_metadata, resources, rows, run

UPSTREAM = ["course_index", "courses", "enrolled_users", "quizzes"]


@pytest.fixture(scope="module")
def first_harvest(demo_server, tmp_path_factory) -> str:
    """The upstream and quiz_attempts harvested once, at the project clock's moment; never written
    again: each user takes a copy."""
    db = str(tmp_path_factory.mktemp("rotation") / "first_harvest.duckdb")
    assert run(endpoint_assets([*UPSTREAM, "quiz_attempts"]), resources(demo_server.url, DEMO_TOKEN, db)).success
    return db


@pytest.fixture(scope="module")
def loaded(demo_server, first_harvest, tmp_path_factory):
    db = str(tmp_path_factory.mktemp("rotation") / "warehouse.duckdb")
    shutil.copyfile(first_harvest, db)
    res = resources(demo_server.url, DEMO_TOKEN, db)
    [(items,)] = rows(db, "SELECT count(*) FROM moodle._items WHERE table_name = 'moodle.quiz_attempts'")
    return res, items


def attempts_run(res, rotate: int | None):
    config = {"ops": {"moodle__quiz_attempts": {"config": {ROTATE: rotate}}}} if rotate is not None else None
    result = run(endpoint_assets(["quiz_attempts"]), res, run_config=config)
    return result, materialization_metadata(result).get("quiz_attempts", {})


@pytest.mark.parametrize("rotate", [4, 0])
def test_a_run_rotates_the_share_its_config_asks_for(loaded, rotate):
    res, items = loaded
    result, meta = attempts_run(res, rotate)
    assert result.success and meta["refresh_mode"] == "incremental"
    candidates = meta["rotated_items"] + meta["kept_items"]
    assert meta["rotated_items"] == (min(math.ceil(items / rotate), candidates) if rotate else 0)


def test_without_config_the_spec_rotation_applies(loaded):
    res, _ = loaded
    _, meta = attempts_run(res, None)
    assert meta["rotated_items"] == 0  # the templates rotate nothing: the weekly full refresh bounds staleness
    assert meta["refresh_mode"] == "incremental"


def test_a_negative_rotation_is_one_clear_error(loaded):
    res, _ = loaded
    result, _ = attempts_run(res, -1)
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    assert "rotate must be 0 (none) or a positive number of runs, not -1" in failure.event_specific_data.error.message


def check_evaluation(result):
    [evaluation] = [e for e in result.get_asset_check_evaluations() if e.check_name == FRESH_CHECK_NAME]
    return evaluation


def test_an_item_kept_longer_than_a_week_warns_until_a_full_refresh(demo_server, first_harvest, tmp_path):
    """Eight nights of incremental runs with no full refresh and no rotation: the check warns and
    says what to do; a full refresh reads everything again and it passes."""
    db = str(tmp_path / "w.duckdb")
    shutil.copyfile(first_harvest, db)  # the harvest at the project clock's moment
    res = resources(demo_server.url, DEMO_TOKEN, db)
    start = clock.now_ts()
    with clock.frozen(start + 8 * 86400):
        result, meta = attempts_run(res, 0)
        assert meta["oldest_item_age_days"] == 8.0
        stale = check_evaluation(result)
        assert not stale.passed and stale.severity == AssetCheckSeverity.WARN
        assert "8 days ago" in stale.description and "full_refresh: true" in stale.description
        config = {"ops": {"moodle__quiz_attempts": {"config": {"full_refresh": True}}}}
        fresh = run(endpoint_assets(["quiz_attempts"]), res, run_config=config)
    assert check_evaluation(fresh).passed
