"""Raw tables as the models need them, even before they hold any data.

A raw table's columns come from what Moodle returned: an endpoint that found no quizzes
leaves ``moodle.quiz_attempts`` with only its declared columns, and the partitioned
``moodle.calendar_events`` does not exist until a partition has been loaded. The models
should still build (with zeros), so each ``moodle.<table>`` a model reads is swapped for a
subquery that adds the missing columns as typed NULLs — or, for a missing table, an empty
relation of the same shape. Tables that are complete are read as they are.
"""

from __future__ import annotations

import re

from moodle_assets.warehouse import Warehouse

# The columns each model reads, with the types they have when Moodle returns them.
SOURCE_COLUMNS: dict[str, dict[str, str]] = {
    "courses": {"id": "BIGINT", "shortname": "VARCHAR", "fullname": "VARCHAR", "visible": "BIGINT",
                "startdate": "BIGINT", "enddate": "BIGINT"},
    "users": {"id": "BIGINT", "suspended": "BOOLEAN"},
    "enrolled_users": {"courseid": "BIGINT", "id": "BIGINT", "fullname": "VARCHAR",
                       "lastcourseaccess": "BIGINT", "roles": "JSON"},
    "activity_completion": {"courseid": "BIGINT", "userid": "BIGINT", "cmid": "BIGINT", "state": "BIGINT",
                            "tracking": "BIGINT"},
    "course_completion": {"courseid": "BIGINT", "userid": "BIGINT", "completed": "BOOLEAN", "completions": "JSON"},
    "grade_items": {"courseid": "BIGINT", "userid": "BIGINT", "itemtype": "VARCHAR", "itemmodule": "VARCHAR",
                    "iteminstance": "BIGINT", "graderaw": "DOUBLE", "grademin": "DOUBLE", "grademax": "DOUBLE"},
    "course_modules": {"courseid": "BIGINT", "id": "BIGINT", "completion": "BIGINT"},
    "assignments": {"id": "BIGINT", "cmid": "BIGINT", "course": "BIGINT", "name": "VARCHAR", "duedate": "BIGINT",
                    "nosubmissions": "BIGINT"},
    "assignment_submissions": {"assignmentid": "BIGINT", "userid": "BIGINT", "status": "VARCHAR",
                               "timemodified": "BIGINT"},
    "quizzes": {"id": "BIGINT", "coursemodule": "BIGINT", "course": "BIGINT", "name": "VARCHAR",
                "timeclose": "BIGINT", "sumgrades": "DOUBLE"},
    "quiz_attempts": {"quiz": "BIGINT", "userid": "BIGINT", "state": "VARCHAR", "sumgrades": "DOUBLE",
                      "timestart": "BIGINT", "preview": "BIGINT"},
    "forums": {"id": "BIGINT", "course": "BIGINT"},
    "forum_discussions": {"forumid": "BIGINT", "created": "BIGINT"},
    "calendar_events": {"courseid": "BIGINT", "eventtype": "VARCHAR", "timestart": "BIGINT"},
}

_REFERENCE = re.compile(r"\bmoodle\.([A-Za-z_][A-Za-z0-9_]*)\b")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def present_columns(warehouse: Warehouse, schema: str = "moodle") -> dict[str, set[str]]:
    """Columns of every table of ``schema``, read in one short query."""
    rows = warehouse.query(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND table_schema = ?",
        [schema],
    )
    tables: dict[str, set[str]] = {}
    for table, column in rows:
        tables.setdefault(table, set()).add(column)
    return tables


def resolve_sources(sql: str, warehouse: Warehouse) -> tuple[str, dict[str, list[str]]]:
    """``sql`` with incomplete ``moodle.<table>`` references replaced, and what was missing
    (table -> columns, ``["*"]`` for a table not materialised yet)."""
    present = present_columns(warehouse)
    missing: dict[str, list[str]] = {}
    replacements: dict[str, str] = {}
    for table in sorted(set(_REFERENCE.findall(sql))):
        wanted = SOURCE_COLUMNS.get(table)
        if wanted is None:
            continue
        if table not in present:
            columns = ", ".join(f"CAST(NULL AS {t}) AS {_ident(c)}" for c, t in wanted.items())
            replacements[table] = f"(SELECT {columns} WHERE false)"
            missing[table] = ["*"]
            continue
        absent = [c for c in wanted if c not in present[table]]
        if absent:
            extra = ", ".join(f"CAST(NULL AS {wanted[c]}) AS {_ident(c)}" for c in absent)
            replacements[table] = f"(SELECT *, {extra} FROM moodle.{_ident(table)})"
            missing[table] = absent
    if not replacements:
        return sql, missing
    return _REFERENCE.sub(lambda m: replacements.get(m.group(1), m.group(0)), sql), missing
