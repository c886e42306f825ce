"""Raw tables have the types their functions declare and explain themselves, in Dagster and
in DuckDB; their unix times are timestamps in moodle_t."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from moodle_assets.endpoints import load_specs
from moodle_assets.endpoints.columns import declared_columns, field_history, spec_fields, unix_time_columns
from moodle_assets.endpoints.extract import extract_records
from moodle_assets.moodle.schemas import SCHEMA_FILES, all_schemas
from moodle_assets.warehouse import StagedRecords, Warehouse
from tests.assets.conftest import Harvest
from tests.assets.helpers import rows

SPECS = load_specs(include_user=False)
RECORDINGS = Path(__file__).parents[1] / "fixtures" / "demo"


def _nodes(node: dict):
    yield node
    for child in (node.get("keys") or {}).values():
        yield from _nodes(child)
    if node.get("content"):
        yield from _nodes(node["content"])


def test_the_45_structures_keep_moodles_words():
    """Every function has its description and every node of its structures its desc."""
    schemas = all_schemas("4.5")
    assert all(f.get("description") for f in schemas.values())
    for name, function in schemas.items():
        for part in ("params", "returns"):
            assert all("desc" in node for node in _nodes(function[part] or {})), (name, part)


def test_declared_types_follow_moodles_param_types():
    by_name = {s.name: s for s in SPECS}
    types = declared_columns(by_name["assignment_submissions"], SPECS)
    assert types["timestarted"] == "BIGINT" and types["assignmentid"] == "BIGINT"  # PARAM_INT, also the parent's key
    assert types["status"] == "VARCHAR" and types["plugins"] == "JSON"
    assert declared_columns(by_name["quizzes"], SPECS)["sumgrades"] == "DOUBLE"  # PARAM_FLOAT
    assert declared_columns(by_name["users"], SPECS)["suspended"] == "BOOLEAN"  # PARAM_BOOL
    assert declared_columns(by_name["course_modules"], SPECS)["courseid"] == "BIGINT"  # key of the parent's lookup
    assert list(declared_columns(by_name["enrolled_users"], SPECS))[:2] == ["courseid", "id"]  # context first
    # Times: PARAM_INT named or described as a time, never a length of time.
    assert unix_time_columns(by_name["quizzes"], SPECS) == ["timeopen", "timeclose", "timecreated", "timemodified"]
    assert "timeduration" not in unix_time_columns(by_name["calendar_events"], SPECS)
    assert "lastcourseaccess" in unix_time_columns(by_name["enrolled_users"], SPECS)


def _recorded(folder: Path):
    for path in sorted(folder.glob("*.json")):
        recording = json.loads(path.read_text(encoding="utf-8"))
        body = recording.get("body")
        if isinstance(body, (dict, list)) and not (isinstance(body, dict) and "exception" in body):
            yield path.name, recording["function"], body


@pytest.mark.parametrize(("folder", "at_least"), [("recordings", 40), ("recordings-5.0", 5)])
def test_every_recorded_answer_loads_with_the_declared_types(folder, at_least, tmp_path):
    """Real Moodle answers fit the types their functions declare (no column widens), and load."""
    warehouse = Warehouse(str(tmp_path / "w.duckdb"))
    loaded = 0
    for name, function, body in _recorded(RECORDINGS / folder):
        for spec in (s for s in SPECS if function in (s.function, *(a.function for a in s.alternatives))):
            records = extract_records(body, spec.data_path, spec.parent_fields, spec.scalar_column)
            with StagedRecords(staging_dir=tmp_path, columns=declared_columns(spec, SPECS)) as staged:
                staged.add(records)
                # A discussion's attachment (PARAM_RAW) comes as false: a text column reads it as 'false'.
                assert staged.widened == {}, (name, spec.name, staged.widened)
                warehouse.replace_table(f"moodle.{spec.name}", staged)
                loaded += 1
    assert loaded >= at_least


def test_a_declared_type_that_does_not_fit_widens_instead_of_failing(tmp_path):
    spec = next(s for s in SPECS if s.name == "assignment_submissions")
    with StagedRecords(staging_dir=tmp_path, columns=declared_columns(spec, SPECS)) as staged:
        staged.add([{"id": "12", "timestarted": "not a time", "status": "new"}], {"assignmentid": 3})
        assert staged.widened == {"timestarted": "BIGINT -> VARCHAR"}  # "12" still fits BIGINT
        result = Warehouse(str(tmp_path / "w.duckdb")).replace_table("moodle.x", staged)
    assert result.columns["id"] == "BIGINT" and result.columns["timestarted"] == "VARCHAR"


def _columns(db: str, schema: str) -> dict[tuple[str, str], tuple[str, str | None]]:
    return {
        (t, c): (ty, comment)
        for t, c, ty, comment in rows(
            db,
            "SELECT table_name, column_name, data_type, comment FROM duckdb_columns() "
            "WHERE database_name = current_database() AND schema_name = ?",
            [schema],
        )
    }


def test_null_only_fields_keep_their_declared_type(full_harvest: Harvest):
    db = full_harvest.db
    columns = _columns(db, "moodle")
    assert rows(db, "SELECT count(timestarted) FROM moodle.assignment_submissions") == [(0,)]
    assert columns[("assignment_submissions", "timestarted")][0] == "BIGINT"
    assert columns[("user_badges", "expiredate")][0] == "BIGINT"
    for spec in SPECS:
        if spec.partition:
            continue
        for name, field in spec_fields(spec, SPECS).items():
            assert columns[(spec.name, name)][0] == field.column_type, (spec.name, name)


def test_every_raw_column_explains_itself_in_dagster_and_duckdb(full_harvest: Harvest):
    db, meta = full_harvest.db, full_harvest.meta
    columns = _columns(db, "moodle")
    tables = dict(rows(db, "SELECT table_name, comment FROM duckdb_tables() WHERE schema_name = 'moodle'"))
    for spec in SPECS:
        if spec.partition:
            continue
        assert tables[spec.name] and spec.description.split()[0] in tables[spec.name], spec.name
        described = {c.name: c.description for c in meta[spec.name]["dagster/column_schema"].columns}
        for (table, column), (_, comment) in columns.items():
            if table == spec.name:
                assert comment and comment == described[column], (table, column, comment, described.get(column))
    assert "Returns the submissions for assignments" in tables["assignment_submissions"]
    assert columns[("assignment_submissions", "timestarted")][1].startswith("Submission start time. Unix time")
    assert columns[("enrolled_users", "courseid")][1] == "The courses.id value this row was fetched for."
    assert columns[("assignment_submissions", "assignmentid")][1].startswith("Assignment id (assignmentid of the")
    assert tables["_loads"] and tables["_errors"] and tables["_items"]
    undescribed = rows(
        db,
        "SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name IN "
        "('moodle', 'moodle_t') AND comment IS NULL",
    )
    assert undescribed == []


def test_moodle_t_has_every_table_with_times_as_timestamps(full_harvest: Harvest):
    db = full_harvest.db
    raw, typed = _columns(db, "moodle"), _columns(db, "moodle_t")
    for spec in SPECS:
        if spec.partition:
            continue
        times = set(unix_time_columns(spec, SPECS))
        for (table, column), (type_, _) in raw.items():
            if table == spec.name:
                expected = "TIMESTAMP WITH TIME ZONE" if column in times else type_
                assert typed[(table, column)][0] == expected, (table, column)
    # 0 is "never": NULL, and the other values are the same instants.
    [(never, zero, same)] = rows(
        db,
        """
        SELECT count(*) FILTER (WHERE t.lastcourseaccess IS NULL), count(*) FILTER (WHERE e.lastcourseaccess = 0),
               bool_and(e.lastcourseaccess = 0 OR epoch(t.lastcourseaccess) = e.lastcourseaccess)
        FROM moodle.enrolled_users e JOIN moodle_t.enrolled_users t USING (courseid, id)""",
    )
    assert never == zero > 0 and same


def test_the_file_opened_directly_has_the_comments(full_harvest: Harvest, tmp_path):
    """What a SQL client sees: duckdb_columns() of the file itself."""
    copy = tmp_path / "copy.duckdb"
    copy.write_bytes(Path(full_harvest.db).read_bytes())
    with duckdb.connect(str(copy), read_only=True) as con:
        [(comment,)] = con.sql(
            "SELECT comment FROM duckdb_columns() WHERE schema_name = 'moodle_t' "
            "AND table_name = 'quizzes' AND column_name = 'timeopen'"
        ).fetchall()
    assert comment.startswith("The time when this quiz opens. (0 = no restriction.)")


def test_field_history_knows_every_release():
    assert list(SCHEMA_FILES) == ["4.5", "5.0"]
    badge = field_history("core_badges_get_user_badges", "$.badges[*]")
    assert badge["imageauthorname"].removed == "5.0" and badge["coursefullname"].since == "5.0"
