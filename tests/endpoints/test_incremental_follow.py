"""incremental.follow: the kept rows of a table take a followed table's current values (and the
changed query's own checks).

Hand-built tables: user_courses rows with a course's old name and visibility, the courses
table with the new ones. The expectations are the rows as a full re-read would give them,
written out here.
"""

from __future__ import annotations

from types import SimpleNamespace

import duckdb
import pytest

from moodle_assets.endpoints import incremental
from moodle_assets.endpoints.spec_parts import Follow
from moodle_assets.warehouse import Warehouse

RULE = Follow(
    asset="courses",
    match={"id": "id"},
    columns={"fullname": "fullname", "visible": "visible", "category": "categoryid", "marker": "marker"},
)


def spec(rule: Follow | None = RULE):
    return SimpleNamespace(name="user_courses", table="moodle.user_courses", incremental=SimpleNamespace(follow=rule))


@pytest.fixture()
def warehouse(tmp_path) -> Warehouse:
    w = Warehouse(str(tmp_path / "w.duckdb"), snapshot_path=None)
    with duckdb.connect(w.path) as con:
        con.execute("CREATE SCHEMA moodle")
        con.execute(
            "CREATE TABLE moodle.user_courses (userid BIGINT, id BIGINT, fullname VARCHAR, visible BIGINT, "
            "category BIGINT, progress DOUBLE)"
        )
        con.execute(
            "INSERT INTO moodle.user_courses VALUES (4, 2, 'Old name', 1, 5, 50), (5, 2, 'Old name', 1, 5, 0), "
            "(4, 3, 'Statistics', 1, 5, 100)"
        )
        con.execute("CREATE TABLE moodle.courses (id BIGINT, fullname VARCHAR, visible BIGINT, categoryid BIGINT)")
        con.execute("INSERT INTO moodle.courses VALUES (2, 'New name', 0, 6), (3, 'Statistics', 1, 5)")
    return w


def test_kept_rows_take_the_followed_values_and_nothing_else_changes(warehouse):
    messages = []
    assert incremental.follow(spec(), warehouse, messages.append) == 2
    rows = warehouse.query(
        "SELECT userid, id, fullname, visible, category, progress FROM moodle.user_courses ORDER BY 1, 2"
    )
    assert rows == [(4, 2, "New name", 0, 6, 50.0), (4, 3, "Statistics", 1, 5, 100.0), (5, 2, "New name", 0, 6, 0.0)]
    # marker is in neither table: left as read, and said so
    assert any("marker" in m and "leaves" in m for m in messages)
    assert incremental.follow(spec(), warehouse) == 0  # idempotent: nothing differs any more


def test_no_rule_touches_nothing(warehouse):
    assert incremental.follow(spec(None), warehouse) == 0
    assert warehouse.query("SELECT count(*) FROM moodle.user_courses WHERE fullname = 'Old name'") == [(2,)]


def test_a_missing_followed_table_is_an_error_naming_it(warehouse):
    with duckdb.connect(warehouse.path) as con:
        con.execute("DROP TABLE moodle.courses")
    with pytest.raises(incremental.ChangedQueryError, match="moodle.courses.*materialise asset moodle/courses"):
        incremental.follow(spec(), warehouse)


def test_a_match_column_the_followed_table_lacks_is_an_error(warehouse):
    rule = RULE.model_copy(update={"match": {"id": "courseid"}})
    with pytest.raises(incremental.ChangedQueryError, match="moodle.courses.courseid"):
        incremental.follow(spec(rule), warehouse)


def test_the_changed_query_refuses_a_misspelt_macro():
    from pydantic import ValidationError

    from moodle_assets.endpoints.spec_parts import Incremental

    with pytest.raises(ValidationError, match=r"unknown macro \{cutof\}"):
        Incremental(changed="SELECT id FROM moodle.users WHERE lastaccess >= {cutof}")
    assert Incremental(changed="SELECT id FROM moodle.a EXCEPT SELECT id FROM moodle.b").changed
