"""A simulated day on the demo site, seen over HTTP as a full harvest would see it.

Besides the learners' visits, a real site changes without the learner coming back: teachers
grade, override grades and completions, award badges, add events, move due dates and change
groups; the admin hides a course, suspends and edits accounts; the quiz's overdue task closes
attempts whose time ran out. Each test takes one kind of change from the day's report and
checks that every answer carrying it shows it as Moodle 4.5 would. Expected values are worked
out here from the report, the site before the day and Moodle's rules (cited where used), not
by the emulator's helpers.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from moodle_assets.demo.activity import DayReport, simulate_day
from moodle_assets.demo.dataset import ADMIN_ID, DAY, Dataset, DemoConfig, generate
from moodle_assets.demo.server import DemoServer

from .conftest import NOW, Site

GRACE_PERIOD_MIN = 60  # mod_quiz's graceperiodmin default: the overdue task picks an attempt up this late


@dataclass
class Day:
    site: Site
    report: DayReport
    before: Dataset  # the site as it was before the day

    def call(self, function: str, **params: Any) -> Any:
        return self.site.call(function, **params)


@pytest.fixture(scope="module")
def day() -> Iterator[Day]:
    data = generate(DemoConfig(now=NOW))
    before = copy.deepcopy(data)
    report = simulate_day(data)
    with DemoServer(data) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        yield Day(Site(server, client), report, before)


def _user(day: Day, user_id: int) -> dict:
    [user] = day.call("core_user_get_users_by_field", field="id", **{"values[0]": user_id})
    return user


def _participants(day: Day, course_id: int, **options: str) -> dict[int, dict]:
    fields = {}
    for n, (name, value) in enumerate(options.items()):
        fields.update({f"options[{n}][name]": name, f"options[{n}][value]": value})
    return {u["id"]: u for u in day.call("core_enrol_get_enrolled_users", courseid=course_id, **fields)}


def _grade_report(day: Day, course_id: int, user_id: int) -> dict:
    [report] = day.call("gradereport_user_get_grade_items", courseid=course_id, userid=user_id)["usergrades"]
    return report


def _course_total(items: list[dict]) -> float:
    """The demo's course aggregation, "Mean of grades" with empty grades counted as 0
    (``aggregateonlygraded`` off), out of 100: the mean of every item's grade as a fraction of
    its maximum."""
    mods = [i for i in items if i["itemtype"] != "course"]
    return round(100 * sum((i["graderaw"] or 0) / i["grademax"] for i in mods) / len(mods), 2)


def _check_total(day: Day, course_id: int, user_id: int, graded_at: int) -> None:
    """The course total is regraded at the grade's time, in both gradebook answers; a total the
    grade did not change keeps its time (grade_category::aggregate_grades(): "Update in db if
    changed")."""
    items = _grade_report(day, course_id, user_id)["gradeitems"]
    [total] = [i for i in items if i["itemtype"] == "course"]
    assert total["graderaw"] == _course_total(items)
    [total_item] = [i for i in day.before.grade_items if i["courseid"] == course_id and i["itemtype"] == "course"]
    earlier = next((g for g in day.before.grades if g["itemid"] == total_item["id"] and g["userid"] == user_id), None)
    unchanged = earlier is not None and earlier["finalgrade"] == total["graderaw"]
    assert total["gradedategraded"] == (earlier["timemodified"] if unchanged else graded_at)
    overview = day.call("gradereport_overview_get_course_grades", userid=user_id)["grades"]
    [line] = [g for g in overview if g["courseid"] == course_id]
    assert line["grade"] == f"{_course_total(items):.2f}"


def _completion(day: Day, course_id: int, user_id: int, cmid: int) -> dict:
    statuses = day.call("core_completion_get_activities_completion_status", courseid=course_id, userid=user_id)
    [status] = [s for s in statuses["statuses"] if s["cmid"] == cmid]
    return status


def _was_complete(day: Day, cmid: int, user_id: int) -> dict | None:
    return next(
        (a for a in day.before.activity_completion if a["cmid"] == cmid and a["userid"] == user_id and a["state"]), None
    )


def _staff_changes(report: DayReport) -> list:
    return [
        *report.graded,
        *report.grades_overridden,
        *report.completions_overridden,
        *report.badges_issued,
        *report.events_added,
        *report.due_dates_moved,
        *report.group_changes,
        *report.courses_hidden,
        *report.courses_renamed,
        *report.users_suspended,
        *report.users_edited,
    ]


# ------------------------------------------------------------------ the day as a whole


def test_the_day_has_every_kind_of_change_once_per_twelve_courses(day: Day) -> None:
    report = day.report
    assert len(report.graded) == 3  # grading happens a few times
    for kind in (
        report.grades_overridden,
        report.completions_overridden,
        report.courses_completed,
        report.badges_issued,
        report.events_added,
        report.due_dates_moved,
        report.group_changes,
        report.courses_hidden,
        report.courses_renamed,
        report.users_suspended,
        report.users_edited,
        report.attempts_closed,
    ):
        assert len(kind) == 1, kind
    assert report.enrolled and report.unenrolled and report.attempts and report.submissions


def test_changes_happen_inside_the_day_to_students_who_did_not_visit(day: Day) -> None:
    changes = _staff_changes(day.report) + day.report.attempts_closed
    assert all(NOW < c.time < NOW + DAY for c in changes)
    assert not {c.userid for c in changes} & set(day.report.active_users)


def test_the_affected_students_access_times_did_not_move(day: Day) -> None:
    changes = _staff_changes(day.report) + day.report.attempts_closed
    for user_id in sorted({c.userid for c in changes if c.userid}):
        assert _user(day, user_id)["lastaccess"] == day.before.user(user_id)["lastaccess"]
        for enrolment in day.before.enrolments_of_user(user_id):
            if enrolment["courseid"] in day.before.unreadable_course_ids:
                continue
            listed = _participants(day, enrolment["courseid"]).get(user_id)
            if listed is not None:  # not the day's unenrolment
                assert listed["lastcourseaccess"] == enrolment["lastcourseaccess"], (user_id, enrolment["courseid"])


def test_the_acting_staff_access_times_are_their_last_action(day: Day) -> None:
    """A teacher's ``lastaccess`` and ``lastcourseaccess`` move to their last action there; the
    admin, acting from site pages, has only ``lastaccess``; the overdue task moves neither."""
    last: dict[int, int] = {}
    in_course: dict[tuple[int, int], int] = {}
    for change in _staff_changes(day.report):
        last[change.by] = max(last.get(change.by, 0), change.time)
        if change.by != ADMIN_ID:
            key = (change.by, change.courseid)
            in_course[key] = max(in_course.get(key, 0), change.time)
    assert ADMIN_ID in last and any(by != ADMIN_ID for by in last)
    for user_id, when in last.items():
        assert _user(day, user_id)["lastaccess"] == when
    for (teacher, course_id), when in in_course.items():
        assert _participants(day, course_id)[teacher]["lastcourseaccess"] == when


def test_the_same_seed_gives_the_same_day() -> None:
    first, second = generate(DemoConfig(now=NOW)), generate(DemoConfig(now=NOW))
    assert simulate_day(first, seed=3) == simulate_day(second, seed=3)
    assert first.grades == second.grades and first.users == second.users and first.events == second.events


def test_a_bigger_site_has_proportionally_more_staff_changes() -> None:
    report = simulate_day(generate(DemoConfig(now=NOW, scale=2)))  # 24 courses
    assert len(report.graded) == 6
    assert [len(k) for k in (report.grades_overridden, report.badges_issued, report.courses_renamed)] == [2, 2, 2]
    assert [len(k) for k in (report.courses_hidden, report.users_suspended, report.attempts_closed)] == [2, 2, 2]


# ------------------------------------------------------------------ teachers' changes


def test_a_graded_submission_shows_in_the_assignment_and_the_gradebook(day: Day) -> None:
    for change in day.report.graded:
        grade = float(change.detail)
        answer = day.call("mod_assign_get_grades", **{"assignmentids[0]": change.itemid})
        [row] = [g for g in answer["assignments"][0]["grades"] if g["userid"] == change.userid]
        assert (row["grade"], row["grader"]) == (f"{grade:.5f}", change.by)
        assert row["timecreated"] == row["timemodified"] == change.time
        answer = day.call("mod_assign_get_submissions", **{"assignmentids[0]": change.itemid})
        [submission] = [s for s in answer["assignments"][0]["submissions"] if s["userid"] == change.userid]
        [earlier] = [
            s for s in day.before.submissions if s["assignment"] == change.itemid and s["userid"] == change.userid
        ]
        assert (submission["status"], submission["gradingstatus"]) == ("submitted", "graded")
        assert earlier["gradingstatus"] == "notgraded" and submission["timemodified"] == earlier["timemodified"]
        items = _grade_report(day, change.courseid, change.userid)["gradeitems"]
        [item] = [i for i in items if i["itemmodule"] == "assign" and i["iteminstance"] == change.itemid]
        assert (item["graderaw"], item["gradedategraded"], item["gradeisoverridden"]) == (grade, change.time, False)
        _check_total(day, change.courseid, change.userid, change.time)


def test_the_course_total_rule_is_the_sites_own(day: Day) -> None:
    """The aggregation the checks above apply gives every untouched student's total too."""
    course = day.report.graded[0].courseid
    report = day.call("gradereport_user_get_grade_items", courseid=course, userid=0)["usergrades"]
    totals = [(r["gradeitems"], [i for i in r["gradeitems"] if i["itemtype"] == "course"][0]) for r in report]
    graded = [(items, total) for items, total in totals if total["graderaw"] is not None]
    assert len(graded) > 10
    assert all(total["graderaw"] == _course_total(items) for items, total in graded)


def test_a_grade_typed_in_the_gradebook_is_overridden_and_completes_the_quiz(day: Day) -> None:
    [change] = day.report.grades_overridden
    items = _grade_report(day, change.courseid, change.userid)["gradeitems"]
    [item] = [i for i in items if i["id"] == change.itemid]
    assert item["itemmodule"] == "quiz"
    assert (item["graderaw"], item["gradeisoverridden"], item["gradedategraded"]) == (
        float(change.detail),
        True,
        change.time,
    )
    _check_total(day, change.courseid, change.userid, change.time)
    # completion_info::inform_grade_changed(): the quiz completes on "Receive a grade"
    status = _completion(day, change.courseid, change.userid, item["cmid"])
    earlier = _was_complete(day, item["cmid"], change.userid)
    assert status["state"] == 1 and status["overrideby"] is None
    assert status["timecompleted"] == (earlier["timecompleted"] if earlier else change.time)


def test_an_overridden_completion_names_the_teacher_and_completes_the_course(day: Day) -> None:
    [change] = day.report.completions_overridden
    assert _was_complete(day, change.itemid, change.userid) is None
    status = _completion(day, change.courseid, change.userid, change.itemid)
    assert (status["state"], status["timecompleted"], status["overrideby"]) == (1, change.time, change.by)
    assert {d["rulevalue"]["status"] for d in status["details"]} <= {1}
    [completed] = day.report.courses_completed
    assert (completed.courseid, completed.userid) == (change.courseid, change.userid)
    earlier = next(
        c for c in day.before.course_completion if c["courseid"] == change.courseid and c["userid"] == change.userid
    )
    assert earlier["timecompleted"] is None
    answer = day.call("core_completion_get_course_completion_status", courseid=change.courseid, userid=change.userid)
    criteria = answer["completionstatus"]["completions"]
    assert answer["completionstatus"]["completed"] is True and all(c["complete"] for c in criteria)
    # aggregate_completions(): the course completes at its latest criterion, this override
    assert max(c["timecompleted"] for c in criteria) == completed.time == change.time
    [course] = [c for c in day.call("core_enrol_get_users_courses", userid=change.userid) if c["id"] == change.courseid]
    assert course["completed"] is True


def test_an_awarded_badge_is_listed_with_its_date(day: Day) -> None:
    [change] = day.report.badges_issued
    badges = day.call("core_badges_get_user_badges", userid=change.userid)["badges"]
    [badge] = [b for b in badges if b["id"] == change.itemid]
    assert (badge["dateissued"], badge["recipientid"], badge["courseid"]) == (
        change.time,
        change.userid,
        change.courseid or None,
    )
    assert len(badges) == 1 + sum(1 for i in day.before.issued_badges if i["userid"] == change.userid)
    if change.courseid == 0:
        assert change.by == ADMIN_ID


def test_an_added_event_is_in_the_courses_calendar(day: Day) -> None:
    [change] = day.report.events_added
    answer = day.call(
        "core_calendar_get_calendar_events",
        **{"events[courseids][0]": change.courseid, "options[timestart]": NOW, "options[timeend]": NOW + 30 * DAY},
    )
    [event] = [e for e in answer["events"] if e["id"] == change.itemid]
    assert (event["eventtype"], event["courseid"], event["userid"]) == ("course", change.courseid, change.by)
    assert event["timemodified"] == change.time and event["timestart"] > change.time


def test_a_moved_due_date_shows_on_the_assignment_and_its_events(day: Day) -> None:
    [change] = day.report.due_dates_moved
    earlier = day.before.assignment(change.itemid)
    answer = day.call("mod_assign_get_assignments", **{"courseids[0]": change.courseid}, includenotenrolledcourses=1)
    [assignment] = [a for a in answer["courses"][0]["assignments"] if a["id"] == change.itemid]
    assert (assignment["duedate"], assignment["timemodified"]) == (int(change.detail), change.time)
    assert earlier["duedate"] < assignment["duedate"] <= assignment["gradingduedate"] == earlier["gradingduedate"]
    # assign::update_calendar() updates both events: the due one moves, both get timemodified
    ids = {
        e["eventtype"]: e["id"]
        for e in day.before.events
        if e["modulename"] == "assign" and e["instance"] == change.itemid
    }
    answer = day.call(
        "core_calendar_get_calendar_events",
        **{"events[eventids][0]": ids["due"], "events[eventids][1]": ids["gradingdue"]},
    )
    events = {e["eventtype"]: e for e in answer["events"]}
    assert (events["due"]["timestart"], events["due"]["timemodified"]) == (assignment["duedate"], change.time)
    assert (events["gradingdue"]["timestart"], events["gradingdue"]["timemodified"]) == (
        earlier["gradingduedate"],
        change.time,
    )


def test_a_group_change_shows_in_the_group_members(day: Day) -> None:
    [change] = day.report.group_changes
    [group] = day.call("core_group_get_group_members", **{"groupids[0]": change.itemid})
    before = {m["userid"] for m in day.before.group_members if m["groupid"] == change.itemid}
    if change.detail == "added":
        assert change.userid not in before and set(group["userids"]) == before | {change.userid}
    else:
        assert change.userid in before and set(group["userids"]) == before - {change.userid}
    mine = day.call("core_group_get_course_user_groups", courseid=change.courseid, userid=change.userid)["groups"]
    assert (change.itemid in {g["id"] for g in mine}) == (change.detail == "added")


def test_a_renamed_course_has_its_new_name_everywhere(day: Day) -> None:
    [change] = day.report.courses_renamed
    old = day.before.course(change.courseid)["fullname"]
    assert change.detail == f"{old} (revised)"
    [course] = day.call("core_course_get_courses", **{"options[ids][0]": change.courseid})
    # update_course() sets timemodified = time()
    assert (course["fullname"], course["displayname"], course["timemodified"]) == (change.detail,) * 2 + (change.time,)
    [listed] = day.call("core_course_get_courses_by_field", field="id", value=change.courseid)["courses"]
    assert listed["fullname"] == change.detail and listed["timemodified"] == change.time
    student = next(e["userid"] for e in day.before.enrolments_of_course(change.courseid) if e["role"] == "student")
    [mine] = [c for c in day.call("core_enrol_get_users_courses", userid=student) if c["id"] == change.courseid]
    assert (mine["fullname"], mine["timemodified"]) == (change.detail, change.time)
    enrolled = _participants(day, change.courseid)[student]["enrolledcourses"]
    assert change.detail in {c["fullname"] for c in enrolled}
    answer = day.call("mod_assign_get_assignments", **{"courseids[0]": change.courseid}, includenotenrolledcourses=1)
    assert answer["courses"][0]["fullname"] == change.detail


def test_a_hidden_course_is_invisible_and_modified(day: Day) -> None:
    """course_change_visibility() calls update_course(), which sets timemodified = time()."""
    [change] = day.report.courses_hidden
    assert change.by == ADMIN_ID and day.before.course(change.courseid)["visible"] == 1
    [course] = day.call("core_course_get_courses", **{"options[ids][0]": change.courseid})
    assert (course["visible"], course["timemodified"]) == (0, change.time)
    student = next(e["userid"] for e in day.before.enrolments_of_course(change.courseid) if e["role"] == "student")
    [mine] = [c for c in day.call("core_enrol_get_users_courses", userid=student) if c["id"] == change.courseid]
    assert mine["visible"] == 0


# ------------------------------------------------------------------ the admin's account changes


def test_a_suspended_user_is_suspended_and_no_longer_an_active_participant(day: Day) -> None:
    [change] = day.report.users_suspended
    assert change.by == ADMIN_ID and _user(day, change.userid)["suspended"] is True
    courses = [e["courseid"] for e in day.before.enrolments_of_user(change.userid) if e["status"] == 0]
    readable = [c for c in courses if c not in day.before.unreadable_course_ids]
    assert readable
    for course_id in readable:
        assert change.userid not in _participants(day, course_id, onlyactive="1")
        assert change.userid in _participants(day, course_id, onlysuspended="1")


def test_an_edited_user_has_the_new_name_in_every_answer(day: Day) -> None:
    [change] = day.report.users_edited
    earlier = day.before.user(change.userid)
    first, last = earlier["firstname"], change.detail.removeprefix(earlier["firstname"] + " ")
    assert change.detail == f"{first} {last}" and last != earlier["lastname"]
    user = _user(day, change.userid)
    assert (user["fullname"], user["lastname"], user["email"]) == (change.detail, last, earlier["email"])
    course = next(
        e["courseid"]
        for e in day.before.enrolments_of_user(change.userid)
        if e["courseid"] not in day.before.unreadable_course_ids
    )
    assert _participants(day, course)[change.userid]["fullname"] == change.detail
    assert _grade_report(day, course, change.userid)["userfullname"] == change.detail
    for discussion in (d for d in day.before.discussions if d["userid"] == change.userid):
        answer = day.call("mod_forum_get_forum_discussions", forumid=discussion["forum"], perpage=0)
        [listed] = [d for d in answer["discussions"] if d["discussion"] == discussion["discussion"]]
        assert listed["userfullname"] == change.detail
    for badge in day.call("core_badges_get_user_badges", userid=change.userid)["badges"]:
        assert badge["recipientfullname"] == change.detail


# ------------------------------------------------------------------ the quiz's overdue task


def test_the_generated_site_has_an_attempt_running_at_its_moment(site: Site) -> None:
    running = [a for a in site.data.quiz_attempts if a["state"] == "inprogress" and a["timecheckstate"] > NOW]
    assert len(running) == 1
    [attempt] = running
    [quiz] = [q for q in site.data.quizzes if q["id"] == attempt["quiz"]]
    listed = site.call("mod_quiz_get_user_attempts", quizid=quiz["id"], userid=attempt["userid"], status="unfinished")
    [answer] = listed["attempts"]
    assert answer["timestart"] < NOW < answer["timecheckstate"] == answer["timestart"] + quiz["timelimit"]
    [student] = [u for u in site.data.users if u["id"] == attempt["userid"]]
    assert student["lastaccess"] >= answer["timestart"]  # starting the attempt was a visit


def test_the_overdue_task_submits_an_attempt_whose_time_ran_out(day: Day) -> None:
    """Overdue handling "autosubmit": process_finish($timenow, false, $timeclose)."""
    [change] = day.report.attempts_closed
    assert change.by == 0 and change.detail == "finished"
    earlier = next(a for a in day.before.quiz_attempts if a["id"] == change.itemid)
    assert earlier["state"] == "inprogress" and NOW < earlier["timecheckstate"] < NOW + DAY
    [quiz] = [
        q
        for q in day.call("mod_quiz_get_quizzes_by_courses", **{"courseids[0]": change.courseid})["quizzes"]
        if q["id"] == earlier["quiz"]
    ]
    assert quiz["overduehandling"] == "autosubmit"
    attempts = day.call("mod_quiz_get_user_attempts", quizid=quiz["id"], userid=change.userid, status="all")
    [attempt] = [a for a in attempts["attempts"] if a["id"] == change.itemid]
    timeclose = earlier["timestart"] + quiz["timelimit"]
    assert attempt["state"] == "finished" and attempt["timecheckstate"] is None
    assert attempt["timefinish"] == attempt["gradednotificationsenttime"] == timeclose
    assert attempt["timemodified"] == change.time == timeclose + GRACE_PERIOD_MIN
    assert attempt["sumgrades"] is not None
    # the gradebook: the best finished attempt, rescaled to the quiz's grade, at the task's run
    best = max(a["sumgrades"] for a in attempts["attempts"] if a["state"] == "finished")
    items = _grade_report(day, change.courseid, change.userid)["gradeitems"]
    [item] = [i for i in items if i["itemmodule"] == "quiz" and i["iteminstance"] == quiz["id"]]
    assert item["graderaw"] == pytest.approx(best * quiz["grade"] / quiz["sumgrades"])
    assert (item["gradedategraded"], item["gradedatesubmitted"]) == (change.time, timeclose)
    _check_total(day, change.courseid, change.userid, change.time)
    status = _completion(day, change.courseid, change.userid, item["cmid"])
    earlier_completion = _was_complete(day, item["cmid"], change.userid)
    assert status["state"] == 1
    assert status["timecompleted"] == (earlier_completion["timecompleted"] if earlier_completion else change.time)


def test_attempts_whose_time_ran_out_long_before_stay_as_they_were(day: Day) -> None:
    stale = [a for a in day.before.quiz_attempts if a["state"] == "inprogress" and a["timecheckstate"] < NOW]
    assert len(stale) > 50
    for earlier in stale[:8]:
        answer = day.call("mod_quiz_get_user_attempts", quizid=earlier["quiz"], userid=earlier["userid"], status="all")
        [attempt] = [a for a in answer["attempts"] if a["id"] == earlier["id"]]
        assert (attempt["state"], attempt["timecheckstate"], attempt["timemodified"]) == (
            "inprogress",
            earlier["timecheckstate"],
            earlier["timemodified"],
        )
