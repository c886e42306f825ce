"""Each analytics model's numbers against the demo site worked out by hand (expected.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from dagster import AssetKey, Definitions

from moodle_assets.analytics import AnalyticsSettings, analytics_assets, analytics_checks
from moodle_assets.assets.resources import MoodleResource, WarehouseResource
from moodle_assets.demo.dataset import THE_BIG_COURSE
from tests.assets.helpers import endpoint_assets, rows
from tests.conftest import DEMO_NOW

from . import expected
from .conftest import CALENDAR_FROM, CALENDAR_TO


def ts(value) -> int | None:
    return None if value is None else int(value.timestamp())


def one(db: str, sql: str, params=None) -> dict:
    from moodle_assets.warehouse import Warehouse

    [row] = Warehouse(db, lock_timeout=10).query_dicts(sql, params)
    return row


def test_definitions_load_with_lineage_from_raw_tables():
    defs = Definitions(
        assets=[*endpoint_assets(), *analytics_assets],
        asset_checks=analytics_checks,
        resources={
            "moodle": MoodleResource(url="http://x.invalid", token="t"),
            "warehouse": WarehouseResource(),
            "analytics": AnalyticsSettings(),
        },
    )
    graph = defs.resolve_asset_graph()
    parents = graph.get(AssetKey(["analytics", "learner_progress"])).parent_keys
    assert {AssetKey(["moodle", "enrolled_users"]), AssetKey(["moodle", "courses"])} <= parents
    assert (
        AssetKey(["analytics", "learner_progress"]) in graph.get(AssetKey(["analytics", "course_overview"])).parent_keys
    )
    assert len([k for k in graph.asset_check_keys if k.asset_key.path[0] == "analytics"]) == 18


def test_every_check_passes_on_the_demo(built):
    evaluations = built.result.get_asset_check_evaluations()
    assert len(evaluations) == 18
    assert [(e.asset_key.path[-1], e.check_name) for e in evaluations if not e.passed] == []


def test_table_metadata(built):
    meta = {
        e.materialization.asset_key.path[-1]: e.materialization.metadata
        for e in built.result.get_asset_materialization_events()
    }
    lp = meta["learner_progress"]
    assert lp["dagster/table_name"].value == "analytics.learner_progress"
    assert lp["dagster/row_count"].value == rows(built.db, "SELECT count(*) FROM analytics.learner_progress")[0][0]
    columns = {c.name: c for c in lp["dagster/column_schema"].value.columns}
    assert columns["overdue_assignments"].type == "BIGINT"
    assert "submitted" in columns["overdue_assignments"].description
    assert lp["now"].value == DEMO_NOW


@pytest.mark.parametrize("shortname", ["DS101", "CS201", "CS305"])
def test_course_overview(built, shortname):
    cid = expected.course_id(built.data, shortname)
    want = expected.course(built.data, cid, DEMO_NOW)
    got = one(built.db, "SELECT * FROM analytics.course_overview WHERE courseid = ?", [cid])
    assert got["shortname"] == shortname and got["status"] == "running"
    assert {k: got[k] for k in want if k != "completion_rate"} == {
        k: v for k, v in want.items() if k != "completion_rate"
    }
    assert got["completion_rate"] == pytest.approx(want["completion_rate"])


def test_course_overview_counts_on_ds101(built):
    """The big course: 79 students, two hidden from participant lists, one suspended account."""
    students = [e for e in built.data.enrolments_of_course(THE_BIG_COURSE.id) if e["role"] == "student"]
    assert (len(students), len(built.data.hidden_user_ids)) == (79, 2)
    got = one(built.db, "SELECT * FROM analytics.course_overview WHERE shortname = 'DS101'")
    assert (got["enrolled_learners"], got["suspended_learners"], got["modules"], got["assignments"]) == (77, 1, 8, 2)
    # A course the token may not read is not in moodle.courses, so not in the overview either.
    unreadable = built.data.course(next(iter(built.data.unreadable_course_ids)))["shortname"]
    assert rows(built.db, "SELECT count(*) FROM analytics.course_overview WHERE shortname = ?", [unreadable]) == [(0,)]


def test_learner_progress(built):
    cid = expected.course_id(built.data, "CS201")
    students = expected.learners(built.data, cid)
    assert rows(built.db, "SELECT count(*) FROM analytics.learner_progress WHERE courseid = ?", [cid]) == [
        (len(students),)
    ]
    for enrolment in students[:6]:
        uid = enrolment["userid"]
        want = expected.learner(built.data, cid, uid, DEMO_NOW)
        got = one(built.db, "SELECT * FROM analytics.learner_progress WHERE courseid = ? AND userid = ?", [cid, uid])
        got["last_course_access"] = ts(got["last_course_access"])
        got["course_completed_at"] = ts(got["course_completed_at"])
        assert {k: got[k] for k in want} == want, uid
        assert got["activity_completion_rate"] == pytest.approx(
            want["activities_completed"] / want["activities_tracked"]
        )


def test_learner_progress_sums_match_the_site(built):
    """Across every course: overdue pairs, completed activities and attempts add up."""
    got = one(
        built.db,
        "SELECT sum(overdue_assignments) AS overdue, sum(activities_completed) AS done, "
        "sum(quiz_attempts) AS attempts, count(*) AS n FROM analytics.learner_progress",
    )
    readable = [c["id"] for c in built.data.courses[1:] if c["id"] not in built.data.unreadable_course_ids]
    pairs = [(cid, e["userid"]) for cid in readable for e in expected.learners(built.data, cid)]
    per = [expected.learner(built.data, cid, uid, DEMO_NOW) for cid, uid in pairs]
    assert got == {
        "overdue": sum(p["overdue_assignments"] for p in per),
        "done": sum(p["activities_completed"] for p in per),
        "attempts": sum(p["quiz_attempts"] for p in per),
        "n": len(pairs),
    }


def test_assessment_results_quiz_and_assignment(built):
    cid = expected.course_id(built.data, "CS201")
    quiz = next(q for q in built.data.quizzes if q["course"] == cid)
    assign = next(a for a in built.data.assignments if a["course"] == cid and a["id"] % 2 == 1)
    for kind, row_id, want in (
        ("quiz", quiz["id"], expected.quiz(built.data, quiz["id"], 50.0)),
        ("assign", assign["id"], expected.assignment(built.data, assign["id"], 50.0)),
    ):
        got = one(
            built.db,
            "SELECT * FROM analytics.assessment_results WHERE activity_type = ? AND activity_id = ?",
            [kind, row_id],
        )
        got["by_state"] = json.loads(got["by_state"])
        for key, value in want.items():
            assert got[key] == (pytest.approx(value) if isinstance(value, float) else value), (kind, key)
        assert got["pass_mark_pct"] == 50.0 and got["course_shortname"] == "CS201"


def test_assessment_scores_are_normalised_to_100(built):
    """Quiz attempts score out of sumgrades 4: 2.0 of 4 is 50, not 2."""
    low, high = rows(built.db, "SELECT min(avg_score_pct), max(avg_score_pct) FROM analytics.assessment_results")[0]
    assert 20 < low <= high < 90
    assert rows(built.db, "SELECT count(*) FROM analytics.assessment_results") == [
        (
            sum(1 for q in built.data.quizzes if q["course"] not in built.data.unreadable_course_ids)
            + sum(1 for a in built.data.assignments if a["course"] not in built.data.unreadable_course_ids),
        )
    ]


def test_engagement_weekly(built):
    cid = expected.course_id(built.data, "CS201")
    start = int(datetime.fromisoformat(CALENDAR_FROM).replace(tzinfo=UTC).timestamp())
    end = int(datetime.fromisoformat(CALENDAR_TO).replace(tzinfo=UTC).timestamp()) + 86400
    want = expected.weekly(built.data, cid, start, end)
    got = {
        str(r["week_start"]): {k: r[k] for k in ("discussions_started", "deadlines", "submissions", "quiz_attempts")}
        for r in _dicts(built.db, "SELECT * FROM analytics.engagement_weekly WHERE courseid = ?", [cid])
    }
    assert got == want
    assert sum(w["deadlines"] for w in want.values()) == 3  # two assignments due, one quiz closing
    week = one(
        built.db,
        "SELECT iso_week, week_start FROM analytics.engagement_weekly WHERE courseid = ? ORDER BY week_start LIMIT 1",
        [cid],
    )
    assert week["iso_week"] == week["week_start"].isocalendar()[1]


def test_at_risk_learners(built):
    for shortname in ("CS201", "DS101"):
        cid = expected.course_id(built.data, shortname)
        want = expected.at_risk(built.data, cid, DEMO_NOW)
        got = {
            r["userid"]: list(r["reasons"])
            for r in _dicts(
                built.db, "SELECT userid, reasons FROM analytics.at_risk_learners WHERE courseid = ?", [cid]
            )
        }
        assert got == want, shortname
    text = one(
        built.db,
        "SELECT reason_text FROM analytics.at_risk_learners WHERE 'inactive' = ANY(reasons) "
        "AND 'overdue_work' = ANY(reasons) ORDER BY courseid, userid LIMIT 1",
    )["reason_text"]
    assert text.startswith("no access for ") and text.endswith("1 overdue assignment")


def test_at_risk_leaves_out_courses_not_running_and_suspended_accounts(built):
    suspended = [u["id"] for u in built.data.users if u["suspended"]]
    assert rows(
        built.db, "SELECT count(*) FROM analytics.at_risk_learners WHERE userid IN (SELECT unnest(?))", [suspended]
    ) == [(0,)]
    assert rows(
        built.db,
        "SELECT DISTINCT status FROM analytics.course_overview WHERE courseid IN "
        "(SELECT courseid FROM analytics.at_risk_learners)",
    ) == [("running",)]


def _dicts(db: str, sql: str, params=None) -> list[dict]:
    from moodle_assets.warehouse import Warehouse

    return Warehouse(db, lock_timeout=10).query_dicts(sql, params)
