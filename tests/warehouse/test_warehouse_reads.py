"""Lookups, queries and analytics models over the warehouse."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from moodle_assets.warehouse import MissingTableError, Warehouse


@pytest.fixture
def courses(warehouse: Warehouse, stage) -> Warehouse:
    warehouse.replace_table(
        "moodle.courses",
        stage(
            [
                {"id": 3, "category": 1, "visible": True},
                {"id": 1, "category": 2, "visible": False},
                {"id": 2, "category": 1, "visible": True},
                {"id": None, "category": 1, "visible": True},
            ]
        ),
    )
    return warehouse


def test_read_column_returns_sorted_distinct_non_null_values(courses: Warehouse) -> None:
    assert courses.read_column("moodle.courses", "id") == [1, 2, 3]
    assert courses.read_column("moodle.courses", "category") == [1, 2]
    assert courses.read_column("moodle.courses", "category", distinct=False) == [1, 1, 1, 2]
    assert courses.read_column("moodle.courses", "id", where="visible") == [2, 3]


def test_read_column_of_missing_table_names_the_asset(warehouse: Warehouse, tmp_path: Path) -> None:
    with pytest.raises(MissingTableError) as excinfo:
        warehouse.read_column("moodle.courses", "id")
    assert isinstance(excinfo.value, LookupError)
    assert str(excinfo.value) == "Table moodle.courses does not exist yet: materialise asset moodle/courses first."
    assert (excinfo.value.table, excinfo.value.column) == ("moodle.courses", "id")


def test_read_column_of_missing_column_lists_the_columns(courses: Warehouse) -> None:
    with pytest.raises(MissingTableError) as excinfo:
        courses.read_column("moodle.courses", "shortname")
    assert str(excinfo.value) == (
        "Table moodle.courses has no column 'shortname' (it has: id, category, visible, _loaded_at); "
        "fix the lookup or re-materialise asset moodle/courses if its endpoint now returns it."
    )


def test_table_exists_does_not_create_the_database(warehouse: Warehouse) -> None:
    assert warehouse.table_exists("moodle.courses") is False
    assert not os.path.exists(warehouse.path)


def test_table_exists_after_load(courses: Warehouse) -> None:
    assert courses.table_exists("moodle.courses") is True
    assert courses.table_exists("moodle.users") is False
    assert courses.table_exists("analytics.courses") is False


def test_query_and_query_dicts(courses: Warehouse) -> None:
    assert courses.query("SELECT id FROM moodle.courses WHERE category = ? ORDER BY id", [1]) == [(2,), (3,), (None,)]
    assert courses.query_dicts("SELECT id, visible FROM moodle.courses WHERE id = $id", {"id": 1}) == [
        {"id": 1, "visible": False}
    ]


def test_queries_are_read_only_unless_asked(courses: Warehouse) -> None:
    with pytest.raises(Exception) as excinfo:
        courses.query("DELETE FROM moodle.courses")
    assert "read-only" in str(excinfo.value)
    courses.query("DELETE FROM moodle.courses WHERE id IS NULL", read_only=False)
    assert courses.query("SELECT count(*) FROM moodle.courses") == [(3,)]


def test_create_table_as_builds_an_analytics_model(courses: Warehouse) -> None:
    result = courses.create_table_as(
        "analytics.courses_per_category",
        "SELECT category, count(*) AS courses FROM moodle.courses WHERE visible = ? GROUP BY category",
        [True],
        meta={"model": "courses_per_category"},
    )
    assert result.row_count == 1
    assert result.columns == {"category": "BIGINT", "courses": "BIGINT", "_loaded_at": "TIMESTAMP WITH TIME ZONE"}
    assert courses.query("SELECT category, courses, _loaded_at FROM analytics.courses_per_category") == [
        (1, 3, result.loaded_at)
    ]
    assert courses.query("SELECT row_count FROM moodle._loads WHERE table_name = 'analytics.courses_per_category'") == [
        (1,)
    ]


def test_nested_connections_in_one_process_share_the_file(courses: Warehouse) -> None:
    with courses.connect() as writer:
        writer.execute("BEGIN TRANSACTION")
        writer.execute("UPDATE moodle.courses SET category = 9 WHERE id = 1")
        # A lookup while the write is open joins the same instance and sees committed data.
        assert courses.read_column("moodle.courses", "category") == [1, 2]
        writer.execute("COMMIT")
    assert courses.read_column("moodle.courses", "category") == [1, 9]


def test_memory_database_persists_across_calls(stage) -> None:
    warehouse = Warehouse(":memory:")
    warehouse.replace_table("moodle.courses", stage([{"id": 1}]))
    assert warehouse.read_column("moodle.courses", "id") == [1]
    assert warehouse.refresh_snapshot() is None
