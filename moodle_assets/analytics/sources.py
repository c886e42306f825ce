"""Raw tables as the models need them, even before they hold any data.

A raw table's columns come from what Moodle returned: an endpoint that found no quizzes
leaves ``moodle.quiz_attempts`` with only its declared columns, and the partitioned
``moodle.calendar_events`` does not exist until a partition has been loaded. The models
should still build (with zeros), so each ``moodle.<table>`` a model reads is swapped for a
subquery that adds the missing columns as typed NULLs — or, for a missing table, an empty
relation of the same shape. Tables that are complete are read as they are.

A missing *column* is Moodle having returned nothing of that kind. A missing *table* is an
asset that was never materialised: the model's figures from it are zeros that mean "not
loaded", not "none". The build records which tables it lacked (and which its upstream
models lacked) in its ``moodle._loads`` row, and the ``raw_tables_loaded`` check fails on
them, naming the assets to materialise.

A model may read a table through ``moodle_t`` (its unix times as timestamps, NULL for 0): such
a reference is replaced by the same conversion over the (completed) ``moodle.<table>``, so it
works before the view exists (a table loaded by an older version) and over a missing table.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from typing import Any

from moodle_assets.common import quote_identifier
from moodle_assets.warehouse import Warehouse
from moodle_assets.warehouse.notes import epoch_view_sql

# The columns each model reads, with the types they have when Moodle returns them.
SOURCE_COLUMNS: dict[str, dict[str, str]] = {
    "courses": {
        "id": "BIGINT",
        "shortname": "VARCHAR",
        "fullname": "VARCHAR",
        "visible": "BIGINT",
        "startdate": "BIGINT",
        "enddate": "BIGINT",
    },
    "users": {"id": "BIGINT", "suspended": "BOOLEAN"},
    "enrolled_users": {
        "courseid": "BIGINT",
        "id": "BIGINT",
        "fullname": "VARCHAR",
        "lastcourseaccess": "BIGINT",
        "roles": "JSON",
    },
    "activity_completion": {
        "courseid": "BIGINT",
        "userid": "BIGINT",
        "cmid": "BIGINT",
        "state": "BIGINT",
        "tracking": "BIGINT",
    },
    "course_completion": {"courseid": "BIGINT", "userid": "BIGINT", "completed": "BOOLEAN", "completions": "JSON"},
    "grade_items": {
        "courseid": "BIGINT",
        "userid": "BIGINT",
        "itemtype": "VARCHAR",
        "itemmodule": "VARCHAR",
        "iteminstance": "BIGINT",
        "graderaw": "DOUBLE",
        "grademin": "DOUBLE",
        "grademax": "DOUBLE",
    },
    "course_modules": {
        "courseid": "BIGINT",
        "id": "BIGINT",
        "completion": "BIGINT",
        "modname": "VARCHAR",
        "candisplay": "BOOLEAN",
    },  # candisplay: Moodle 5.0+
    "assignments": {
        "id": "BIGINT",
        "cmid": "BIGINT",
        "course": "BIGINT",
        "name": "VARCHAR",
        "duedate": "BIGINT",
        "nosubmissions": "BIGINT",
    },
    "assignment_submissions": {
        "assignmentid": "BIGINT",
        "userid": "BIGINT",
        "status": "VARCHAR",
        "timemodified": "BIGINT",
    },
    "quizzes": {
        "id": "BIGINT",
        "coursemodule": "BIGINT",
        "course": "BIGINT",
        "name": "VARCHAR",
        "timeclose": "BIGINT",
        "sumgrades": "DOUBLE",
    },
    "quiz_attempts": {
        "quiz": "BIGINT",
        "userid": "BIGINT",
        "state": "VARCHAR",
        "sumgrades": "DOUBLE",
        "timestart": "BIGINT",
        "preview": "BIGINT",
    },
    "forums": {"id": "BIGINT", "course": "BIGINT"},
    "forum_discussions": {"forumid": "BIGINT", "created": "BIGINT"},
    "calendar_events": {"courseid": "BIGINT", "eventtype": "VARCHAR", "timestart": "BIGINT"},
}

_REFERENCE = re.compile(r"\b(moodle|moodle_t)\.([A-Za-z_][A-Za-z0-9_]*)\b")


@functools.cache
def time_columns() -> dict[str, tuple[str, ...]]:
    """The unix-time columns of every built-in table, as ``moodle_t`` converts them."""
    from moodle_assets.endpoints import load_specs
    from moodle_assets.endpoints.columns import unix_time_columns

    specs = load_specs(include_user=False)
    return {spec.name: tuple(unix_time_columns(spec, specs)) for spec in specs}


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
    replacements: dict[tuple[str, str], str] = {}
    references = set(_REFERENCE.findall(sql))
    for table in sorted({name for _, name in references}):
        wanted = SOURCE_COLUMNS.get(table)
        if wanted is None:
            continue
        source, columns = f"moodle.{quote_identifier(table)}", set(present.get(table, ()))
        if table not in present:
            nulls = ", ".join(f"CAST(NULL AS {t}) AS {quote_identifier(c)}" for c, t in wanted.items())
            source = replacements["moodle", table] = f"(SELECT {nulls} WHERE false)"
            columns = set(wanted)
            missing[table] = ["*"]
        elif absent := [c for c in wanted if c not in present[table]]:
            extra = ", ".join(f"CAST(NULL AS {wanted[c]}) AS {quote_identifier(c)}" for c in absent)
            source = replacements["moodle", table] = f"(SELECT *, {extra} FROM moodle.{quote_identifier(table)})"
            columns |= set(absent)
            missing[table] = absent
        if ("moodle_t", table) in references:
            times = [c for c in time_columns().get(table, ()) if c in columns]
            replacements["moodle_t", table] = f"({epoch_view_sql(source, times, times)})"
    if not replacements:
        return sql, missing
    return _REFERENCE.sub(lambda m: replacements.get((m.group(1), m.group(2)), m.group(0)), sql), missing


def missing_tables(missing: Mapping[str, list[str]]) -> list[str]:
    """The raw tables (``moodle.<name>``) of ``missing`` that did not exist at all."""
    return sorted(f"moodle.{table}" for table, columns in missing.items() if list(columns) == ["*"])


def last_build(warehouse: Warehouse, table: str) -> dict[str, Any]:
    """The ``meta`` of ``table``'s latest ``moodle._loads`` row ({} if it has none)."""
    if not warehouse.table_exists("moodle._loads"):
        return {}
    rows = warehouse.query(
        "SELECT meta FROM moodle._loads WHERE table_name = ? ORDER BY loaded_at DESC, rowid DESC LIMIT 1", [table]
    )
    if not rows or rows[0][0] is None:
        return {}
    meta = rows[0][0]
    return json.loads(meta) if isinstance(meta, str) else dict(meta)


def tables_built_without(meta: Mapping[str, Any]) -> list[str]:
    """Every raw table a build lacked: its own and, through them, its upstream models'."""
    own = meta.get("missing_tables")
    if own is None:  # a build recorded before missing_tables existed
        own = missing_tables(meta.get("missing") or {})
    inherited = [t for tables in (meta.get("upstream_missing") or {}).values() for t in tables]
    return sorted({*own, *inherited})
