"""What bench/run.py checks the harvests against: the same keys, and the calls the data needs.

A harvest that is fast but loads other rows, or makes calls the data does not need, would
meet the wall target for the wrong reason. So the project's chain tables are compared key
for key with the sequential script's, and its calls by function with what the harvested
tables strictly need, counted here from those tables rather than from the project's code.
"""

from __future__ import annotations

import math

from bench.common import CHAIN, KEYS

ENROL_PAGE = 100  # enrolled_users page size (template default)


def project_keys(db: str, table: str) -> set[tuple]:
    from moodle_assets.warehouse import Warehouse

    cols = ", ".join(KEYS[table])
    return set(Warehouse(db, lock_timeout=10).query(f"SELECT {cols} FROM moodle.{table}"))


def sequential_keys(db: str, table: str) -> set[tuple]:
    import duckdb

    cols = ", ".join(KEYS[table])
    with duckdb.connect(db, read_only=True) as con:
        return set(con.execute(f"SELECT {cols} FROM {table}").fetchall())


def compare_keys(project_db: str, sequential_db: str) -> dict[str, bool]:
    return {t: project_keys(project_db, t) == sequential_keys(sequential_db, t) for t in CHAIN}


def needed_calls(project_db: str) -> dict[str, int]:
    """What the chain's data strictly needs, by function, from the harvested tables.

    Every array-taking function batched at the template's batch size; search_courses stops
    on its total; enrolled users cost ceil(n / page size) pages per course (one call for a
    course without enrolments); one call per course x user and quiz x enrolled user pair
    (Moodle has no batched form of those two functions).
    """
    from moodle_assets.warehouse import Warehouse

    w = Warehouse(project_db, lock_timeout=10)
    courses = w.query("SELECT count(*) FROM moodle.course_index")[0][0]
    per_course = dict(w.query("SELECT courseid, count(*) FROM moodle.enrolled_users GROUP BY courseid"))
    course_ids = [r[0] for r in w.query("SELECT id FROM moodle.courses")]
    pairs = w.query("SELECT count(*) FROM (SELECT DISTINCT courseid, id FROM moodle.enrolled_users)")[0][0]
    quiz_pairs = w.query(
        "SELECT count(*) FROM (SELECT DISTINCT q.id, e.id FROM moodle.quizzes q "
        "JOIN moodle.enrolled_users e ON e.courseid = q.course)"
    )[0][0]
    return {
        "core_course_search_courses": max(1, math.ceil(courses / 100)),
        "core_course_get_courses": max(1, math.ceil(courses / 100)),
        "core_enrol_get_enrolled_users": sum(max(1, math.ceil(per_course.get(c, 0) / ENROL_PAGE)) for c in course_ids),
        "core_completion_get_activities_completion_status": pairs,
        "mod_quiz_get_quizzes_by_courses": max(1, math.ceil(len(course_ids) / 50)),
        "mod_quiz_get_user_attempts": quiz_pairs,
    }
