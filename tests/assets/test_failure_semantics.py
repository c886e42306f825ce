"""What a harvest does when Moodle says no.

One item of a fan-out refused: a ``moodle._errors`` row, ``failed_items`` metadata and the
``failed_items`` asset check, while every other item loads. "Nothing here" codes: counted as
empty (by code in the metadata), never as errors; a permission error (cannotviewreport, a
token without report/completion:view) is never "nothing here": it is a failed item.
Warnings: kept beside the load. A whole endpoint refused (bad token, function not in the
service, competencies disabled, a URL that is not Moodle): the run fails at once with a
message that says what to fix, and the previous table stays as it was. An explode over a
column its parent table does not have fails naming the column.

Each test starts from a copy of the session's full harvest, so it can run single assets.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from dagster import AssetCheckSeverity

from moodle_assets.demo.dataset import ADMIN_ID, DemoConfig, generate
from moodle_assets.demo.dataset.parts import THE_BIG_COURSE
from moodle_assets.demo.faults import Fault, FaultPlan
from moodle_assets.demo.server import DEMO_TOKEN, RESTRICTED_TOKEN, DemoServer
from moodle_assets.endpoints import load_specs
from moodle_assets.warehouse import Warehouse
from tests.assets.conftest import HARVEST_CONCURRENCY, Harvest
from tests.assets.helpers import endpoint_assets, materialization_metadata, resources, rows, run
from tests.conftest import DEMO_NOW

WRONG_TOKEN = "wrong-token-0000000000000000000000"
INCREMENTAL = {s.name for s in load_specs(include_user=False) if s.incremental}


@pytest.fixture()
def db(full_harvest: Harvest, tmp_path) -> str:
    """A private copy of the fully harvested DuckDB file."""
    target = tmp_path / "warehouse.duckdb"
    shutil.copy(full_harvest.db, target)
    wal = Path(full_harvest.db + ".wal")
    if wal.exists():
        shutil.copy(wal, str(target) + ".wal")
    return str(target)


def harvest(url: str, token: str, db: str, names: list[str], config: dict | None = None, **moodle):
    """Materialise ``names``; incremental ones re-read every item, as on a first run."""
    moodle.setdefault("max_concurrency", HARVEST_CONCURRENCY)
    ops = {name: {"full_refresh": True} for name in names if name in INCREMENTAL}
    for name, settings in (config or {}).items():
        ops.setdefault(name, {}).update(settings)
    run_config = {"ops": {f"moodle__{name}": {"config": c} for name, c in ops.items()}}
    return run(endpoint_assets(names), resources(url, token, db, **moodle), run_config=run_config)


def failure_messages(result) -> dict[str, str]:
    return {e.step_key: e.event_specific_data.error.message for e in result.all_events if e.is_step_failure}


def checks(result) -> dict[str, object]:
    return {e.asset_key.path[-1]: e for e in result.get_asset_check_evaluations() if e.check_name == "failed_items"}


def table(db: str, name: str) -> list[tuple]:
    return rows(db, f"SELECT * FROM moodle.{name} ORDER BY ALL")


def loads(db: str, name: str) -> list[tuple]:
    return rows(
        db, "SELECT row_count, meta FROM moodle._loads WHERE table_name = ? ORDER BY loaded_at", [f"moodle.{name}"]
    )


# ---------------------------------------------------------------- one item refused


def test_refused_items_are_error_rows_metadata_and_the_check(demo_server, demo_dataset, db):
    [bad_course] = demo_dataset.unreadable_course_ids
    [broken_teacher] = demo_dataset.competency_report_broken_user_ids
    before = rows(db, "SELECT count(*) FROM moodle.user_competencies")[0][0]

    result = harvest(demo_server.url, DEMO_TOKEN, db, ["courses", "user_competencies"])
    assert result.success
    meta = materialization_metadata(result)
    assert (meta["courses"]["failed_items"], meta["courses"]["items"]) == (1, 12)
    assert (meta["user_competencies"]["failed_items"], meta["user_competencies"]["items"]) == (1, 255)
    [example] = meta["user_competencies"]["failed_examples"]
    # an incremental fan-out's item also carries its key, by which the next run re-reads it
    item = f"{THE_BIG_COURSE.id}|{broken_teacher}"
    assert example["item"] == {"courseid": THE_BIG_COURSE.id, "userid": broken_teacher, "_item": item}
    assert example["errorcode"] == "Error"
    assert 'Class "report_competency\\coding_exception" not found' in example["message"]
    # The other 254 users' reports are loaded, exactly as in the full harvest.
    assert meta["user_competencies"]["dagster/row_count"] == before > 1000
    assert rows(
        db,
        "SELECT table_name, item->>'$.\"course_index.id\"', item->>'userid', errorcode FROM moodle._errors ORDER BY 1",
    ) == [
        ("moodle.courses", str(bad_course), None, "nopermissions"),
        ("moodle.user_competencies", None, str(broken_teacher), "Error"),
    ]
    evaluated = checks(result)
    assert evaluated["courses"].passed and evaluated["user_competencies"].passed
    assert evaluated["courses"].metadata["failed_share"].value == round(1 / 12, 4)
    assert evaluated["courses"].metadata["max_failed_share"].value == 0.1

    # With no failure allowed the checks fail (a warning), the run and the loads still succeed.
    strict = harvest(demo_server.url, DEMO_TOKEN, db, ["courses", "user_competencies"], max_failed_share=0.0)
    assert strict.success
    evaluated = checks(strict)
    for name in ("courses", "user_competencies"):
        assert not evaluated[name].passed
        assert evaluated[name].severity == AssetCheckSeverity.WARN
        assert evaluated[name].metadata["failed_items"].value == 1
        assert evaluated[name].metadata["max_failed_share"].value == 0.0
    assert evaluated["user_competencies"].metadata["failed_share"].value == round(1 / 255, 4)
    # Reloading replaced the errors: still one row per refused item.
    assert rows(db, "SELECT count(*) FROM moodle._errors") == [(2,)]


# ---------------------------------------------------------------- nothing here


def test_no_data_codes_count_as_empty_items(demo_server, demo_dataset, db):
    # An enrolment gone since enrolled_users was loaded: Moodle answers usernotenroled.
    with Warehouse(db).connect() as con:
        con.execute("INSERT INTO moodle.enrolled_users (courseid, id) VALUES (3, ?)", [ADMIN_ID])
    no_criteria = [c["id"] for c in demo_dataset.courses if c["format"] != "site" and not c["has_criteria"]]
    without = rows(
        db, "SELECT count(*) FROM moodle.enrolled_users WHERE courseid IN (SELECT unnest(?::BIGINT[]))", [no_criteria]
    )[0][0]
    before = table(db, "course_completion")

    result = harvest(demo_server.url, DEMO_TOKEN, db, ["course_completion"])
    assert result.success
    meta = materialization_metadata(result)["course_completion"]
    # nocriteriaset for every user of the course without criteria, usernotenroled for the admin.
    assert (meta["empty_items"], meta["failed_items"]) == (without + 1, 0) and without > 20
    assert meta["empty_items_by_code"] == {"nocriteriaset": without, "usernotenroled": 1}
    assert table(db, "course_completion")[0][:2] == before[0][:2]
    assert len(table(db, "course_completion")) == len(before)
    assert rows(db, "SELECT count(*) FROM moodle._errors WHERE table_name = 'moodle.course_completion'") == [(0,)]
    assert checks(result)["course_completion"].passed


def test_a_site_without_badges_and_competencies(demo_server, db):
    """badgesdisabled means no badges (empty); competenciesarenotenabled fails saying how to enable them."""
    dataset = generate(DemoConfig(competencies_enabled=False, badges_enabled=False, now=DEMO_NOW))
    with DemoServer(dataset) as plain:
        badges = harvest(plain.url, DEMO_TOKEN, db, ["user_badges"])
        # Two calls in flight at a time: failing fast means after the first answers, not 11.
        result = harvest(plain.url, DEMO_TOKEN, db, ["course_competencies"], max_concurrency=2)
        competency_calls = [c for c in plain.calls if c.function == "core_competency_list_course_competencies"]
    assert badges.success
    meta = materialization_metadata(badges)
    users = rows(db, "SELECT count(*) FROM moodle.users")[0][0]
    assert (meta["user_badges"]["empty_items"], meta["user_badges"]["failed_items"]) == (users, 0)
    assert meta["user_badges"]["empty_items_by_code"] == {"badgesdisabled": users}
    assert meta["user_badges"]["dagster/row_count"] == 0
    assert rows(db, "SELECT count(*) FROM moodle._errors WHERE table_name = 'moodle.user_badges'") == [(0,)]

    assert not result.success
    assert materialization_metadata(result) == {}
    messages = failure_messages(result)
    assert set(messages) == {"moodle__course_competencies"}
    message = messages["moodle__course_competencies"]
    assert "course_competencies:" in message and "[competenciesarenotenabled]" in message
    assert "Enable them in Site administration > Advanced features, or leave this asset out." in message
    assert 1 <= len(competency_calls) <= 2
    # The failed asset kept the table of the full harvest.
    assert rows(db, "SELECT count(*) FROM moodle.course_competencies")[0][0] == 10


def test_a_token_without_report_completion_view_fails_items_instead_of_loading_empty(demo_server, db):
    """cannotviewreport is Moodle saying this account may not see the completion, not that there
    is none: every refused pair is an _errors row, and over the share the check fails."""
    pairs = rows(db, "SELECT count(*) FROM moodle.enrolled_users")[0][0]
    refused = Fault(
        "exception",
        function="core_completion_get_course_completion_status",
        errorcode="cannotviewreport",
        exception="moodle_exception",
        message="Cannot view the report",
    )
    demo_server.faults = FaultPlan([refused])
    try:
        result = harvest(demo_server.url, DEMO_TOKEN, db, ["course_completion"])
    finally:
        demo_server.faults = None
    assert result.success  # the load itself succeeds; the check and _errors say what is wrong
    meta = materialization_metadata(result)["course_completion"]
    assert (meta["failed_items"], meta["empty_items"], meta["dagster/row_count"]) == (pairs, 0, 0)
    assert rows(db, "SELECT DISTINCT errorcode FROM moodle._errors WHERE table_name = 'moodle.course_completion'") == [
        ("cannotviewreport",)
    ]
    [(message,)] = rows(db, "SELECT message FROM moodle._errors WHERE table_name = 'moodle.course_completion' LIMIT 1")
    assert "[cannotviewreport]" in message and "report/completion:view" in message
    check = checks(result)["course_completion"]
    assert not check.passed and check.metadata["failed_share"].value == 1.0


def test_an_explode_over_a_column_the_parent_lacks_fails_naming_it(demo_server, db):
    with Warehouse(db).connect() as con:
        con.execute("ALTER TABLE moodle.course_contents DROP COLUMN modules")
    before = table(db, "course_modules")
    result = harvest(demo_server.url, DEMO_TOKEN, db, ["course_modules"])
    assert not result.success
    message = failure_messages(result)["moodle__course_modules"]
    assert "course_modules: table moodle.course_contents has no column 'modules' to explode" in message
    assert "re-materialise asset moodle/course_contents" in message
    assert table(db, "course_modules") == before

    # An empty parent has only its declared columns: nothing to explode, an empty load.
    with Warehouse(db).connect() as con:
        con.execute("DELETE FROM moodle.course_contents")
    result = harvest(demo_server.url, DEMO_TOKEN, db, ["course_modules"])
    assert result.success
    assert materialization_metadata(result)["course_modules"]["dagster/row_count"] == 0


# ---------------------------------------------------------------- warnings


def test_warnings_are_kept_in_metadata_and_loads(demo_server, db):
    """Without mod/assign:grade Moodle answers no submissions and one warning per assignment."""
    assignments = rows(db, "SELECT id, cmid FROM moodle.assignments ORDER BY id")
    assert len(assignments) == 22

    demo_server.reset_calls()
    result = harvest(
        demo_server.url,
        RESTRICTED_TOKEN,
        db,
        ["assignment_submissions"],
        config={"assignment_submissions": {"status": "submitted"}},
    )
    assert result.success
    [sent] = [c.fields for c in demo_server.calls if c.function == "mod_assign_get_submissions"]
    assert sent[-1] == ("status", "submitted")
    expected = [
        {"item": "module", "itemid": cmid, "warningcode": "1", "message": "No access rights in module context"}
        for _, cmid in assignments
    ]
    meta = materialization_metadata(result)["assignment_submissions"]
    assert (meta["dagster/row_count"], meta["failed_items"]) == (0, 0)
    assert meta["warning_count"] == 22
    assert meta["warnings"] == expected
    row_count, stored = loads(db, "assignment_submissions")[-1]
    assert row_count == 0
    assert json.loads(stored)["warnings"] == expected
    assert rows(db, "SELECT count(*) FROM moodle.assignment_submissions") == [(0,)]


# ---------------------------------------------------------------- the whole endpoint refused


def test_a_wrong_token_fails_fast_and_leaves_the_previous_table(demo_server, db):
    assert run(endpoint_assets(["courses"]), resources(demo_server.url, DEMO_TOKEN, db)).success
    courses, errors, history = table(db, "courses"), table(db, "_errors"), table(db, "_loads")

    demo_server.reset_calls()
    result = harvest(demo_server.url, WRONG_TOKEN, db, ["courses", "user_badges"])
    assert not result.success
    messages = failure_messages(result)
    assert set(messages) == {"moodle__courses", "moodle__user_badges"}
    for _name, message in messages.items():
        assert "the web-service token was refused" in message and "[invalidtoken]" in message
        assert "Check MOODLE_TOKEN" in message
        assert WRONG_TOKEN not in message
    # user_badges fans out over 251 users; the first refusal ended it.
    badge_calls = [c for c in demo_server.calls if c.function == "core_badges_get_user_badges"]
    assert 1 <= len(badge_calls) <= HARVEST_CONCURRENCY
    assert all(c.token_kind == "invalid" for c in demo_server.calls)
    assert WRONG_TOKEN not in repr(demo_server.calls)
    # Nothing was written: the tables, the errors and the load history are as they were.
    assert table(db, "courses") == courses
    assert table(db, "_errors") == errors
    assert table(db, "_loads") == history


def test_a_function_missing_from_the_service_names_the_function_to_add(demo_server, db):
    before = rows(db, "SELECT count(*), sum(id) FROM moodle.quiz_attempts")
    demo_server.reset_calls()
    result = harvest(demo_server.url, RESTRICTED_TOKEN, db, ["quiz_attempts"])
    assert not result.success
    message = failure_messages(result)["moodle__quiz_attempts"]
    assert "quiz_attempts: mod_quiz_get_user_attempts: this token may not call the function" in message
    assert "[accessexception]" in message
    assert "Add function mod_quiz_get_user_attempts to the external service of this token" in message
    assert RESTRICTED_TOKEN not in message
    refused = [c for c in demo_server.calls if c.function == "mod_quiz_get_user_attempts"]
    assert 1 <= len(refused) <= HARVEST_CONCURRENCY and {c.token_kind for c in refused} == {"restricted"}
    assert rows(db, "SELECT count(*), sum(id) FROM moodle.quiz_attempts") == before


def test_a_url_that_is_not_moodle_says_to_use_the_site_root(demo_server, db):
    result = harvest(demo_server.url + "/nothing", DEMO_TOKEN, db, ["site_info"])
    assert not result.success
    message = failure_messages(result)["moodle__site_info"]
    assert "answered HTTP 404 with an HTML page" in message
    assert "The URL is not the Moodle site root" in message
    assert DEMO_TOKEN not in message
    assert rows(db, "SELECT userid FROM moodle.site_info") == [(ADMIN_ID,)]
