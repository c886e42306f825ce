"""StagedRecords: type tracking, column order, context, flushing to disk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from moodle_assets.warehouse import StagedRecords
from moodle_assets.warehouse.column_types import type_of, widen


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, "BOOLEAN"),
        (0, "BIGINT"),
        (2**63 - 1, "BIGINT"),
        (-(2**63), "BIGINT"),
        (2**63, "VARCHAR"),
        (-(2**63) - 1, "VARCHAR"),
        (57.5, "DOUBLE"),
        ("57.00000", "VARCHAR"),
        ({"a": 1}, "JSON"),
        ([1, 2], "JSON"),
        ([], "JSON"),
        (None, None),
    ],
)
def test_type_of_maps_json_values(value: object, expected: str | None) -> None:
    assert type_of(value) == expected


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("BOOLEAN", "BIGINT", "BIGINT"),
        ("BIGINT", "DOUBLE", "DOUBLE"),
        ("DOUBLE", "BIGINT", "DOUBLE"),
        ("DOUBLE", "VARCHAR", "VARCHAR"),
        ("VARCHAR", "JSON", "JSON"),
        ("JSON", "BOOLEAN", "JSON"),
        (None, "DOUBLE", "DOUBLE"),
        ("BIGINT", None, "BIGINT"),
        ("TIMESTAMP", "BIGINT", "VARCHAR"),
        ("TIMESTAMP", "JSON", "JSON"),
        ("TIMESTAMP", "TIMESTAMP", "TIMESTAMP"),
    ],
)
def test_widen_picks_narrowest_common_type(a: str | None, b: str | None, expected: str) -> None:
    assert widen(a, b) == expected


def test_columns_widen_across_records_and_all_null_is_varchar(stage) -> None:
    staged = stage(
        [
            {"id": 1, "grade": 5, "flag": True, "mixed": 1, "nested": "text", "empty": None},
            {"id": 2, "grade": 5.5, "flag": False, "mixed": "x", "nested": {"k": 1}, "empty": None},
            {"id": 3, "grade": None, "flag": None, "mixed": 2.5, "nested": None},
        ]
    )
    assert staged.columns == {
        "id": "BIGINT",
        "grade": "DOUBLE",
        "flag": "BOOLEAN",
        "mixed": "VARCHAR",
        "nested": "JSON",
        "empty": "VARCHAR",
    }
    assert staged.row_count == 3


def test_context_columns_come_first_and_record_value_wins(stage) -> None:
    staged = stage([{"id": 10, "name": "a"}, {"id": 11, "courseid": 99, "name": "b"}], context={"courseid": 7})
    assert list(staged.columns) == ["courseid", "id", "name"]
    assert staged.columns["courseid"] == "BIGINT"
    assert staged.preview() == [{"courseid": 7, "id": 10, "name": "a"}, {"courseid": 99, "id": 11, "name": "b"}]


def test_declared_columns_lead_and_survive_an_empty_load(stage) -> None:
    staged = stage([], columns={"courseid": "bigint", "userid": "INTEGER"})
    assert staged.columns == {"courseid": "BIGINT", "userid": "BIGINT"}
    assert staged.row_count == 0
    assert staged.preview() == []


def test_declared_type_still_widens_instead_of_failing(stage) -> None:
    staged = stage([{"courseid": "site"}], columns={"courseid": "BIGINT"})
    assert staged.columns == {"courseid": "VARCHAR"}


def test_unknown_declared_type_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError) as excinfo:
        StagedRecords(staging_dir=tmp_path, columns={"t": "TIMESTAMP"})
    assert str(excinfo.value) == (
        "Unsupported column type 'TIMESTAMP'; use one of BOOLEAN, BIGINT, DOUBLE, VARCHAR, JSON."
    )


def test_add_returns_rows_added_per_call(stage) -> None:
    staged = stage()
    assert staged.add(({"i": i} for i in range(3)), context={"page": 1}) == 3
    assert staged.add([{"i": 3}], context={"page": 2}) == 1
    assert staged.row_count == 4


def test_records_stream_to_disk_in_buffer_sized_chunks(stage) -> None:
    staged = stage(({"i": i} for i in range(7)), buffer_rows=3)
    staged_file = staged.directory / "records.ndjson"
    # Six rows were flushed in two chunks; the seventh still sits in the buffer.
    assert staged_file.read_text(encoding="utf-8").count("\n") == 6
    [path] = staged.paths()
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [{"i": i} for i in range(7)]


def test_preview_is_capped_and_copies_records(stage) -> None:
    source = {"n": {"a": 1}}
    staged = stage([source] * 30, preview_rows=4)
    source["n"]["a"] = 2
    assert staged.preview(10) == [{"n": {"a": 1}}] * 4
    assert staged.preview(2) == [{"n": {"a": 1}}] * 2


def test_non_object_record_is_refused_with_a_hint(stage) -> None:
    staged = stage([{"a": 1}])
    with pytest.raises(TypeError) as excinfo:
        staged.add([5])
    assert str(excinfo.value) == (
        "Record 2 is a int, expected a JSON object (point the data path at the objects, not at their values)."
    )


def test_close_deletes_files_and_blocks_further_use(tmp_path: Path) -> None:
    with StagedRecords(staging_dir=tmp_path) as staged:
        staged.add([{"a": 1}])
        directory = staged.directory
        assert directory.parent == tmp_path
        assert directory.exists()
    assert not directory.exists()
    staged.close()
    with pytest.raises(RuntimeError) as excinfo:
        staged.add([{"a": 2}])
    assert str(excinfo.value) == "StagedRecords is closed; stage a new load instead."


def test_raw_column_keeps_the_record_as_sent_and_comes_last(stage) -> None:
    staged = stage([{"id": 1, "n": {"a": [1]}}], context={"courseid": 3}, raw_column="_raw")
    assert list(staged.columns.items()) == [("courseid", "BIGINT"), ("id", "BIGINT"), ("n", "JSON"), ("_raw", "JSON")]
    assert staged.preview() == [{"courseid": 3, "id": 1, "n": {"a": [1]}, "_raw": {"id": 1, "n": {"a": [1]}}}]
