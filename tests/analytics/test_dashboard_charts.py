"""The dashboard's grouped charts, from hand-written analytics rows with hand-summed values."""

import subprocess
import sys
from datetime import date
from pathlib import Path

from moodle_assets.analytics.report import DashboardData, figures

ROW = {
    "status": "running",
    "enrolled_learners": 4,
    "active_7d": 1,
    "active_30d": 2,
    "completion_tracked": 4,
    "completed_learners": 2,
    "assignments": 1,
    "quizzes": 1,
}
COURSES = [
    {**ROW, "courseid": 2, "shortname": "BIO101", "completion_rate": 0.5, "avg_grade_pct": 71.0},
    {**ROW, "courseid": 3, "shortname": "ART", "completion_rate": None, "avg_grade_pct": None},
]
WEEKLY = [
    # courseid, course_shortname, week_start, discussions_started, submissions, quiz_attempts
    (2, "BIO101", date(2026, 11, 16), 1, 2, 3),
    (2, "BIO101", date(2026, 11, 9), 0, 4, 0),
    (3, "ART", date(2026, 11, 9), 2, 0, 0),
    (9, None, date(2026, 11, 9), 0, 0, 1),  # a course gone from course_overview: its id
]
AT_RISK = [(2, "*", 3), (2, "inactive", 2), (2, "never_accessed", 1), (3, "*", 1), (3, "overdue_work", 1)]


def data() -> DashboardData:
    keys = ("courseid", "course_shortname", "week_start", "discussions_started", "submissions", "quiz_attempts")
    return DashboardData(
        courses=COURSES,
        weekly=[dict(zip(keys, row, strict=True)) for row in WEEKLY],
        at_risk=[{"courseid": c, "reason": r, "learners": n} for c, r, n in AT_RISK],
    )


def test_engagement_has_a_line_per_course_with_weekly_sums():
    engagement = figures(data())[2]
    lines = {t.name: (list(t.x), list(t.y)) for t in engagement.data}
    assert lines == {
        "ART": (["2026-11-09"], [2]),
        "BIO101": (["2026-11-09", "2026-11-16"], [4, 6]),
        "9": (["2026-11-09"], [1]),
    }
    assert [t.name for t in engagement.data] == ["9", "ART", "BIO101"]
    assert all(t.mode == "lines+markers" for t in engagement.data)


def test_at_risk_has_a_bar_per_reason_in_the_reasons_order_without_the_totals():
    risk = figures(data())[3]
    bars = [(t.name, list(t.x), list(t.y)) for t in risk.data]
    assert bars == [("never opened", ["BIO101"], [1]), ("inactive", ["BIO101"], [2]), ("overdue work", ["ART"], [1])]
    assert risk.layout.barmode == "group"
    assert list(risk.layout.xaxis.categoryarray) == ["BIO101", "ART"]


def test_rendering_the_dashboard_does_not_import_pandas():
    code = (
        "import sys\n"
        "import moodle_assets.definitions\n"
        "from moodle_assets.analytics.report import render\n"
        "from tests.analytics.test_dashboard_charts import data\n"
        "render(data())\n"
        "assert 'pandas' not in sys.modules, 'pandas was imported'\n"
    )
    root = Path(__file__).resolve().parents[2]  # the project: `tests` imports from there, wherever pytest runs
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=root)
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_dashboard_before_its_models_names_what_to_materialise(tmp_path):
    """Run alone on a new warehouse (a user's first click on it in the UI): one Failure saying
    which models to materialise, not DuckDB's catalog error."""
    import pytest
    from dagster import Failure

    from moodle_assets.analytics.dashboard import read_dashboard_data
    from moodle_assets.warehouse import Warehouse

    with pytest.raises(Failure) as raised:
        read_dashboard_data(Warehouse(str(tmp_path / "new.duckdb")), now=0)
    message = str(raised.value.description)
    assert "analytics.course_overview" in message and "analytics.assessment_results" in message
    assert "materialise analytics/course_overview, analytics/engagement_weekly" in message
