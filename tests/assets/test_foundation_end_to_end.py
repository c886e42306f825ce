"""The first assets end to end: demo Moodle over HTTP -> Dagster -> DuckDB."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import pytest

from moodle_assets.demo.dataset.parts import ADMIN_ID, THE_BIG_COURSE
from tests.assets.helpers import endpoint_assets, materialization_metadata, resources, rows, run

FOUNDATION = ["site_info", "course_index", "courses", "course_categories", "users", "enrolled_users"]


@pytest.fixture(scope="module")
def harvested(demo_server, tmp_path_factory):
    from moodle_assets.demo.server import DEMO_TOKEN

    db = str(tmp_path_factory.mktemp("wh") / "warehouse.duckdb")
    res = resources(demo_server.url, DEMO_TOKEN, db)
    result = run(endpoint_assets(FOUNDATION), res)
    assert result.success
    return db, res, materialization_metadata(result)


def own_copy(harvested, tmp_path):
    """(db, resources) of a copy of the harvest, for a test that writes: the others read the
    module's harvest as it was loaded, whatever order the tests run in."""
    from moodle_assets.assets.resources import WarehouseResource

    db, res, _ = harvested
    copy = str(tmp_path / "warehouse.duckdb")
    shutil.copy(db, copy)
    return copy, {**res, "warehouse": WarehouseResource(path=copy, lock_timeout_seconds=10)}


def test_row_counts_equal_the_demo_dataset(harvested, demo_dataset):
    db, _, meta = harvested
    ds = demo_dataset
    real_courses = [c for c in ds.courses if c["id"] != 1]
    readable = [c for c in real_courses if c["id"] not in ds.unreadable_course_ids]
    assert rows(db, "SELECT count(*) FROM moodle.course_index")[0][0] == len(real_courses)
    assert rows(db, "SELECT count(*) FROM moodle.courses")[0][0] == len(readable)
    assert rows(db, "SELECT count(*) FROM moodle.course_categories")[0][0] == len(ds.categories)
    assert rows(db, "SELECT count(*) FROM moodle.users")[0][0] == len(ds.users)
    readable_ids = {c["id"] for c in readable}
    expected_enrolments = {
        (e["courseid"], e["userid"])
        for e in ds.enrolments
        if e["courseid"] in readable_ids and e["userid"] not in ds.hidden_user_ids
    }
    assert set(rows(db, "SELECT courseid, id FROM moodle.enrolled_users")) == expected_enrolments
    assert meta["enrolled_users"]["dagster/row_count"] == len(expected_enrolments)
    assert meta["users"]["dagster/row_count"] == len(ds.users)


def test_values_and_types(harvested, demo_dataset):
    db, _, _ = harvested
    ds = demo_dataset
    [(release, userid, n_functions)] = rows(
        db, "SELECT release, userid, json_array_length(functions) FROM moodle.site_info"
    )
    assert release == ds.config.release and userid == ADMIN_ID and n_functions > 20
    course = next(c for c in ds.courses if c["id"] == THE_BIG_COURSE.id)
    assert rows(db, f"SELECT shortname, fullname FROM moodle.courses WHERE id = {THE_BIG_COURSE.id}") == [
        (course["shortname"], course["fullname"])
    ]
    types = dict(
        rows(db, "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'enrolled_users'")
    )
    assert types["courseid"] == "BIGINT" and types["id"] == "BIGINT"
    assert types["roles"] == "JSON" and types["_loaded_at"].startswith("TIMESTAMP")
    roles = rows(db, "SELECT DISTINCT roles->0->>'shortname' FROM moodle.enrolled_users ORDER BY 1")
    assert {r[0] for r in roles} >= {"student", "editingteacher"}


def test_course_the_account_cannot_read_is_an_error_row_not_a_failed_run(harvested, demo_dataset):
    db, _, meta = harvested
    [bad] = demo_dataset.unreadable_course_ids
    errors = rows(db, "SELECT table_name, item->>'$.\"course_index.id\"', errorcode FROM moodle._errors")
    assert errors == [("moodle.courses", str(bad), "nopermissions")]
    assert meta["courses"]["failed_items"] == 1
    # The batch containing it was split until only the unreadable id failed.
    assert meta["courses"]["items"] == len(demo_dataset.courses) - 1


def test_metadata_reports_calls_schema_and_preview(harvested):
    _, _, meta = harvested
    enrolled = meta["enrolled_users"]
    assert enrolled["dagster/table_name"] == "moodle.enrolled_users"
    described = {c.name: c.description for c in enrolled["dagster/column_schema"].columns}
    assert described["courseid"] == "The courses.id value this row was fetched for."
    assert described["roles"] == "User roles. A list, kept as JSON."  # Moodle's words first
    assert described["lastcourseaccess"] == (
        "Last access to the course (0 if never). Unix time in seconds, 0 = never or unset; "
        "a timestamp (NULL for 0) in moodle_t.enrolled_users."
    )
    assert described["_loaded_at"] == "When this row was loaded (UTC)."
    calls = enrolled["calls_by_function"]
    assert list(calls) == ["core_enrol_get_enrolled_users"]
    # Every page with users, plus the one empty page per course that ends its walk.
    assert enrolled["api_calls"] == calls["core_enrol_get_enrolled_users"] == enrolled["pages"] + enrolled["items"]
    assert "| id |" in enrolled["preview"] or "id" in enrolled["preview"].splitlines()[0]
    assert meta["course_index"]["api_calls"] == 1  # the total ends the walk: no empty probe page


def test_enrolled_users_sends_limit_offset_in_options(demo_server, harvested, demo_dataset, tmp_path):
    from moodle_assets.demo.server import DEMO_TOKEN

    db, res = own_copy(harvested, tmp_path)
    demo_server.reset_calls()
    result = run(
        endpoint_assets(["enrolled_users"]),
        res,
        run_config={"ops": {"moodle__enrolled_users": {"config": {"course_id": THE_BIG_COURSE.id, "page_size": 100}}}},
    )
    assert result.success
    sent = [c.fields for c in demo_server.calls if c.function == "core_enrol_get_enrolled_users"]
    assert sent[0] == [
        ("wstoken", "<TOKEN>"),
        ("wsfunction", "core_enrol_get_enrolled_users"),
        ("moodlewsrestformat", "json"),
        ("courseid", str(THE_BIG_COURSE.id)),
        ("options[0][name]", "limitfrom"),
        ("options[0][value]", "0"),
        ("options[1][name]", "limitnumber"),
        ("options[1][value]", "100"),
    ]
    # Walks until an empty page, even after a short one.
    assert len(sent) == len([e for e in demo_dataset.enrolments if e["courseid"] == THE_BIG_COURSE.id]) // 100 + 2
    assert {r[0] for r in rows(db, "SELECT DISTINCT courseid FROM moodle.enrolled_users")} == {THE_BIG_COURSE.id}
    assert DEMO_TOKEN not in repr(demo_server.calls)


def test_calendar_partitions_replace_exactly_their_window(demo_server, harvested, demo_dataset, tmp_path):
    db, res = own_copy(harvested, tmp_path)
    [calendar] = endpoint_assets(["calendar_events"])
    tags = {"dagster/asset_partition_range_start": "2026-10-01", "dagster/asset_partition_range_end": "2026-10-31"}
    assert run([calendar], res, tags=tags).success
    first = rows(db, "SELECT _partition, id FROM moodle.calendar_events ORDER BY 2")
    start = datetime(2026, 10, 1, tzinfo=UTC).timestamp()
    end = datetime(2026, 11, 1, tzinfo=UTC).timestamp()
    courses = {r[0] for r in rows(db, "SELECT id FROM moodle.courses")}
    expected = {
        e["id"]
        for e in demo_dataset.events
        if start <= e["timestart"] < end
        and (
            e["eventtype"] == "site"
            or (e["eventtype"] == "user" and e["userid"] == ADMIN_ID)
            or (e["courseid"] in courses and e["eventtype"] != "group")
        )
    }
    assert {r[1] for r in first} == expected
    for key, event_id in first:
        ts = next(e["timestart"] for e in demo_dataset.events if e["id"] == event_id)
        assert datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d") == key
    # Re-running one day replaces that day only: no duplicates, other days untouched.
    assert run([calendar], res, partition_key="2026-10-15").success
    assert rows(db, "SELECT _partition, id FROM moodle.calendar_events ORDER BY 2") == first
