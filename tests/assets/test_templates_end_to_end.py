"""Every built-in template end to end: demo Moodle over HTTP -> Dagster -> DuckDB.

The whole unpartitioned graph is materialised once (``full_harvest``), then each table is
compared with the demo dataset it came from, following how each demo function filters:
the token is the site admin (id 2), enrolled in no course; one course (PD-LEAD) cannot be
read; two participants of the big course are hidden from participant lists, so every
fan-out over enrolled users leaves them out; one teacher's competency report fails with a
PHP ``Error``. The calls Moodle received are checked too, parameter by parameter.
"""

from __future__ import annotations

import json
from collections import Counter

import httpx
import pytest

from moodle_assets.demo.dataset import ADMIN_ID, GUEST_ID, THE_BIG_COURSE, THE_PAGED_FORUM_ID, Dataset
from moodle_assets.demo.server import DEMO_TOKEN, REST_PATH
from moodle_assets.demo.services import site_functions
from moodle_assets.endpoints import load_specs
from tests.assets.conftest import Harvest
from tests.assets.helpers import rows

PROTOCOL = [("wstoken", "<TOKEN>"), ("moodlewsrestformat", "json")]


class Site:
    """What the admin token can see of the demo dataset, derived the way the handlers do."""

    def __init__(self, ds: Dataset) -> None:
        self.ds = ds
        self.readable = sorted(c["id"] for c in ds.courses if c["id"] != 1 and c["id"] not in ds.unreadable_course_ids)
        readable = set(self.readable)
        # core_enrol_get_enrolled_users: readable courses, hidden participants left out.
        self.enrolled = [
            e for e in ds.enrolments if e["courseid"] in readable and e["userid"] not in ds.hidden_user_ids
        ]
        self.students = [e for e in ds.enrolments if e["courseid"] in readable and e["role"] == "student"]
        self.assignments = [a for a in ds.assignments if a["course"] in readable]
        self.quizzes = [q for q in ds.quizzes if q["course"] in readable]
        self.forums = [f for f in ds.forums if f["course"] in readable]
        self.groups = [g for g in ds.groups if g["courseid"] in readable]

    def tracked_modules(self, course_id: int) -> list[dict]:
        return [m for m in self.ds.modules_of_course(course_id) if m["completion"]]

    def completion_state(self, cmid: int, user_id: int) -> int:
        row = next((a for a in self.ds.activity_completion if a["cmid"] == cmid and a["userid"] == user_id), None)
        return row["state"] if row else 0


@pytest.fixture(scope="module")
def site(demo_dataset) -> Site:
    return Site(demo_dataset)


@pytest.fixture(scope="module")
def h(full_harvest) -> Harvest:
    return full_harvest


def q(h: Harvest, sql: str) -> list[tuple]:
    return rows(h.db, sql)


def params_of(fields: list[tuple[str, str]], function: str) -> list[tuple[str, str]]:
    """The caller's params of one call, after checking the protocol fields around them."""
    assert ("wsfunction", function) in fields
    assert [f for f in fields if f[0] in ("wstoken", "moodlewsrestformat")] == PROTOCOL
    return [f for f in fields if f[0] not in ("wstoken", "wsfunction", "moodlewsrestformat")]


def all_params(h: Harvest, function: str) -> list[list[tuple[str, str]]]:
    return [params_of(fields, function) for fields in h.sent(function)]


def array(name: str, values) -> list[tuple[str, str]]:
    return [(f"{name}[{i}]", str(v)) for i, v in enumerate(values)]


# ---------------------------------------------------------------- the run as a whole


def test_every_unpartitioned_template_materialises_with_its_check(h):
    assert h.result.success, h.failures
    expected = {s.name for s in load_specs(include_user=False) if s.partition is None}
    assert len(expected) == 27
    assert set(h.meta) == expected
    checks = {e.asset_key.path[-1]: e for e in h.result.get_asset_check_evaluations() if e.check_name == "failed_items"}
    assert set(checks) == expected
    assert all(c.passed for c in checks.values())
    failed = {name: m["failed_items"] for name, m in h.meta.items() if m["failed_items"]}
    assert failed == {"courses": 1, "user_competencies": 1}
    assert checks["courses"].metadata["failed_items"].value == 1
    assert checks["courses"].metadata["items"].value == 12
    for name, m in h.meta.items():
        assert m["dagster/table_name"] == f"moodle.{name}"
        assert m["dagster/row_count"] == q(h, f"SELECT count(*) FROM moodle.{name}")[0][0], name


def test_errors_table_holds_exactly_the_refused_items(h, site):
    [bad_course] = site.ds.unreadable_course_ids
    [broken_teacher] = site.ds.competency_report_broken_user_ids
    errors = q(h, "SELECT table_name, item, function, errorcode FROM moodle._errors ORDER BY 1")
    assert [(t, json.loads(i), f, c) for t, i, f, c in errors] == [
        ("moodle.courses", {"course_index.id": bad_course}, "core_course_get_courses", "nopermissions"),
        (
            "moodle.user_competencies",
            # an incremental fan-out's item carries its key too, by which the next run re-reads it
            {"courseid": 2, "userid": broken_teacher, "_item": f"2|{broken_teacher}"},
            "report_competency_data_for_report",
            "Error",
        ),
    ]


def test_no_call_sends_the_token_or_a_user_id_of_zero(h):
    assert h.calls and all(c.token_kind == "admin" for c in h.calls)
    assert DEMO_TOKEN not in repr(h.calls)
    assert all(("userid", "0") not in c.fields for c in h.calls if c.function != "gradereport_user_get_grade_items")


# ---------------------------------------------------------------- site and courses


def test_site_info(h, site):
    [(userid, username, release, version, admin, functions)] = q(
        h, "SELECT userid, username, release, version, userissiteadmin, functions FROM moodle.site_info"
    )
    assert (userid, username, admin) == (ADMIN_ID, "admin", True)
    assert (release, version) == (site.ds.config.release, site.ds.config.version)
    assert [f["name"] for f in json.loads(functions)] == site_functions(site.ds.config.version)
    assert all_params(h, "core_webservice_get_site_info") == [[]]


def test_course_index_and_courses(h, site):
    real = sorted(c["id"] for c in site.ds.courses if c["id"] != 1)
    assert [r[0] for r in q(h, "SELECT id FROM moodle.course_index ORDER BY id")] == real
    assert all_params(h, "core_course_search_courses") == [
        [("criterianame", "search"), ("criteriavalue", ""), ("page", "0"), ("perpage", "100")]
    ]
    got = q(h, "SELECT id, shortname, categoryid, format, startdate FROM moodle.courses ORDER BY id")
    assert got == [
        (c["id"], c["shortname"], c["categoryid"], c["format"], c["startdate"])
        for c in site.ds.courses
        if c["id"] in site.readable
    ]
    # One call for all 12 ids, refused whole for the unreadable one, split until it stands alone.
    sent = all_params(h, "core_course_get_courses")
    assert sent[0] == array("options[ids]", real)
    assert [("options[ids][0]", str(i)) for i in site.ds.unreadable_course_ids] in sent
    assert h.meta["courses"]["api_calls"] == len(sent)


def test_course_categories_keep_moodles_escaped_names(h, site):
    got = q(h, "SELECT id, name, parent, path, depth, coursecount FROM moodle.course_categories ORDER BY id")
    assert got == [
        (c["id"], c["name"].replace("&", "&amp;"), c["parent"], c["path"], c["depth"], c["coursecount"])
        for c in site.ds.categories
    ]
    assert got[2][1] == "Faculty of Arts &amp; Humanities"
    assert all_params(h, "core_course_get_categories") == [[("addsubcategories", "1")]]


def test_courses_by_field_lists_every_course_with_the_site_front_page(h, site):
    got = q(h, "SELECT id, shortname, format FROM moodle.courses_by_field ORDER BY id")
    assert got == [(c["id"], c["shortname"], c["format"]) for c in site.ds.courses]
    assert got[0] == (1, "acmelms", "site")
    assert {i for i, *_ in got} >= site.ds.unreadable_course_ids  # listed even when it cannot be entered
    assert all_params(h, "core_course_get_courses_by_field") == [[("field", ""), ("value", "")]]


def test_course_contents_sections_and_their_modules(h, site):
    sections = q(
        h, "SELECT courseid, id, section, name, json_array_length(modules) FROM moodle.course_contents ORDER BY id"
    )
    expected = []
    for s in site.ds.sections:
        if s["courseid"] in site.readable:
            modules = [m for m in site.ds.modules_of_course(s["courseid"]) if m["section"] == s["section"]]
            expected.append((s["courseid"], s["id"], s["section"], s["name"], len(modules)))
    assert sections == expected and len(sections) == 5 * len(site.readable)
    assert sorted(all_params(h, "core_course_get_contents")) == sorted([("courseid", str(c))] for c in site.readable)
    assert h.meta["course_contents"]["api_calls"] == len(site.readable)

    section_ids = {(s["courseid"], s["section"]): s["id"] for s in site.ds.sections}
    modules = q(
        h, "SELECT courseid, sectionid, sectionnum, id, modname, instance FROM moodle.course_modules ORDER BY id"
    )
    assert modules == [
        (m["courseid"], section_ids[(m["courseid"], m["section"])], m["section"], m["id"], m["modname"], m["instance"])
        for m in site.ds.modules
        if m["courseid"] in site.readable
    ]
    assert h.meta["course_modules"]["api_calls"] == 0
    assert h.meta["course_modules"]["items"] == len(sections)
    # The token user is enrolled nowhere: completion data is present but untracked.
    assert q(h, "SELECT DISTINCT completiondata->>'istrackeduser' FROM moodle.course_modules WHERE completion > 0") == [
        ("false",)
    ]


# ---------------------------------------------------------------- people


def test_users_and_users_by_field(h, site):
    ids = [u["id"] for u in site.ds.users]
    assert [r[0] for r in q(h, "SELECT id FROM moodle.users ORDER BY id")] == ids
    assert q(h, f"SELECT username FROM moodle.users WHERE id = {GUEST_ID}") == [("guest",)]
    assert all_params(h, "core_user_get_users") == [[("criteria[0][key]", "email"), ("criteria[0][value]", "%")]]
    got = q(h, "SELECT id, username, email, json_array_length(customfields) FROM moodle.users_by_field ORDER BY id")
    # The menu field "cohortyear" has a default, so every user shows it, the guest too (as recorded
    # in core_user_get_users__badkey); the text field only where it was filled in.
    assert got == [
        (u["id"], u["username"], u["email"], len({f["shortname"] for f in u["customfields"]} | {"cohortyear"}))
        for u in site.ds.users
    ]
    sent = sorted(all_params(h, "core_user_get_users_by_field"), key=lambda p: int(p[1][1]))
    assert sent == [[("field", "id")] + array("values", ids[i : i + 100]) for i in range(0, len(ids), 100)]


def test_enrolled_users_leave_out_hidden_participants(h, site):
    got = q(h, "SELECT courseid, id, roles->0->>'shortname' FROM moodle.enrolled_users ORDER BY 1, 2")
    assert got == sorted((e["courseid"], e["userid"], e["role"]) for e in site.enrolled)
    assert site.ds.hidden_user_ids and not {r[1] for r in got if r[0] == THE_BIG_COURSE.id} & site.ds.hidden_user_ids


def test_user_courses_are_every_users_enrolments(h, site):
    got = q(h, "SELECT userid, id, shortname FROM moodle.user_courses ORDER BY 1, 2")
    expected = sorted(
        (e["userid"], e["courseid"], site.ds.course(e["courseid"])["shortname"]) for e in site.ds.enrolments
    )
    assert got == expected and len(got) == len(site.ds.enrolments)
    assert q(h, "SELECT count(enrolledusercount) FROM moodle.user_courses") == [(0,)]  # returnusercount=0 was sent
    sent = all_params(h, "core_enrol_get_users_courses")
    assert sorted(sent) == sorted([("userid", str(u["id"])), ("returnusercount", "0")] for u in site.ds.users)
    assert h.meta["user_courses"]["failed_items"] == 0


def test_groups_and_one_row_per_group_member(h, site):
    got = q(h, "SELECT courseid, id, name, idnumber FROM moodle.groups ORDER BY id")
    assert got == [(g["courseid"], g["id"], g["name"], g["idnumber"]) for g in site.groups]
    members = q(h, "SELECT groupid, userid FROM moodle.group_members ORDER BY 1, 2")
    expected = sorted(
        (m["groupid"], m["userid"]) for m in site.ds.group_members if m["groupid"] in {g["id"] for g in site.groups}
    )
    assert members == expected and len(members) > 300
    # 28 group ids fit one batch of 50.
    assert all_params(h, "core_group_get_group_members") == [array("groupids", [g["id"] for g in site.groups])]


# ---------------------------------------------------------------- assessment


def test_grade_items_are_students_times_items_of_each_course(h, site):
    got = q(h, "SELECT courseid, userid, id, itemtype, graderaw FROM moodle.grade_items ORDER BY 1, 2, 3")
    grades = {(g["itemid"], g["userid"]): g["finalgrade"] for g in site.ds.grades}
    expected = sorted(
        (e["courseid"], e["userid"], i["id"], i["itemtype"], grades.get((i["id"], e["userid"])))
        for e in site.students
        for i in site.ds.grade_items
        if i["courseid"] == e["courseid"]
    )
    assert got == expected
    assert {r[3] for r in got} == {"course", "mod"} and any(r[4] is None for r in got)
    assert sorted(all_params(h, "gradereport_user_get_grade_items")) == sorted(
        [("courseid", str(c)), ("userid", "0")] for c in site.readable
    )


def test_course_grades_per_user_with_null_rawgrade_when_ungraded(h, site):
    got = q(h, "SELECT userid, courseid, grade, rawgrade FROM moodle.course_grades ORDER BY 1, 2")
    totals = {i["courseid"]: i["id"] for i in site.ds.grade_items if i["itemtype"] == "course"}
    grades = {(g["itemid"], g["userid"]): g["finalgrade"] for g in site.ds.grades}
    expected = []
    for e in site.ds.enrolments:
        if e["courseid"] in site.readable:
            raw = grades.get((totals[e["courseid"]], e["userid"]))
            expected.append(
                (
                    e["userid"],
                    e["courseid"],
                    f"{raw:.2f}" if raw is not None else "-",
                    f"{raw:.5f}" if raw is not None else None,
                )
            )
    assert got == sorted(expected)
    assert {r[3] is None for r in got} == {True, False}
    # The guest is refused with guestsarenotallowed: counted as empty, not as a failure.
    assert (h.meta["course_grades"]["empty_items"], h.meta["course_grades"]["failed_items"]) == (1, 0)
    assert len(all_params(h, "gradereport_overview_get_course_grades")) == len(site.ds.users)


def test_assignments_of_every_readable_course(h, site):
    got = q(h, "SELECT id, course, name, duedate FROM moodle.assignments ORDER BY id")
    assert got == [(a["id"], a["course"], a["name"], a["duedate"]) for a in site.assignments]
    assert all_params(h, "mod_assign_get_assignments") == [
        array("courseids", site.readable) + [("includenotenrolledcourses", "1")]
    ]
    assert h.meta["assignments"]["warning_count"] == 0


def test_assignment_submissions_in_every_status_with_their_assignment(h, site):
    got = q(h, "SELECT assignmentid, id, userid, status FROM moodle.assignment_submissions ORDER BY 1, 2")
    ids = {a["id"] for a in site.assignments}
    expected = [
        (s["assignment"], s["id"], s["userid"], s["status"]) for s in site.ds.submissions if s["assignment"] in ids
    ]
    assert got == sorted(expected)
    assert Counter(r[3] for r in got).keys() == {"new", "draft", "submitted", "reopened"}
    assert q(h, "SELECT count(*) FROM moodle.assignment_submissions WHERE assignmentid IS NULL") == [(0,)]
    assert all_params(h, "mod_assign_get_submissions") == [
        array("assignmentids", [a["id"] for a in site.assignments]) + [("status", "")]
    ]


def test_quizzes_of_every_readable_course(h, site):
    got = q(h, "SELECT id, course, coursemodule, timeopen FROM moodle.quizzes ORDER BY id")
    assert got == [(x["id"], x["course"], x["coursemodule"], x["timeopen"]) for x in site.quizzes]
    assert all_params(h, "mod_quiz_get_quizzes_by_courses") == [array("courseids", site.readable)]


def test_quiz_attempts_finished_and_unfinished_of_every_enrolled_user(h, site):
    got = q(h, "SELECT id, quiz, userid, attempt, state, sumgrades FROM moodle.quiz_attempts ORDER BY id")
    quizzes = {x["id"] for x in site.quizzes}
    expected = [
        (a["id"], a["quiz"], a["userid"], a["attempt"], a["state"], a["sumgrades"])
        for a in site.ds.quiz_attempts
        if a["quiz"] in quizzes and a["userid"] not in site.ds.hidden_user_ids
    ]
    assert got == expected
    assert {r[4] for r in got} == {"finished", "inprogress"}
    assert all(r[5] is None for r in got if r[4] == "inprogress")
    assert all(r[2] != 0 for r in got)
    # One call per quiz x enrolled user of its course, never userid 0, always status=all.
    sent = all_params(h, "mod_quiz_get_user_attempts")
    pairs = sorted((x["id"], e["userid"]) for x in site.quizzes for e in site.enrolled if e["courseid"] == x["course"])
    assert sorted((int(p[0][1]), int(p[1][1])) for p in sent) == pairs
    assert all([k for k, _ in p] == ["quizid", "userid", "status", "includepreviews"] for p in sent)
    assert {(p[2][1], p[3][1]) for p in sent} == {("all", "0")}
    assert "mod_quiz_get_user_quiz_attempts" not in {c.function for c in h.calls}  # a 4.5 site


def test_course_competencies_are_asked_for_by_id(h, site):
    got = q(
        h,
        "SELECT courseid, (coursecompetency->>'competencyid')::INT, competency->>'shortname' "
        "FROM moodle.course_competencies ORDER BY 1, coursecompetency->>'sortorder'",
    )
    names = {c["id"]: c["shortname"] for c in site.ds.competencies}
    expected = [
        (link["courseid"], link["competencyid"], names[link["competencyid"]])
        for link in sorted(site.ds.course_competencies, key=lambda x: (x["courseid"], x["sortorder"]))
    ]
    assert got == expected and {r[0] for r in got} == {2, 4}
    assert sorted(all_params(h, "core_competency_list_course_competencies")) == sorted(
        [("id", str(c))] for c in site.readable
    )


def test_user_competencies_only_for_courses_with_competencies(h, site):
    broken = site.ds.competency_report_broken_user_ids
    links = {c: [x["competencyid"] for x in site.ds.course_competencies if x["courseid"] == c] for c in (2, 4)}
    ratings = {(r["courseid"], r["userid"], r["competencyid"]): r["grade"] for r in site.ds.user_competency_course}
    got = q(
        h,
        "SELECT courseid, userid, (usercompetencycourse->>'competencyid')::INT, "
        "(usercompetencycourse->>'grade')::INT FROM moodle.user_competencies ORDER BY 1, 2, 3",
    )
    expected = sorted(
        (e["courseid"], e["userid"], comp, ratings.get((e["courseid"], e["userid"], comp)))
        for e in site.enrolled
        if e["courseid"] in links and e["userid"] not in broken
        for comp in links[e["courseid"]]
    )
    assert got == expected
    assert any(r[3] is not None for r in got) and any(r[3] is None for r in got)
    sent = all_params(h, "report_competency_data_for_report")
    assert {p[0][1] for p in sent} == {"2", "4"}
    assert all([k for k, _ in p] == ["courseid", "userid", "moduleid"] and p[2][1] == "0" for p in sent)
    assert len(sent) == len([e for e in site.enrolled if e["courseid"] in links])
    m = h.meta["user_competencies"]
    assert (m["failed_items"], m["items"]) == (1, len(sent))


# ---------------------------------------------------------------- engagement


def test_activity_completion_of_every_enrolled_user(h, site):
    got = q(h, "SELECT courseid, userid, cmid, state, istrackeduser FROM moodle.activity_completion ORDER BY 1, 2, 3")
    expected = sorted(
        (
            e["courseid"],
            e["userid"],
            m["id"],
            site.completion_state(m["id"], e["userid"]) if e["role"] == "student" else 0,
            e["role"] == "student",
        )
        for e in site.enrolled
        for m in site.tracked_modules(e["courseid"])
    )
    assert got == expected
    assert {r[3] for r in got} == {0, 1}
    sent = all_params(h, "core_completion_get_activities_completion_status")
    assert sorted((int(p[0][1]), int(p[1][1])) for p in sent) == sorted(
        (e["courseid"], e["userid"]) for e in site.enrolled
    )


def test_course_completion_counts_courses_without_criteria_as_empty(h, site):
    completed = {(c["courseid"], c["userid"]): c["timecompleted"] is not None for c in site.ds.course_completion}
    with_criteria = [e for e in site.enrolled if site.ds.course(e["courseid"])["has_criteria"]]
    got = q(
        h,
        "SELECT courseid, userid, completed, aggregation, json_array_length(completions) "
        "FROM moodle.course_completion ORDER BY 1, 2",
    )
    assert got == sorted(
        (e["courseid"], e["userid"], completed.get((e["courseid"], e["userid"]), False), 1, 2) for e in with_criteria
    )
    assert {r[2] for r in got} == {True, False}
    m = h.meta["course_completion"]
    assert m["empty_items"] == len(site.enrolled) - len(with_criteria) > 0  # nocriteriaset (PD-GDPR)
    assert m["failed_items"] == 0 and m["items"] == len(site.enrolled)

    criteria = q(h, "SELECT courseid, userid, title, complete FROM moodle.course_completion_criteria ORDER BY 1, 2")
    assert len(criteria) == 2 * len(got)
    expected = []
    for e in with_criteria:
        for module in site.ds.modules_of_course(e["courseid"]):
            if module["modname"] in ("page", "url"):
                expected.append(
                    (
                        e["courseid"],
                        e["userid"],
                        "Activity completion",
                        site.completion_state(module["id"], e["userid"]) > 0,
                    )
                )
    assert sorted(criteria) == sorted(expected)
    assert h.meta["course_completion_criteria"]["api_calls"] == 0


def test_forums_of_every_readable_course(h, site):
    got = q(h, "SELECT id, course, type, numdiscussions FROM moodle.forums ORDER BY id")
    counts = Counter(d["forum"] for d in site.ds.discussions)
    assert got == [(f["id"], f["course"], f["type"], counts[f["id"]]) for f in site.forums]
    assert all_params(h, "mod_forum_get_forums_by_courses") == [array("courseids", site.readable)]


def test_forum_discussions_paged_without_duplicates(h, site):
    forums = {f["id"] for f in site.forums}
    got = q(h, "SELECT forumid, discussion, id, userid, created FROM moodle.forum_discussions ORDER BY 2")
    assert got == [
        (d["forum"], d["discussion"], d["id"], d["userid"], d["created"])
        for d in site.ds.discussions
        if d["forum"] in forums
    ]
    assert len({r[1] for r in got}) == len(got)
    big = Counter(r[0] for r in got)[THE_PAGED_FORUM_ID]
    assert big >= 130
    sent = all_params(h, "mod_forum_get_forum_discussions")
    assert all(dict(p)["sortorder"] == "4" and dict(p)["perpage"] == "50" for p in sent)
    pages = sorted((int(dict(p)["forumid"]), int(dict(p)["page"])) for p in sent)
    # The big forum takes ceil(135/50) pages and stops on the short last one; the others one page each.
    assert pages == sorted(
        [(THE_PAGED_FORUM_ID, n) for n in range(-(-big // 50))] + [(f, 0) for f in forums if f != THE_PAGED_FORUM_ID]
    )
    m = h.meta["forum_discussions"]
    assert (m["api_calls"], m["items"], m.get("duplicates_dropped", 0)) == (len(sent), len(forums), 0)


def test_sortorder_4_pages_in_creation_order(demo_server, site):
    reply = httpx.post(
        demo_server.url + REST_PATH,
        data={
            "wstoken": DEMO_TOKEN,
            "wsfunction": "mod_forum_get_forum_discussions",
            "moodlewsrestformat": "json",
            "forumid": THE_PAGED_FORUM_ID,
            "sortorder": 4,
            "page": 0,
            "perpage": 50,
        },
    )
    created = [d["created"] for d in reply.json()["discussions"] if not d["pinned"]]
    oldest = sorted(d["created"] for d in site.ds.discussions if d["forum"] == THE_PAGED_FORUM_ID and not d["pinned"])
    assert created == oldest[: len(created)]


def test_user_badges_of_every_user(h, site):
    got = q(h, "SELECT userid, issuedid, id, name, courseid FROM moodle.user_badges ORDER BY 1, 2")
    badges = {b["id"]: b for b in site.ds.badges}
    assert got == sorted(
        (i["userid"], i["id"], i["badgeid"], badges[i["badgeid"]]["name"], badges[i["badgeid"]]["courseid"])
        for i in site.ds.issued_badges
    )
    sent = all_params(h, "core_badges_get_user_badges")
    assert sorted(sent) == sorted([("userid", str(u["id"])), ("courseid", "0")] for u in site.ds.users)
    assert h.meta["user_badges"]["failed_items"] == 0
