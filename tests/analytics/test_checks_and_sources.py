"""The checks catch broken tables, and the models build (with zeros) before every raw
table has data."""

from __future__ import annotations

import shutil

from dagster import AssetCheckKey, AssetCheckSeverity, AssetKey, AssetSelection, materialize

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
    wh.query(
        "UPDATE analytics.learner_progress SET activity_completion_rate = 1.5 WHERE userid = "
        "(SELECT max(userid) FROM analytics.learner_progress)",
        read_only=False,
    )
    wh.query(
        "UPDATE analytics.learner_progress SET courseid = 999 WHERE userid = "
        "(SELECT min(userid) FROM analytics.learner_progress WHERE courseid = 3)",
        read_only=False,
    )
    key = AssetKey(["analytics", "learner_progress"])
    result = materialize(
        [*analytics_assets, *analytics_checks],
        selection=AssetSelection.checks_for_assets(key),
        resources={
            "warehouse": WarehouseResource(path=db, lock_timeout_seconds=10),
            "analytics": AnalyticsSettings(now=DEMO_NOW),
        },
        raise_on_error=False,
    )
    outcome = {
        e.check_name: (e.passed, {k: v.value for k, v in e.metadata.items()})
        for e in result.get_asset_check_evaluations()
    }
    assert outcome["keys_unique"] == (False, {"duplicate_keys": 1, "null_keys": 0})
    assert outcome["rates_between_0_and_1"][0] is False
    assert outcome["rates_between_0_and_1"][1]["activity_completion_rate_outside"] >= 1
    assert outcome["courses_exist"] == (False, {"unknown_courses": 1, "examples": "[999]"})


def test_models_build_before_raw_tables_have_data(tmp_path):
    """A site with no quizzes leaves quiz_attempts without its columns; calendar_events may
    not exist at all. The models still build, with empty figures."""
    wh = Warehouse(str(tmp_path / "young.duckdb"), lock_timeout=10)
    wh.query(
        "CREATE SCHEMA moodle; CREATE TABLE moodle.courses AS SELECT 2::BIGINT AS id, 'NEW1' AS shortname, "
        "'New course' AS fullname, 1::BIGINT AS visible, 0::BIGINT AS startdate, 0::BIGINT AS enddate; "
        "CREATE TABLE moodle.quiz_attempts (quizid BIGINT)",
        read_only=False,
    )
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
        "inactive_days": 14,
        "now": 5,
    }
    assert AnalyticsSettings().now_ts() == DEMO_NOW  # unset: the project clock, which tests stand at DEMO_NOW


def test_a_model_built_without_a_raw_table_fails_its_check_naming_the_table(built, tmp_path):
    """course_completion never materialised: learner_progress still builds (its completion
    figures are zeros), but its raw_tables_loaded check fails as an error, naming the table and
    the asset to materialise; at_risk_learners, built from learner_progress, fails it too."""
    db = str(tmp_path / "partial.duckdb")
    shutil.copy(built.db, db)
    Warehouse(db, lock_timeout=10).query("DROP TABLE moodle.course_completion", read_only=False)
    names = ["learner_progress", "at_risk_learners", "course_overview"]
    selection = AssetSelection.assets(*[AssetKey(["analytics", n]) for n in names])
    res = {**built.res(), "warehouse": WarehouseResource(path=db, lock_timeout_seconds=10)}
    result = materialize(
        [*analytics_assets, *analytics_checks], selection=selection, resources=res, raise_on_error=False
    )
    assert result.success  # the models build; the checks say what they lack
    outcome = {(e.asset_key.path[-1], e.check_name): e for e in result.get_asset_check_evaluations()}
    failed = {key for key, e in outcome.items() if not e.passed}
    assert failed == {(n, "raw_tables_loaded") for n in names}
    lp = outcome[("learner_progress", "raw_tables_loaded")]
    assert lp.severity == AssetCheckSeverity.ERROR
    assert lp.metadata["missing_tables"].value == "moodle.course_completion"
    assert lp.description == (
        "analytics.learner_progress was built without moodle.course_completion (never materialised): its "
        "figures from those tables are zeros and NULLs that mean 'not loaded'. Materialise "
        "moodle/course_completion, then re-materialise analytics/learner_progress."
    )
    risk = outcome[("at_risk_learners", "raw_tables_loaded")]
    assert risk.severity == AssetCheckSeverity.ERROR
    assert risk.description.startswith(
        "analytics.at_risk_learners was built from analytics.learner_progress, which was built without "
        "moodle.course_completion"
    )
    assert risk.description.endswith(
        "Materialise moodle/course_completion, then re-materialise analytics/learner_progress, "
        "analytics/at_risk_learners."
    )
    meta = {
        e.materialization.asset_key.path[-1]: e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    for name in names:
        assert "moodle.course_completion" in meta[name]["missing_tables"].value

    # Materialising the raw table and rebuilding clears the checks.
    Warehouse(db, lock_timeout=10).query(
        f"ATTACH '{built.db}' AS full_harvest (READ_ONLY); "
        "CREATE TABLE moodle.course_completion AS SELECT * FROM full_harvest.moodle.course_completion",
        read_only=False,
    )
    again = materialize(
        [*analytics_assets, *analytics_checks], selection=selection, resources=res, raise_on_error=False
    )
    assert [(e.asset_key.path[-1], e.check_name) for e in again.get_asset_check_evaluations() if not e.passed] == []


def test_duplicate_keys_block_the_models_downstream(built, tmp_path):
    """keys_unique is blocking: a model whose keys repeat would make every model and the
    dashboard built on it double count, so they are not built from it in the same run."""
    db = str(tmp_path / "doubled.duckdb")
    shutil.copy(built.db, db)
    wh = Warehouse(db, lock_timeout=10)
    # One enrolment twice in the raw table: learner_progress then has that (course, user) twice.
    wh.query("INSERT INTO moodle.enrolled_users SELECT * FROM moodle.enrolled_users LIMIT 1", read_only=False)
    progress, overview = AssetKey(["analytics", "learner_progress"]), AssetKey(["analytics", "course_overview"])
    result = materialize(
        [*analytics_assets, *analytics_checks],
        selection=AssetSelection.assets(progress, overview) | AssetSelection.checks_for_assets(progress),
        resources={
            "warehouse": WarehouseResource(path=db, lock_timeout_seconds=10),
            "analytics": AnalyticsSettings(now=DEMO_NOW),
        },
        raise_on_error=False,
    )
    outcome = {(e.asset_key, e.check_name): e.passed for e in result.get_asset_check_evaluations()}
    assert outcome[progress, "keys_unique"] is False
    assert outcome[progress, "raw_tables_loaded"] is True  # the model's other checks still ran
    materialised = {e.asset_key for e in result.get_asset_materialization_events()}
    assert progress in materialised and overview not in materialised


def test_one_check_of_a_model_runs_alone(built):
    """A model's checks share one step, but a user re-running one of them after a fix (the
    UI's check page, or a selection) gets that one evaluated, and nothing is rebuilt."""
    key = AssetKey(["analytics", "learner_progress"])
    result = materialize(
        [*analytics_assets, *analytics_checks],
        selection=AssetSelection.checks(AssetCheckKey(key, "courses_exist")),
        resources={
            "warehouse": WarehouseResource(path=built.db, lock_timeout_seconds=10),
            "analytics": AnalyticsSettings(now=DEMO_NOW),
        },
    )
    assert [(e.asset_key, e.check_name, e.passed) for e in result.get_asset_check_evaluations()] == [
        (key, "courses_exist", True)
    ]
    assert result.get_asset_materialization_events() == []
