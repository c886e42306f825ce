"""The checks catch broken tables, and the models build (with zeros) before every raw
table has data."""

from __future__ import annotations

import shutil

from dagster import AssetKey, AssetSelection, materialize

from moodle_assets.analytics import analytics_assets, analytics_checks
from moodle_assets.analytics.models import ENGAGEMENT_WEEKLY, LEARNER_PROGRESS
from moodle_assets.analytics.settings import AnalyticsSettings
from moodle_assets.analytics.sources import resolve_sources
from moodle_assets.assets.resources import WarehouseResource
from moodle_assets.warehouse import Warehouse
from tests.conftest import DEMO_NOW


def test_checks_fail_on_duplicates_bad_rates_and_unknown_courses(built, tmp_path):
    db = str(tmp_path / "broken.duckdb")
    shutil.copy(built.db, db)
    wh = Warehouse(db, lock_timeout=10)
    wh.query("INSERT INTO analytics.learner_progress SELECT * FROM analytics.learner_progress LIMIT 1", read_only=False)
    wh.query("UPDATE analytics.learner_progress SET activity_completion_rate = 1.5 WHERE userid = "
             "(SELECT max(userid) FROM analytics.learner_progress)", read_only=False)
    wh.query("UPDATE analytics.learner_progress SET courseid = 999 WHERE userid = "
             "(SELECT min(userid) FROM analytics.learner_progress WHERE courseid = 3)", read_only=False)
    key = AssetKey(["analytics", "learner_progress"])
    result = materialize(
        [*analytics_assets, *analytics_checks], selection=AssetSelection.checks_for_assets(key),
        resources={"warehouse": WarehouseResource(path=db, lock_timeout_seconds=10),
                   "analytics": AnalyticsSettings(now=DEMO_NOW)},
        raise_on_error=False,
    )
    outcome = {e.check_name: (e.passed, {k: v.value for k, v in e.metadata.items()})
               for e in result.get_asset_check_evaluations()}
    assert outcome["keys_unique"] == (False, {"duplicate_keys": 1, "null_keys": 0})
    assert outcome["rates_between_0_and_1"][0] is False
    assert outcome["rates_between_0_and_1"][1]["activity_completion_rate_outside"] >= 1
    assert outcome["courses_exist"] == (False, {"unknown_courses": 1, "examples": "[999]"})


def test_models_build_before_raw_tables_have_data(tmp_path):
    """A site with no quizzes leaves quiz_attempts without its columns; calendar_events may
    not exist at all. The models still build, with empty figures."""
    wh = Warehouse(str(tmp_path / "young.duckdb"), lock_timeout=10)
    wh.query("CREATE SCHEMA moodle; CREATE TABLE moodle.courses AS SELECT 2::BIGINT AS id, 'NEW1' AS shortname, "
             "'New course' AS fullname, 1::BIGINT AS visible, 0::BIGINT AS startdate, 0::BIGINT AS enddate; "
             "CREATE TABLE moodle.quiz_attempts (quizid BIGINT)", read_only=False)
    settings = AnalyticsSettings(now=DEMO_NOW)
    sql, missing = resolve_sources(ENGAGEMENT_WEEKLY.sql, wh)
    assert missing["calendar_events"] == ["*"]
    assert missing["quiz_attempts"] == ["quiz", "userid", "state", "sumgrades", "timestart", "preview"]
    assert "courses" not in missing and "moodle.courses" in sql
    assert wh.create_table_as(ENGAGEMENT_WEEKLY.table, sql, settings.params_for(sql, DEMO_NOW)).row_count == 0
    sql, _ = resolve_sources(LEARNER_PROGRESS.sql, wh)
    result = wh.create_table_as(LEARNER_PROGRESS.table, sql, settings.params_for(sql, DEMO_NOW))
    assert result.row_count == 0 and result.columns["overdue_assignments"] == "BIGINT"


def test_now_is_a_setting():
    assert AnalyticsSettings(now=DEMO_NOW).params_for("SELECT $now, $inactive_days", 5) == {
        "inactive_days": 14, "now": 5}
    assert AnalyticsSettings().now_ts() == DEMO_NOW  # unset: the project clock, which tests stand at DEMO_NOW
