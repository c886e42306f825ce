"""The models read times through moodle_t with the same results as epoch arithmetic, build
before the views exist, and their tables explain every column in DuckDB."""

from __future__ import annotations

import shutil

from moodle_assets.analytics.factory import column_notes
from moodle_assets.analytics.models import ASSESSMENT_RESULTS, COURSE_OVERVIEW, MODELS
from moodle_assets.analytics.settings import AnalyticsSettings
from moodle_assets.analytics.sources import resolve_sources
from moodle_assets.warehouse import Warehouse
from tests.assets.helpers import rows
from tests.conftest import DEMO_NOW


def test_the_time_columns_equal_the_epoch_arithmetic_they_replace(built):
    """What the models said with to_timestamp(NULLIF(x, 0)) and x > 0 AND x < now, they say now
    with moodle_t's timestamps: row for row."""
    assert rows(
        built.db,
        """
        SELECT count(*) FROM analytics.course_overview AS o JOIN moodle.courses AS c ON c.id = o.courseid
        WHERE o.start_date IS DISTINCT FROM to_timestamp(NULLIF(c.startdate, 0))
           OR o.end_date IS DISTINCT FROM to_timestamp(NULLIF(c.enddate, 0))
           OR o.status <> CASE WHEN c.startdate > $now THEN 'upcoming'
                               WHEN c.enddate > 0 AND c.enddate < $now THEN 'ended' ELSE 'running' END""",
        {"now": DEMO_NOW},
    ) == [(0,)]
    assert rows(
        built.db,
        """
        SELECT count(*) FROM analytics.assessment_results AS r
        LEFT JOIN moodle.quizzes AS q ON r.activity_type = 'quiz' AND q.id = r.activity_id
        LEFT JOIN moodle.assignments AS a ON r.activity_type = 'assign' AND a.id = r.activity_id
        WHERE r.due_date IS DISTINCT FROM to_timestamp(NULLIF(coalesce(q.timeclose, a.duedate), 0))""",
    ) == [(0,)]
    assert rows(
        built.db,
        """
        SELECT count(*) FROM analytics.learner_progress AS p
        JOIN moodle.enrolled_users AS e ON e.courseid = p.courseid AND e.id = p.userid
        WHERE p.last_course_access IS DISTINCT FROM to_timestamp(NULLIF(e.lastcourseaccess, 0))
           OR p.days_since_access IS DISTINCT FROM
              CAST(floor(($now - NULLIF(e.lastcourseaccess, 0)) / 86400) AS INTEGER)""",
        {"now": DEMO_NOW},
    ) == [(0,)]
    # Some of each kind, so the comparisons above compared something.
    assert rows(
        built.db,
        "SELECT count(*) FILTER (WHERE last_course_access IS NULL), count(last_course_access) "
        "FROM analytics.learner_progress",
    )[0] > (0, 0)


def test_models_build_over_tables_loaded_before_moodle_t_existed(built, tmp_path):
    """An install upgraded from a version without the views: the models read the conversion
    inline, with the same rows."""
    db = str(tmp_path / "old.duckdb")
    shutil.copy(built.db, db)
    warehouse = Warehouse(db, lock_timeout=10)
    warehouse.query("DROP SCHEMA moodle_t CASCADE", read_only=False)
    settings = AnalyticsSettings(now=DEMO_NOW)
    for model in (COURSE_OVERVIEW, ASSESSMENT_RESULTS):
        sql, missing = resolve_sources(model.sql, warehouse)
        assert "moodle_t." not in sql and missing == {}
        got = warehouse.query(f"SELECT * FROM ({sql}) ORDER BY ALL", settings.params_for(sql, DEMO_NOW))
        want = warehouse.query(f"SELECT * EXCLUDE (_loaded_at) FROM {model.table} ORDER BY ALL")
        assert got == want, model.name


def test_a_missing_table_read_through_moodle_t_is_empty_with_timestamps(tmp_path):
    warehouse = Warehouse(str(tmp_path / "young.duckdb"), lock_timeout=10)
    warehouse.query("CREATE SCHEMA moodle", read_only=False)
    sql, missing = resolve_sources("SELECT duedate, course FROM moodle_t.assignments", warehouse)
    assert missing == {"assignments": ["*"]}
    assert warehouse.query(f"SELECT typeof(duedate), typeof(course) FROM ({sql}) RIGHT JOIN (SELECT 1) ON true") == [
        ("TIMESTAMP WITH TIME ZONE", "BIGINT")
    ]


def test_every_analytics_column_has_its_description_as_a_comment(built):
    comments = {
        (t, c): comment
        for t, c, comment in rows(
            built.db, "SELECT table_name, column_name, comment FROM duckdb_columns() WHERE schema_name = 'analytics'"
        )
    }
    tables = dict(rows(built.db, "SELECT table_name, comment FROM duckdb_tables() WHERE schema_name = 'analytics'"))
    for model in MODELS:
        assert tables[model.name] == model.description
        mine = {c: text for (t, c), text in comments.items() if t == model.name}
        assert mine == column_notes(model), model.name
