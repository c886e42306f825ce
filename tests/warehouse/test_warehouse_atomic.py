"""A failed load leaves the previous table, its errors and its load history untouched."""

from __future__ import annotations

import pytest

from moodle_assets.warehouse import Warehouse, bookkeeping
from moodle_assets.warehouse import warehouse as warehouse_module


def _tables(warehouse: Warehouse) -> list[tuple[str, str]]:
    return warehouse.query("SELECT table_schema, table_name FROM information_schema.tables ORDER BY ALL")


def test_replace_table_replaces_rows_and_shape(warehouse: Warehouse, stage) -> None:
    warehouse.replace_table("moodle.courses", stage([{"id": 1, "old": "x"}]))
    result = warehouse.replace_table("moodle.courses", stage([{"id": 2, "new": 1.5}, {"id": 3}]))
    assert result.columns == {"id": "BIGINT", "new": "DOUBLE", "_loaded_at": "TIMESTAMP WITH TIME ZONE"}
    assert warehouse.query("SELECT id, new FROM moodle.courses ORDER BY id") == [(2, 1.5), (3, None)]
    assert _tables(warehouse) == [("moodle", "_errors"), ("moodle", "_loads"), ("moodle", "courses")]


@pytest.mark.parametrize("failure", [RuntimeError("disk full"), KeyboardInterrupt("disk full")])
def test_failure_midway_through_replace_leaves_previous_table(
    warehouse: Warehouse, stage, monkeypatch, failure: BaseException
) -> None:
    first = warehouse.replace_table(
        "moodle.courses",
        stage([{"id": 1, "name": "old"}]),
        errors=[{"item": {"courseid": 9}, "function": "f", "errorcode": "nopermission", "message": "m"}],
    )

    def explode(*args, **kwargs):
        raise failure

    # The new table is built, the old one dropped and renamed over before this step fails.
    monkeypatch.setattr(bookkeeping, "record_loads", explode)
    with pytest.raises(type(failure), match="^disk full$"):
        warehouse.replace_table("moodle.courses", stage([{"id": 2, "extra": True}]), errors=[])

    assert warehouse.query_dicts("SELECT * FROM moodle.courses") == [
        {"id": 1, "name": "old", "_loaded_at": first.loaded_at}
    ]
    assert _tables(warehouse) == [("moodle", "_errors"), ("moodle", "_loads"), ("moodle", "courses")]
    assert warehouse.query("SELECT errorcode FROM moodle._errors") == [("nopermission",)]
    assert warehouse.query("SELECT table_name, row_count FROM moodle._loads") == [("moodle.courses", 1)]


def test_failure_in_partition_replace_rolls_back_schema_changes(warehouse: Warehouse, stage, monkeypatch) -> None:
    warehouse.replace_partitions(
        "moodle.logs", stage([{"id": 1, "n": 5}], context={"day": "d1"}), partition_column="day", partitions=["d1"]
    )

    def explode(*args, **kwargs):
        raise RuntimeError("interrupted")

    monkeypatch.setattr(bookkeeping, "replace_errors", explode)
    with pytest.raises(RuntimeError, match="^interrupted$"):
        warehouse.replace_partitions(
            "moodle.logs",
            stage([{"id": 2, "n": "text", "added": 1}], context={"day": "d1"}),
            partition_column="day",
            partitions=["d1"],
        )

    assert warehouse.query("SELECT column_name, column_type FROM (DESCRIBE moodle.logs)") == [
        ("day", "VARCHAR"),
        ("id", "BIGINT"),
        ("n", "BIGINT"),
        ("_loaded_at", "TIMESTAMP WITH TIME ZONE"),
    ]
    assert warehouse.query("SELECT day, id, n FROM moodle.logs") == [("d1", 1, 5)]


def test_bad_staged_file_fails_before_touching_the_table(warehouse: Warehouse, stage) -> None:
    warehouse.replace_table("moodle.courses", stage([{"id": 1}]))
    broken = stage([{"id": 2}])
    [path] = broken.paths()
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("{not json\n")
    with pytest.raises(Exception) as excinfo:
        warehouse.replace_table("moodle.courses", broken)
    assert "Malformed JSON" in str(excinfo.value)
    assert warehouse.query("SELECT id FROM moodle.courses") == [(1,)]


def test_table_names_must_be_qualified(warehouse: Warehouse, stage) -> None:
    with pytest.raises(ValueError) as excinfo:
        warehouse.replace_table("courses", stage([{"id": 1}]))
    assert str(excinfo.value) == "Table name 'courses' must look like 'schema.name' (e.g. 'moodle.courses')."


def test_loaded_at_is_reserved(warehouse: Warehouse, stage) -> None:
    with pytest.raises(ValueError) as excinfo:
        warehouse.replace_table("moodle.courses", stage([{"_loaded_at": 1}]))
    assert str(excinfo.value) == "Column '_loaded_at' is reserved for the load time; rename that field."


def test_odd_identifiers_are_quoted(warehouse: Warehouse, stage) -> None:
    warehouse.replace_table('moodle.we"ird', stage([{"select": 1, "a b": "x", 'q"uote': True}]))
    assert warehouse.query('SELECT "select", "a b", "q""uote" FROM moodle."we""ird"') == [(1, "x", True)]


def test_module_exposes_reserved_column_name() -> None:
    assert warehouse_module.LOADED_AT == "_loaded_at"
