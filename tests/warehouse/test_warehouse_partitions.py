"""Partition replace: idempotent backfills, schema evolution, per-partition bookkeeping."""

from __future__ import annotations

import pytest

from moodle_assets.warehouse import Warehouse

TABLE = "moodle.logs"


def _load(warehouse: Warehouse, stage, day_records: dict[str, list[dict]], **kwargs):
    staged = stage()
    for day, records in day_records.items():
        staged.add(records, context={"day": day})
    return warehouse.replace_partitions(TABLE, staged, partition_column="day", partitions=list(day_records), **kwargs)


def test_rerun_replaces_own_partition_only_and_leaves_no_duplicates(warehouse: Warehouse, stage) -> None:
    _load(warehouse, stage, {"2024-01-01": [{"id": 1}, {"id": 2}], "2024-01-02": [{"id": 3}]})
    for _ in range(2):
        result = _load(warehouse, stage, {"2024-01-01": [{"id": 10}]})
    assert result.row_count == 1
    assert result.partitions == ["2024-01-01"]
    assert warehouse.query(f"SELECT day, id FROM {TABLE} ORDER BY day, id") == [("2024-01-01", 10), ("2024-01-02", 3)]


def test_empty_partition_load_clears_that_partition(warehouse: Warehouse, stage) -> None:
    _load(warehouse, stage, {"a": [{"id": 1}], "b": [{"id": 2}]})
    result = _load(warehouse, stage, {"a": []})
    assert result.row_count == 0
    assert warehouse.query(f"SELECT day, id FROM {TABLE}") == [("b", 2)]


def test_first_load_may_be_empty(warehouse: Warehouse, stage) -> None:
    result = warehouse.replace_partitions(
        TABLE, stage([], columns={"courseid": "BIGINT"}), partition_column="day", partitions=["x"]
    )
    assert result.columns == {"day": "VARCHAR", "courseid": "BIGINT", "_loaded_at": "TIMESTAMP WITH TIME ZONE"}
    assert warehouse.query(f"SELECT count(*) FROM {TABLE}") == [(0,)]


def test_integer_partition_column_matches_text_keys(warehouse: Warehouse, stage) -> None:
    for courseid, ids in ((7, [1, 2]), (8, [3]), (7, [4])):
        warehouse.replace_partitions(
            "moodle.attempts",
            stage([{"id": i} for i in ids], context={"courseid": courseid}),
            partition_column="courseid",
            partitions=[str(courseid)],
        )
    assert warehouse.query("SELECT courseid, id FROM moodle.attempts ORDER BY id") == [(8, 3), (7, 4)]


def test_new_fields_add_columns_and_old_rows_read_null(warehouse: Warehouse, stage) -> None:
    _load(warehouse, stage, {"a": [{"id": 1}]})
    result = _load(warehouse, stage, {"b": [{"id": 2, "newfield": {"k": [1]}}]})
    assert result.columns == {
        "day": "VARCHAR",
        "id": "BIGINT",
        "_loaded_at": "TIMESTAMP WITH TIME ZONE",
        "newfield": "JSON",
    }
    assert warehouse.query(f"SELECT day, id, newfield->>'$.k[0]' FROM {TABLE} ORDER BY id") == [
        ("a", 1, None),
        ("b", 2, "1"),
    ]


def test_conflicting_types_widen_and_keep_old_values(warehouse: Warehouse, stage) -> None:
    _load(warehouse, stage, {"a": [{"id": 1, "v": 5, "j": 1}]})
    assert _load(warehouse, stage, {"b": [{"id": 2, "v": 2.5, "j": "s"}]}).columns["v"] == "DOUBLE"
    result = _load(warehouse, stage, {"c": [{"id": 3, "v": "57.00000", "j": {"x": None}}]})
    assert result.columns["v"] == "VARCHAR"
    assert result.columns["j"] == "JSON"
    rows = warehouse.query(f"SELECT id, v, j FROM {TABLE} ORDER BY id")
    # j went BIGINT -> VARCHAR -> JSON, so the first value became the text "1" on the way.
    assert rows == [(1, "5.0", '"1"'), (2, "2.5", '"s"'), (3, "57.00000", '{"x":null}')]


def test_narrower_staged_type_loads_into_wider_column(warehouse: Warehouse, stage) -> None:
    _load(warehouse, stage, {"a": [{"id": 1, "v": "text"}]})
    result = _load(warehouse, stage, {"b": [{"id": 2, "v": 12}]})
    assert result.columns["v"] == "VARCHAR"
    assert warehouse.query(f"SELECT v FROM {TABLE} ORDER BY id") == [("text",), ("12",)]


def test_records_outside_the_partitions_are_refused(warehouse: Warehouse, stage) -> None:
    _load(warehouse, stage, {"a": [{"id": 1}]})
    staged = stage([{"id": 2}], context={"day": "a"})
    staged.add([{"id": 3}], context={"day": "z"})
    staged.add([{"id": 4, "day": None}])
    with pytest.raises(ValueError) as excinfo:
        warehouse.replace_partitions(TABLE, staged, partition_column="day", partitions=["a"])
    assert str(excinfo.value) == "Records for moodle.logs fall outside the partitions being replaced (a): day = NULL, z"
    assert warehouse.query(f"SELECT id FROM {TABLE}") == [(1,)]


def test_records_without_partition_column_are_refused(warehouse: Warehouse, stage) -> None:
    with pytest.raises(ValueError) as excinfo:
        warehouse.replace_partitions(TABLE, stage([{"id": 1}]), partition_column="day", partitions=["a"])
    assert str(excinfo.value) == (
        "Records for moodle.logs lack the partition column 'day'; pass it as load context so every record "
        "carries its partition."
    )


def test_errors_and_loads_are_kept_per_partition(warehouse: Warehouse, stage) -> None:
    errors = [
        {
            "item": {"courseid": 5},
            "function": "core_x",
            "errorcode": "nopermission",
            "message": "No",
            "partition_key": "a",
        },
        {"item": 6, "function": "core_x", "errorcode": "invalidrecord", "message": "Gone"},
    ]
    first = _load(warehouse, stage, {"a": [{"id": 1}, {"id": 2}], "b": [{"id": 3}]}, errors=errors, meta={"calls": 4})
    error_sql = (
        "SELECT table_name, partition_key, item, function, errorcode, message FROM moodle._errors "
        "ORDER BY partition_key, errorcode"
    )
    assert warehouse.query(error_sql) == [
        ("moodle.logs", "a", "6", "core_x", "invalidrecord", "Gone"),
        ("moodle.logs", "a", '{"courseid":5}', "core_x", "nopermission", "No"),
        ("moodle.logs", "b", "6", "core_x", "invalidrecord", "Gone"),
    ]
    assert warehouse.query("SELECT DISTINCT _loaded_at FROM moodle._errors") == [(first.loaded_at,)]

    # Re-running partition a clears its errors and leaves b's.
    second = _load(warehouse, stage, {"a": [{"id": 1}]}, meta={"calls": 1})
    assert warehouse.query(error_sql) == [("moodle.logs", "b", "6", "core_x", "invalidrecord", "Gone")]

    loads = warehouse.query(
        "SELECT table_name, partition_key, row_count, loaded_at, meta->>'calls' FROM moodle._loads "
        "ORDER BY loaded_at, partition_key"
    )
    assert loads == [
        ("moodle.logs", "a", 2, first.loaded_at, "4"),
        ("moodle.logs", "b", 1, first.loaded_at, "4"),
        ("moodle.logs", "a", 1, second.loaded_at, "1"),
    ]


def test_partitions_must_be_given(warehouse: Warehouse, stage) -> None:
    with pytest.raises(ValueError) as excinfo:
        warehouse.replace_partitions(TABLE, stage([]), partition_column="day", partitions=[])
    assert str(excinfo.value) == "replace_partitions('moodle.logs') needs at least one partition."
