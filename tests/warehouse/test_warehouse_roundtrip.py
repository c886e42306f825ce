"""Values land in DuckDB exactly as Moodle sent them, with exact column types."""

from __future__ import annotations

import json
from datetime import UTC

from moodle_assets.warehouse import Warehouse

RECORDS = [
    {
        "id": 1,
        "fullname": "Caf\u00e9 \u2603 \U0001f600 \u0627\u0644\u0639\u0631\u0628\u064a\u0629",
        "summary": "&lt;p&gt;Welcome &amp; enjoy&lt;/p&gt;",
        "grade": "57.00000",
        "score": 0.1,
        "visible": True,
        "huge": 2**63 + 5,
        "maxint": 2**63 - 1,
        "options": {"format": "topics", "numsections": 10},
        "contacts": [{"id": 2, "fullname": "Teacher"}, {"id": 3, "role": {"shortname": "editingteacher"}}],
        "nothing": None,
    },
    {
        "id": 2,
        "fullname": 'quote " backslash \\ newline \n tab \t',
        "summary": "",
        "grade": "-",
        "score": 3,
        "visible": False,
        "huge": 7,
        "maxint": -(2**63),
        "options": {"hiddensections": 0, "deep": {"big": 2**70, "ratio": 57.0, "list": [None, True, "x"]}},
        "contacts": [],
        "nothing": None,
    },
]


def test_every_value_round_trips_with_exact_types(warehouse: Warehouse, stage) -> None:
    result = warehouse.replace_table("moodle.courses", stage(RECORDS))

    expected_types = {
        "id": "BIGINT",
        "fullname": "VARCHAR",
        "summary": "VARCHAR",
        "grade": "VARCHAR",
        "score": "DOUBLE",
        "visible": "BOOLEAN",
        "huge": "VARCHAR",
        "maxint": "BIGINT",
        "options": "JSON",
        "contacts": "JSON",
        "nothing": "VARCHAR",
        "_loaded_at": "TIMESTAMP WITH TIME ZONE",
    }
    assert result.columns == expected_types
    assert result.table == "moodle.courses"
    assert result.row_count == 2
    assert result.partitions is None
    described = warehouse.query("SELECT column_name, column_type FROM (DESCRIBE moodle.courses)")
    assert dict(described) == expected_types

    rows = warehouse.query_dicts("SELECT * FROM moodle.courses ORDER BY id")
    for row, original in zip(rows, RECORDS, strict=True):
        assert row["id"] == original["id"]
        assert row["fullname"] == original["fullname"]
        assert row["summary"] == original["summary"]
        assert row["grade"] == original["grade"]
        assert row["score"] == float(original["score"])
        assert row["visible"] is original["visible"]
        assert row["huge"] == str(original["huge"])
        assert row["maxint"] == original["maxint"]
        assert json.loads(row["options"]) == original["options"]
        assert json.loads(row["contacts"]) == original["contacts"]
        assert row["nothing"] is None


def test_json_columns_answer_json_functions(warehouse: Warehouse, stage) -> None:
    warehouse.replace_table("moodle.courses", stage(RECORDS))
    rows = warehouse.query(
        "SELECT id, options->>'format', json_extract(contacts, '$[1].role.shortname')::VARCHAR, "
        "options->'deep'->>'big', json_array_length(contacts) FROM moodle.courses ORDER BY id"
    )
    assert rows == [(1, "topics", '"editingteacher"', None, 2), (2, None, None, "1180591620717411303424", 0)]


def test_every_row_of_a_load_shares_one_utc_loaded_at(warehouse: Warehouse, stage) -> None:
    result = warehouse.replace_table("moodle.courses", stage(RECORDS))
    assert result.loaded_at.tzinfo is UTC
    stamps = warehouse.query("SELECT DISTINCT _loaded_at FROM moodle.courses")
    assert len(stamps) == 1
    assert stamps[0][0] == result.loaded_at


def test_context_columns_are_stored_where_records_lack_them(warehouse: Warehouse, stage) -> None:
    staged = stage([{"id": 5, "userid": 1}], context={"courseid": 3})
    staged.add([{"id": 6, "userid": 2, "courseid": 44}], context={"courseid": 4})
    warehouse.replace_table("moodle.enrolled_users", staged)
    assert warehouse.query("SELECT courseid, id, userid FROM moodle.enrolled_users ORDER BY id") == [
        (3, 5, 1),
        (44, 6, 2),
    ]


def test_empty_load_creates_table_with_declared_columns(warehouse: Warehouse, stage) -> None:
    result = warehouse.replace_table("moodle.grades", stage([], columns={"courseid": "BIGINT"}))
    assert result.row_count == 0
    assert result.columns == {"courseid": "BIGINT", "_loaded_at": "TIMESTAMP WITH TIME ZONE"}
    assert warehouse.query("SELECT count(*) FROM moodle.grades") == [(0,)]


def test_load_of_records_without_fields_keeps_row_count(warehouse: Warehouse, stage) -> None:
    result = warehouse.replace_table("moodle.blank", stage([{}, {}]))
    assert result.row_count == 2
    assert result.columns == {"_loaded_at": "TIMESTAMP WITH TIME ZONE"}


def test_large_staged_load_goes_through_in_bulk(warehouse: Warehouse, stage) -> None:
    staged = stage(({"id": i, "tags": [i, str(i)]} for i in range(20_000)), buffer_rows=1000)
    result = warehouse.replace_table("moodle.many", staged)
    assert result.row_count == 20_000
    assert warehouse.query("SELECT sum(id), sum((tags->>'$[0]')::BIGINT) FROM moodle.many") == [
        (199_990_000, 199_990_000)
    ]


def test_raw_record_column_round_trips(warehouse: Warehouse, stage) -> None:
    warehouse.replace_table("moodle.courses", stage(RECORDS, context={"siteid": 1}, raw_column="_raw"))
    raws = [json.loads(raw) for (raw,) in warehouse.query("SELECT _raw FROM moodle.courses ORDER BY id")]
    assert raws == RECORDS
