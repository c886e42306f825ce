"""Expected rows that do not come from the emulator's rules.

The end-to-end tests compare the tables with the demo dataset through rules that restate the
emulator's handlers, so a wrong rule on both sides would pass. These tests take their
expectations from elsewhere, one or more per asset family (site, courses, people, assessment,
engagement):

* **A real site.** The project's own assets (the Dagster asset, the client, paging, data
  paths, parent fields, the DuckDB load) run against a small site that answers only with the
  real Moodle 4.5 recordings in ``tests/fixtures/demo/recordings``. The expected values below
  were read off those files by hand and written here as literals. (Requests are matched to
  recordings with Moodle's parameter defaults applied, by the demo's validator; nothing of
  the emulator produces an answer or an expected value.)
* **The demo, by hand.** Rows of the full demo harvest checked against literals worked out by
  reading the dataset's definition (``moodle_assets/demo/dataset.py``): fixed names and
  numbers, not anything the emulator computes.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest

from moodle_assets.demo.errors import MoodleException
from moodle_assets.demo.phpform import decode_php_form
from moodle_assets.demo.schemas import validate_params
from moodle_assets.warehouse import Warehouse
from tests.assets.conftest import Harvest
from tests.assets.helpers import endpoint_assets, resources, rows, run

RECORDINGS = Path(__file__).resolve().parents[1] / "fixtures" / "demo" / "recordings"
PROTOCOL = {"wstoken", "wsfunction", "moodlewsrestformat"}
TOKEN = "recorded-site-token"


# --------------------------------------------------------------------------- a site of recordings


def _request_key(function: str, fields: list[tuple[str, str]]) -> str:
    """A request as its function and params with Moodle's defaults applied, so an asset that
    sends a default explicitly (``status=""``, ``userid=0``) matches the recorded request."""
    params = decode_php_form([(k, v) for k, v in fields if k not in PROTOCOL])
    try:
        params = validate_params(function, params)
    except (MoodleException, KeyError):  # a refused request, or no such function: keep it as sent
        pass
    return function + " " + json.dumps(params, sort_keys=True)


class RecordedSite:
    """A web-service endpoint that answers only what the real site answered, and notes
    every request it has no recording for."""

    def __init__(self) -> None:
        self.answers: dict[str, Any] = {}
        for path in sorted(RECORDINGS.glob("*.json")):
            recording = json.loads(path.read_text(encoding="utf-8"))
            params = recording["params"]
            if (
                recording["token_kind"] != "admin"
                or params.get("moodlewsrestformat") != "json"
                or path.stem.endswith("__debugon")
                or not recording["function"]
            ):
                continue
            key = _request_key(recording["function"], list(params.items()))
            self.answers.setdefault(key, recording["body"])
        self.unanswered: list[str] = []
        self.served: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                fields = parse_qsl(self.rfile.read(length).decode("utf-8"), keep_blank_values=True)
                values = dict(fields)
                key = _request_key(values.get("wsfunction", ""), fields)
                if values.get("wstoken") != TOKEN:
                    body: Any = {
                        "exception": "core\\exception\\moodle_exception",
                        "errorcode": "invalidtoken",
                        "message": "Invalid token - token not found",
                    }
                elif key in site.answers:
                    site.served.append(key)
                    body = site.answers[key]
                else:
                    site.unanswered.append(key)
                    body = {
                        "exception": "dml_missing_record_exception",
                        "errorcode": "invalidrecord",
                        "message": "Can't find data record in database table external_functions.",
                    }
                data = json.dumps(body).encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def recorded_site() -> Iterator[RecordedSite]:
    site = RecordedSite()
    yield site
    site.close()


def harvest_from_recordings(
    site: RecordedSite, tmp_path: Path, names: list[str], seed: dict[str, str] | None = None
) -> str:
    """Materialise ``names`` against the recorded site; ``seed`` creates the upstream tables
    their fan-outs read (table -> SELECT), standing in for the assets upstream."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    db = str(tmp_path / "recorded.duckdb")
    if seed:
        with Warehouse(db, lock_timeout=10).connect() as con:
            con.execute("CREATE SCHEMA IF NOT EXISTS moodle")
            for table, select in seed.items():
                con.execute(f"CREATE TABLE moodle.{table} AS {select}")
    site.unanswered.clear()
    result = run(endpoint_assets(names), resources(site.url, TOKEN, db, max_concurrency=1))
    assert site.unanswered == [], "requests the recordings do not cover"
    assert result.success
    return db


def ids(*values: int) -> str:
    return "SELECT * FROM (VALUES " + ", ".join(f"({v})" for v in values) + ") AS t(id)"


# --------------------------------------------------------------------------- from the real site


def test_site_info_from_the_real_site(recorded_site, tmp_path):
    db = harvest_from_recordings(recorded_site, tmp_path, ["site_info"])
    assert rows(
        db,
        "SELECT sitename, userid, username, release, version, siteurl, userissiteadmin, "
        "json_array_length(functions) FROM moodle.site_info",
    ) == [("Acme University LMS", 2, "admin", "4.5 (Build: 20241007)", "2024100700", "http://127.0.0.1:8081", True, 38)]


def test_courses_and_contents_from_the_real_site(recorded_site, tmp_path):
    db = harvest_from_recordings(recorded_site, tmp_path / "courses", ["courses"], seed={"course_index": ids(2, 3)})
    # core_course_get_courses__ids_2_3.json: CS201 first (category sort order), both in category 5.
    assert rows(
        db,
        "SELECT id, shortname, fullname, categoryid, idnumber, format, startdate, enddate, visible "
        "FROM moodle.courses ORDER BY id",
    ) == [
        (2, "DS101", "Introduction to Data Science", 5, "CRS-DS101", "topics", 1789223171, 1802183171, 1),
        (3, "CS201", "Algorithms and Data Structures", 5, "CRS-CS201", "topics", 1790519171, 1800887171, 1),
    ]
    # core_course_get_contents__course2.json (there is none of course 3: only course 2 is asked for).
    db = harvest_from_recordings(
        recorded_site, tmp_path / "contents", ["course_contents", "course_modules"], seed={"courses": ids(2)}
    )
    assert rows(db, "SELECT courseid, id, section, name FROM moodle.course_contents ORDER BY id") == [
        (2, 1, 0, "General"),
        (2, 2, 1, "New section"),
        (2, 3, 2, "New section"),
        (2, 4, 3, "New section"),
        (2, 5, 4, "New section"),
    ]
    assert rows(db, "SELECT sectionnum, id, modname, name FROM moodle.course_modules ORDER BY id") == [
        (1, 1, "label", "Welcome to week 1 of DS101"),
        (1, 2, "page", "Course handbook"),
        (1, 3, "url", "Reading list"),
        (2, 4, "forum", "General discussion"),
        (2, 5, "assign", "Essay 1"),
        (3, 6, "assign", "Project report"),
        (3, 7, "quiz", "Week 3 quiz"),
        (4, 8, "forum", "Q&amp;A forum"),
    ]


def test_enrolled_users_and_group_members_from_the_real_site(recorded_site, tmp_path):
    db = harvest_from_recordings(
        recorded_site, tmp_path, ["enrolled_users", "group_members"], seed={"courses": ids(2), "groups": ids(1, 2)}
    )
    # core_enrol_get_enrolled_users__course2_page0..3.json: 100 + 100 + 29, then an empty page.
    assert rows(db, "SELECT count(*), count(DISTINCT id), min(id), max(id) FROM moodle.enrolled_users") == [
        (229, 229, 3, 248)
    ]
    assert rows(
        db,
        "SELECT courseid, id, username, fullname, lastcourseaccess, roles->0->>'shortname', "
        "groups->0->>'name' FROM moodle.enrolled_users WHERE id = 3",
    ) == [(2, 3, "student001", "Hiro Olsen", 1793370371, "student", "Group A")]
    assert rows(db, "SELECT id, roles->0->>'shortname' FROM moodle.enrolled_users WHERE id >= 243 ORDER BY id") == [
        (243, "editingteacher"),
        (246, "teacher"),
        (248, "editingteacher"),
    ]
    # core_group_get_group_members__course2_groups.json: 110 members in group 1, 88 in group 2.
    assert rows(db, "SELECT groupid, count(*) FROM moodle.group_members GROUP BY 1 ORDER BY 1") == [(1, 110), (2, 88)]
    assert rows(db, "SELECT userid FROM moodle.group_members WHERE groupid = 1 ORDER BY userid LIMIT 3") == [
        (3,),
        (5,),
        (7,),
    ]


def test_assignments_quizzes_and_submissions_from_the_real_site(recorded_site, tmp_path):
    db = harvest_from_recordings(
        recorded_site, tmp_path / "assign", ["assignments", "quizzes"], seed={"courses": ids(2, 3)}
    )
    # mod_assign_get_assignments__courses2_3_includenotenrolled.json: grades are whole numbers.
    assert rows(db, "SELECT id, course, name, grade, duedate, cmid FROM moodle.assignments ORDER BY id") == [
        (1, 2, "Essay 1", 100, 1794839171, 5),
        (2, 2, "Project report", 50, 1797431171, 6),
        (3, 3, "Essay 1", 100, 1794839171, 13),
        (4, 3, "Project report", 50, 1797431171, 14),
    ]
    # mod_quiz_get_quizzes_by_courses__course2_3.json
    assert rows(
        db, "SELECT id, course, name, grade, sumgrades, timelimit, attempts FROM moodle.quizzes ORDER BY id"
    ) == [(1, 2, "Week 3 quiz", 10, 4, 1800, 2), (2, 3, "Week 3 quiz", 10, 4, 1800, 2)]
    # mod_assign_get_submissions__all.json (status "" is Moodle's default): 48 + 48 rows.
    db = harvest_from_recordings(
        recorded_site, tmp_path / "submissions", ["assignment_submissions"], seed={"assignments": ids(1, 2)}
    )
    assert rows(db, "SELECT assignmentid, count(*) FROM moodle.assignment_submissions GROUP BY 1 ORDER BY 1") == [
        (1, 48),
        (2, 48),
    ]
    assert rows(db, "SELECT status, count(*) FROM moodle.assignment_submissions GROUP BY 1 ORDER BY 1") == [
        ("draft", 36),
        ("new", 24),
        ("submitted", 36),
    ]
    assert rows(
        db,
        "SELECT id, assignmentid, userid, status, gradingstatus FROM moodle.assignment_submissions ORDER BY id LIMIT 3",
    ) == [(1, 1, 4, "new", "notgraded"), (2, 1, 5, "draft", "notgraded"), (3, 1, 6, "submitted", "graded")]


def test_grade_items_from_the_real_site(recorded_site, tmp_path):
    db = harvest_from_recordings(recorded_site, tmp_path, ["grade_items"], seed={"courses": ids(3)})
    # gradereport_user_get_grade_items__course3_allusers.json: 25 users x 4 items.
    assert rows(db, "SELECT count(*), count(DISTINCT userid) FROM moodle.grade_items") == [(100, 25)]
    assert rows(
        db,
        "SELECT courseid, userid, userfullname, id, itemname, graderaw, grademax "
        "FROM moodle.grade_items WHERE userid = 47 ORDER BY id",
    ) == [
        (3, 47, "Ben Andersson", 5, None, 10, 10),
        (3, 47, "Ben Andersson", 6, "Essay 1", None, 100),
        (3, 47, "Ben Andersson", 7, "Project report", None, 50),
        (3, 47, "Ben Andersson", 8, "Week 3 quiz", 10, 10),
    ]
    assert rows(db, "SELECT graderaw FROM moodle.grade_items WHERE userid = 216 AND id = 8") == [(6.5,)]


def test_engagement_from_the_real_site(recorded_site, tmp_path):
    db = harvest_from_recordings(
        recorded_site,
        tmp_path,
        ["forums", "user_badges", "activity_completion", "course_completion", "course_completion_criteria"],
        seed={
            "courses": ids(2, 3),
            "users": ids(4),
            "enrolled_users": "SELECT 2 AS courseid, 3 AS id, 0 AS lastcourseaccess",
        },
    )
    # mod_forum_get_forums_by_courses__course2_3.json: names arrive HTML-escaped.
    assert rows(db, "SELECT id, course, type, name, numdiscussions, cmid FROM moodle.forums ORDER BY id") == [
        (1, 2, "general", "General discussion", 135, 4),
        (2, 2, "qanda", "Q&amp;A forum", 1, 8),
        (3, 3, "general", "General discussion", 4, 12),
    ]
    # core_badges_get_user_badges__user4.json: two site badges, one expiring.
    assert rows(
        db, "SELECT userid, id, name, issuedid, dateissued, courseid, dateexpire FROM moodle.user_badges ORDER BY id"
    ) == [
        (4, 1, "Welcome aboard", 2, 1795703210, None, None),
        (4, 2, "Forum champion", 13, 1795703210, None, 1827239210),
    ]
    # core_completion_get_activities_completion_status__course2_user3.json
    assert rows(
        db, "SELECT courseid, userid, cmid, modname, state, timecompleted FROM moodle.activity_completion ORDER BY cmid"
    ) == [
        (2, 3, 2, "page", 1, 1795703209),
        (2, 3, 3, "url", 1, 1795703209),
        (2, 3, 4, "forum", 0, 0),
        (2, 3, 5, "assign", 0, 0),
        (2, 3, 6, "assign", 0, 0),
        (2, 3, 7, "quiz", 1, 1795703197),
    ]
    # core_completion_get_course_completion_status__course2_user3.json: completed, two criteria.
    assert rows(db, "SELECT courseid, userid, completed, aggregation FROM moodle.course_completion") == [
        (2, 3, True, 1)
    ]
    assert rows(
        db,
        "SELECT courseid, userid, status, complete, timecompleted, details->>'requirement' "
        "FROM moodle.course_completion_criteria ORDER BY 6",
    ) == [
        (2, 3, "Yes", True, 1795703209, "Marking yourself complete"),
        (2, 3, "Yes", True, 1795703209, "Viewing the page"),
    ]


# --------------------------------------------------------------------------- the demo, by hand


@pytest.fixture(scope="module")
def h(full_harvest) -> Harvest:
    return full_harvest


def q(h: Harvest, sql: str) -> list[tuple]:
    return rows(h.db, sql)


# Read off moodle_assets/demo/dataset.py: 12 courses (ids 2..13, in _COURSES order) of which
# PD-LEAD (id 12) cannot be read by the token; 240 students (ids 3..242), 8 teachers
# (243..250), the service account 251; DS101 (id 2) has 226 students and 3 teachers, 2 of
# whom are hidden from participant lists; every course has a label, page, url, forum, two
# assignments and a quiz, and a Q&A forum when its id % 3 == 2; 2 groups per course with an
# even id, 3 with an odd one; forum 1 has 135 discussions.
READABLE = [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13]


def test_demo_site_info_by_hand(h):
    assert q(h, "SELECT sitename, userid, username, release, version FROM moodle.site_info") == [
        ("Acme University LMS", 2, "admin", "4.5 (Build: 20241007)", "2024100700")
    ]


def test_demo_courses_by_hand(h):
    assert [r[0] for r in q(h, "SELECT id FROM moodle.courses ORDER BY id")] == READABLE
    assert q(
        h,
        "SELECT id, shortname, fullname, categoryid, idnumber, format, visible FROM moodle.courses "
        "WHERE id IN (2, 8, 13) ORDER BY id",
    ) == [
        (2, "DS101", "Introduction to Data Science", 5, "CRS-DS101", "topics", 1),
        (8, "HIST210", "Modern European History", 3, "CRS-HIST210", "topics", 1),
        (13, "PD-ONB", "Staff Onboarding", 4, "CRS-PD-ONB", "topics", 0),
    ]
    assert q(h, "SELECT id, name, parent, path, depth FROM moodle.course_categories ORDER BY id") == [
        (1, "Category 1", 0, "/1", 1),
        (2, "Faculty of Science", 0, "/2", 1),
        (3, "Faculty of Arts &amp; Humanities", 0, "/3", 1),
        (4, "Professional Development", 0, "/4", 1),
        (5, "Computer Science", 2, "/2/5", 2),
    ]
    # 7 modules in each readable course, plus the Q&A forums of courses 2, 5, 8 and 11.
    assert q(h, "SELECT count(*) FROM moodle.course_modules") == [(7 * 11 + 4,)]
    assert q(
        h, "SELECT courseid FROM moodle.course_modules WHERE modname = 'forum' AND name = 'Q&amp;A forum' ORDER BY 1"
    ) == [(2,), (5,), (8,), (11,)]


def test_demo_people_by_hand(h):
    assert q(h, "SELECT count(*), min(id), max(id) FROM moodle.users") == [(251, 1, 251)]
    assert q(h, "SELECT id, username, idnumber FROM moodle.users WHERE id IN (1, 2, 3, 242) ORDER BY id") == [
        (1, "guest", None),
        (2, "admin", None),
        (3, "student001", "S10001"),
        (242, "student240", "S10240"),
    ]
    assert q(
        h,
        "SELECT id, username, firstname, lastname, email, idnumber, institution FROM moodle.users "
        "WHERE id IN (243, 250, 251) ORDER BY id",
    ) == [
        (243, "teacher1", "Margaret", "Hamilton", "margaret.hamilton@staff.example.edu", "T0001", "Acme University"),
        (250, "teacher8", "Frances", "Allen", "frances.allen@staff.example.edu", "T0008", "Acme University"),
        (251, "svc_ingest", "Ingestion", "Service", "svc_ingest@example.edu", None, None),
    ]
    # The second-to-last student (student239, id 241) is the suspended one.
    assert q(h, "SELECT id FROM moodle.users WHERE suspended") == [(241,)]
    # DS101: 226 students + 3 teachers, two participants hidden.
    assert q(h, "SELECT count(*) FROM moodle.enrolled_users WHERE courseid = 2") == [(227,)]
    assert q(
        h, "SELECT count(*) FROM moodle.enrolled_users WHERE courseid = 2 AND roles->0->>'shortname' = 'editingteacher'"
    ) == [(3,)]
    # 2 groups in each even course (2, 4, 6, 8, 10), 3 in each odd one (3, 5, 7, 9, 11, 13).
    assert q(h, "SELECT count(*) FROM moodle.groups") == [(5 * 2 + 6 * 3,)]


def test_demo_assessment_by_hand(h):
    assert q(h, "SELECT name, grade, count(*) FROM moodle.assignments GROUP BY 1, 2 ORDER BY 1") == [
        ("Essay 1", 100, 11),
        ("Project report", 100, 11),
    ]
    assert q(h, "SELECT name, grade, sumgrades, timelimit, attempts, count(*) FROM moodle.quizzes GROUP BY ALL") == [
        ("Week 3 quiz", 10, 4, 1800, 2, 11)
    ]
    # DS101's 226 students each have a submission row for its two assignments (ids 1 and 2),
    # except every fifth one (positions 4, 9, ..., 224: 45 of them).
    assert q(
        h,
        "SELECT assignmentid, count(*) FROM moodle.assignment_submissions WHERE assignmentid IN (1, 2) "
        "GROUP BY 1 ORDER BY 1",
    ) == [(1, 181), (2, 181)]


def test_demo_engagement_by_hand(h):
    assert q(h, "SELECT type, name, count(*) FROM moodle.forums GROUP BY 1, 2 ORDER BY 1") == [
        ("general", "General discussion", 11),
        ("qanda", "Q&amp;A forum", 4),
    ]
    assert q(h, "SELECT count(*), count(DISTINCT discussion) FROM moodle.forum_discussions WHERE forumid = 1") == [
        (135, 135)
    ]
    # PD-GDPR (id 11) has no completion criteria: no course completion rows for it.
    assert q(h, "SELECT count(*) FROM moodle.course_completion WHERE courseid = 11") == [(0,)]
