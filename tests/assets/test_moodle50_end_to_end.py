"""The templates against the demo in Moodle 5.0 mode: only what 5.0 changes, end to end.

The full 4.5 harvest (test_templates_end_to_end) covers every asset; this module harvests the
assets 5.0 answers differently, on a quarter-size 5.0 site, once:

* quiz_attempts through mod_quiz_get_user_quiz_attempts (the old function is deprecated);
* course_contents and course_modules with the hidden question bank (``qbank``) in every course,
  and course_overview counting what the course page shows, not the bank;
* the 5.0 return structures as columns: ``candisplay``, ``gradepenalty``, ``precreateattempts``,
  ``coursefullname``, and the three image-author columns 5.0 dropped kept (null);
* Moodle 5.0's ``invalidrecordunknown`` told apart by the site's function list: a course deleted
  after the courses harvest is one failed item with nothing found; a user endpoint naming a
  function the site lacks fails as a whole, "not on this site", with or without stored site info.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from moodle_assets.analytics import AnalyticsSettings, analytics_assets
from moodle_assets.assets.factory import build_endpoint_asset
from moodle_assets.assets.reporting import describe_columns
from moodle_assets.demo.dataset import Dataset, DemoConfig, generate
from moodle_assets.demo.server import DEMO_TOKEN, DemoServer, RecordedCall
from moodle_assets.endpoints import load_specs
from moodle_assets.warehouse import Warehouse
from tests.assets.helpers import endpoint_assets, materialization_metadata, resources, rows, run
from tests.conftest import DEMO_NOW

ASSETS = [
    "site_info",
    "course_index",
    "courses",
    "course_contents",
    "course_modules",
    "users",
    "user_badges",
    "enrolled_users",
    "quizzes",
    "quiz_attempts",
    "assignments",
]
OLD_QUIZ, NEW_QUIZ = "mod_quiz_get_user_attempts", "mod_quiz_get_user_quiz_attempts"


@dataclass
class Harvest50:
    data: Dataset
    server: DemoServer
    db: str
    meta: dict[str, dict]
    calls: list[RecordedCall]

    @property
    def readable(self) -> list[int]:
        return sorted(c["id"] for c in self.data.courses[1:] if c["id"] not in self.data.unreadable_course_ids)


@pytest.fixture(scope="module")
def h(tmp_path_factory) -> Iterator[Harvest50]:
    data = generate(DemoConfig(now=DEMO_NOW, scale=0.25, moodle_version="5.0"))
    db = str(tmp_path_factory.mktemp("moodle50") / "warehouse.duckdb")
    with DemoServer(data) as server:
        res = resources(server.url, DEMO_TOKEN, db, max_concurrency=8)
        assert run(endpoint_assets(["site_info"]), res).success  # stored first, as a nightly run leaves it
        result = run(endpoint_assets(ASSETS[1:]), res)
        assert result.success, failures(result)
        meta = materialization_metadata(result)
        overview = [a for a in analytics_assets if a.key.path[-1] in ("learner_progress", "course_overview")]
        assert run(overview, {"warehouse": res["warehouse"], "analytics": AnalyticsSettings(now=DEMO_NOW)}).success
        yield Harvest50(data, server, db, meta, list(server.calls))


def failures(result) -> list[str]:
    """The message of each failed step (without the exception class Dagster puts first)."""
    return [e.event_specific_data.error.message.split(": ", 1)[-1] for e in result.all_events if e.is_step_failure]


def q(h: Harvest50, sql: str, params=None) -> list[tuple]:
    return rows(h.db, sql, params)


def descriptions(h: Harvest50, asset: str) -> dict[str, str]:
    return {c.name: c.description for c in h.meta[asset]["dagster/column_schema"].columns}


# ---------------------------------------------------------------- what the site said


def test_the_site_is_50(h):
    [(release, version)] = q(h, "SELECT release, version FROM moodle.site_info")
    assert (release, version) == ("5.0.6+ (Build: 20260403)", "2025041406.11")


def test_quiz_attempts_come_from_the_new_function(h):
    called = {c.function for c in h.calls}
    assert NEW_QUIZ in called and OLD_QUIZ not in called
    assert h.meta["quiz_attempts"]["moodle_function"] == NEW_QUIZ
    readable = set(h.readable)
    visible = {
        (e["courseid"], e["userid"])
        for e in h.data.enrolments
        if e["courseid"] in readable and e["userid"] not in h.data.hidden_user_ids
    }
    quizzes = {q["id"]: q["course"] for q in h.data.quizzes}
    expected = sorted(
        a["id"] for a in h.data.quiz_attempts if (quizzes[a["quiz"]], a["userid"]) in visible and a["preview"] == 0
    )
    assert [r[0] for r in q(h, "SELECT id FROM moodle.quiz_attempts ORDER BY id")] == expected
    assert expected and h.meta["quiz_attempts"]["failed_items"] == 0


def test_every_course_has_its_hidden_question_bank(h):
    banks = q(
        h,
        "SELECT courseid, id, sectionnum, visible, candisplay, completion FROM moodle.course_modules "
        "WHERE modname = 'qbank' ORDER BY courseid",
    )
    expected = [
        (m["courseid"], m["id"], 0, 0, False, 0)
        for m in h.data.modules
        if m["modname"] == "qbank" and m["courseid"] in h.readable
    ]
    assert banks == expected and len(banks) == len(h.readable)
    # Created after each course's own modules: the next course's ids shift by one per bank.
    first_of = {cid: min(m["id"] for m in h.data.modules_of_course(cid)) for cid in h.readable}
    assert first_of[h.readable[1]] == banks[0][1] + 1
    assert q(h, "SELECT DISTINCT candisplay FROM moodle.course_modules WHERE modname <> 'qbank'") == [(True,)]


def test_course_overview_counts_what_the_course_page_shows(h):
    for cid in h.readable:
        shown = [m for m in h.data.modules_of_course(cid) if m["modname"] != "qbank"]
        [(modules, tracked)] = q(
            h, "SELECT modules, tracked_activities FROM analytics.course_overview WHERE courseid = ?", [cid]
        )
        [(raw,)] = q(h, "SELECT count(*) FROM moodle.course_modules WHERE courseid = ?", [cid])
        assert (modules, tracked, raw) == (len(shown), sum(1 for m in shown if m["completion"]), len(shown) + 1)


def test_badges_keep_the_columns_50_dropped_and_gain_the_course_name(h):
    columns = {r[0] for r in q(h, "DESCRIBE moodle.user_badges")}
    dropped = {"imageauthorname", "imageauthoremail", "imageauthorurl"}
    assert dropped | {"coursefullname"} <= columns
    assert q(
        h,
        "SELECT count(*) FROM moodle.user_badges WHERE COALESCE(imageauthorname, imageauthoremail, "
        "imageauthorurl) IS NOT NULL",
    ) == [(0,)]
    named = q(
        h,
        "SELECT DISTINCT b.courseid, b.coursefullname, c.fullname FROM moodle.user_badges b "
        "LEFT JOIN moodle.courses c ON c.id = b.courseid ORDER BY 1 NULLS FIRST",
    )
    assert named and all(full == course for _, full, course in named)
    assert any(cid is not None for cid, _, _ in named) and any(cid is None for cid, _, _ in named)
    text = descriptions(h, "user_badges")
    assert text["imageauthorname"] == "Name of the image author. Moodle 5.0 no longer sends it: null from 5.0 on."
    assert (
        text["coursefullname"] == "Moodle field coursefullname (PARAM_RAW; from Moodle 5.0)."
    )  # no desc in 5.0's file
    assert text["name"] == "Badge name."


def test_the_new_50_fields_are_columns(h):
    assert q(h, "SELECT DISTINCT gradepenalty FROM moodle.assignments") == [(0,)]
    assert "precreateattempts" in {r[0] for r in q(h, "DESCRIBE moodle.quizzes")}
    assert descriptions(h, "assignments")["gradepenalty"] == "Moodle field gradepenalty (PARAM_INT; from Moodle 5.0)."
    specs = load_specs(include_user=False)
    modules = next(s for s in specs if s.name == "course_modules")
    [(name, _, text)] = describe_columns(modules, {"candisplay": "BOOLEAN"}, "", specs)
    assert text == "Moodle field candisplay (PARAM_BOOL; from Moodle 5.0)."


# ---------------------------------------------------------------- invalidrecordunknown, told apart


def copy_of(h: Harvest50, tmp_path: Path, without_site_info: bool = False) -> str:
    db = str(tmp_path / "copy.duckdb")
    shutil.copy(h.db, db)
    if without_site_info:
        with Warehouse(db, lock_timeout=10).connect() as con:
            con.execute("DROP TABLE moodle.site_info")
    return db


def calls_during(h: Harvest50, action) -> tuple[object, list[RecordedCall]]:
    first = len(h.server.calls)
    outcome = action()
    return outcome, h.server.calls[first:]


def test_a_course_deleted_after_the_courses_harvest_is_one_item_with_nothing_found(h, tmp_path):
    db = copy_of(h, tmp_path)
    gone = h.readable[0]
    course = h.data.course(gone)
    h.data.courses.remove(course)
    h.data._index.clear()
    try:
        result, calls = calls_during(
            h, lambda: run(endpoint_assets(["course_contents"]), resources(h.server.url, DEMO_TOKEN, db))
        )
    finally:
        h.data.courses.insert(h.data.courses.index(h.data.course(gone + 1)), course)
        h.data._index.clear()
    assert result.success, failures(result)
    assert "core_webservice_get_site_info" not in {c.function for c in calls}  # the stored list was enough
    [(item, function, code, message)] = rows(
        db, "SELECT item, function, errorcode, message FROM moodle._errors WHERE table_name = 'moodle.course_contents'"
    )
    assert (json.loads(item), function, code) == (
        {"courseid": gone},
        "core_course_get_contents",
        "invalidrecordunknown",
    )
    assert message.startswith(
        f"core_course_get_contents: nothing found for courseid={gone}. Moodle said: Can't find "
        "data record in database. [invalidrecordunknown]."
    )
    others = set(h.readable) - {gone}
    assert {r[0] for r in rows(db, "SELECT DISTINCT courseid FROM moodle.course_contents")} == others


CUSTOM = """
- name: course_things
  function: local_things_get_course_things
  params: {courseid: "{courses.id}"}
"""


@pytest.mark.parametrize("stored", [True, False], ids=["stored_site_info", "no_site_info"])
def test_a_user_endpoint_naming_a_function_the_site_lacks_fails_whole(h, tmp_path, stored):
    db = copy_of(h, tmp_path, without_site_info=not stored)
    (tmp_path / "moodle_endpoints.yaml").write_text(CUSTOM)
    spec = next(s for s in load_specs(tmp_path / "moodle_endpoints.yaml") if s.name == "course_things")
    result, calls = calls_during(
        h, lambda: run([build_endpoint_asset(spec)], resources(h.server.url, DEMO_TOKEN, db, max_concurrency=1))
    )
    assert not result.success
    [message] = failures(result)
    assert message.startswith(
        "course_things: function local_things_get_course_things does not exist on this "
        "Moodle (version?). Moodle said: Can't find data record in database. "
        "[invalidrecordunknown]. Site info lists "
    )
    assert "is not one of them" in message and "Check the spelling" in message
    functions = [c.function for c in calls]
    assert functions.count("local_things_get_course_things") == 1  # the first refusal ends it
    assert functions.count("core_webservice_get_site_info") == (0 if stored else 1)
    assert rows(db, "SELECT count(*) FROM moodle._errors WHERE table_name = 'moodle.course_things'") == [(0,)]
