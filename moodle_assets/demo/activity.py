"""A day of activity on the demo site, to exercise incremental refresh.

Everything a learner does on a real Moodle goes with a visit, which updates the user's
``lastaccess`` and the enrolment's ``lastcourseaccess``: quiz attempts, submissions,
self-completion, forum posts. A real site also changes without the learner's visit: staff
enrol and unenrol, grade, override, award badges, rename and hide courses, add events, move
due dates, change groups, suspend and edit accounts (demo/staff_day.py, demo/admin_day.py),
and the quiz's overdue task closes attempts whose time ran out (demo/overdue.py). Those touch
no learner's access time, only the acting teacher's or admin's. The simulation keeps to those
rules, so what an incremental harvest can detect is exactly what a real site would let it
detect.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace

from .admin_day import edit_users, hide_courses, suspend_users
from .changes import Change
from .dataset import DAY, ROLE_IDS, Dataset
from .overdue import close_overdue_attempts
from .staff_day import (
    StaffDay,
    add_course_events,
    award_badges,
    change_groups,
    grade_submissions,
    move_due_dates,
    override_completions,
    override_grades,
    rename_courses,
)


@dataclass
class DayReport:
    """What the day changed. The learners' side counts; every change without a visit is a
    :class:`~.changes.Change` naming its course, user, item, time and who made it."""

    active_users: list[int]
    attempts: int = 0
    submissions: int = 0
    completions: int = 0
    discussions: int = 0
    enrolled: tuple[int, int] | None = None  # (courseid, userid)
    unenrolled: tuple[int, int] | None = None
    graded: list[Change] = field(default_factory=list)  # itemid: assignment; detail: the grade
    grades_overridden: list[Change] = field(default_factory=list)  # itemid: grade item; detail: the grade
    completions_overridden: list[Change] = field(default_factory=list)  # itemid: course module
    courses_completed: list[Change] = field(default_factory=list)  # by an override completing the criteria
    badges_issued: list[Change] = field(default_factory=list)  # itemid: badge; courseid 0: a site badge
    events_added: list[Change] = field(default_factory=list)  # itemid: event
    due_dates_moved: list[Change] = field(default_factory=list)  # itemid: assignment; detail: the new due date
    group_changes: list[Change] = field(default_factory=list)  # itemid: group; detail: "added" or "removed"
    courses_hidden: list[Change] = field(default_factory=list)
    courses_renamed: list[Change] = field(default_factory=list)  # detail: the new full name
    users_suspended: list[Change] = field(default_factory=list)
    users_edited: list[Change] = field(default_factory=list)  # detail: the new full name
    attempts_closed: list[Change] = field(default_factory=list)  # itemid: attempt; detail: its new state


def simulate_day(data: Dataset, seed: int = 1, active_share: float = 0.05) -> DayReport:
    """Advance the site by one day of activity by about ``active_share`` of the students.

    The site's clock (``data.now``) moves a day; the project clock does not. A harvest meant to
    run "the next day" on a set clock moves it too: ``clock.set_now(data.now)``.
    """
    rng = random.Random(seed)
    since = data.now
    data.now += DAY
    data.config = replace(data.config, now=data.now)
    students = sorted({e["userid"] for e in data.enrolments if e["role"] == "student"} - data.hidden_user_ids)
    active = sorted(rng.sample(students, max(1, round(len(students) * active_share))))
    report = DayReport(active_users=active)
    for uid in active:
        enrolment = rng.choice([e for e in data.enrolments if e["userid"] == uid])
        course_id = enrolment["courseid"]
        visit = data.now - rng.randint(60, DAY - 60)
        enrolment["lastcourseaccess"] = visit
        user = data.user(uid)
        user["lastaccess"] = max(user["lastaccess"], visit)
        report.attempts += _attempt(data, rng, course_id, uid, visit)
        report.submissions += _submit(data, course_id, uid, visit)
        report.completions += _complete(data, course_id, uid, visit)
        report.discussions += _discuss(data, course_id, uid, visit)
    report.enrolled = _enrol(data, rng)
    report.unenrolled = _unenrol(data, rng, exclude=set(active))
    _without_visits(data, rng, since, report)
    data._index.clear()
    return report


def _without_visits(data: Dataset, rng: random.Random, since: int, report: DayReport) -> None:
    """The overdue task's run over the day, then the staff's changes, each on students who did
    not visit; a student's gradebook changes once at most, so every total has one regrade time."""
    report.attempts_closed = close_overdue_attempts(data, rng, since, data.now)
    day = StaffDay(data, rng, since, busy=set(report.active_users), graded={c.userid for c in report.attempts_closed})
    count = day.per_site
    report.graded = grade_submissions(day, 3 * count)
    report.grades_overridden = override_grades(day, count)
    report.completions_overridden, report.courses_completed = override_completions(day, count)
    report.badges_issued = award_badges(day, count)
    report.events_added = add_course_events(day, count)
    report.due_dates_moved = move_due_dates(day, count)
    report.group_changes = change_groups(day, count)
    report.courses_hidden = hide_courses(day, count, exclude=set())
    report.courses_renamed = rename_courses(day, count, exclude={c.courseid for c in report.courses_hidden})
    report.users_suspended = suspend_users(day, count, exclude=set())
    report.users_edited = edit_users(day, count, exclude={c.userid for c in report.users_suspended})


def _attempt(data: Dataset, rng: random.Random, course_id: int, uid: int, visit: int) -> int:
    quizzes = [q for q in data.quizzes if q["course"] == course_id]
    if not quizzes:
        return 0
    quiz = quizzes[0]
    number = 1 + sum(1 for a in data.quiz_attempts if a["quiz"] == quiz["id"] and a["userid"] == uid)
    attempt_id = max(a["id"] for a in data.quiz_attempts) + 1
    data.quiz_attempts.append(
        {
            "id": attempt_id,
            "quiz": quiz["id"],
            "userid": uid,
            "attempt": number,
            "uniqueid": attempt_id,
            "layout": "1,2,0,3,0",
            "currentpage": 0,
            "preview": 0,
            "state": "finished",
            "timestart": visit,
            "timefinish": visit + 600,
            "timemodified": visit + 600,
            "timemodifiedoffline": 0,
            "timecheckstate": None,
            "sumgrades": round(rng.randint(10, 40) / 10, 1),
            "gradednotificationsenttime": visit + 600,
        }
    )
    return 1


def _submit(data: Dataset, course_id: int, uid: int, visit: int) -> int:
    for assignment in (a for a in data.assignments if a["course"] == course_id):
        for submission in data.submissions:
            if (
                submission["assignment"] == assignment["id"]
                and submission["userid"] == uid
                and submission["status"] in ("new", "draft")
            ):
                submission["status"] = "submitted"
                submission["timemodified"] = visit
                return 1
    return 0


def _complete(data: Dataset, course_id: int, uid: int, visit: int) -> int:
    done = {a["cmid"] for a in data.activity_completion if a["userid"] == uid and a["courseid"] == course_id}
    for module in data.modules_of_course(course_id):
        if module["completion"] and module["id"] not in done:
            data.activity_completion.append(
                {"cmid": module["id"], "courseid": course_id, "userid": uid, "state": 1, "timecompleted": visit}
            )
            return 1
    return 0


def _discuss(data: Dataset, course_id: int, uid: int, visit: int) -> int:
    forums = [f for f in data.forums if f["course"] == course_id]
    if not forums:
        return 0
    first_post = max(d["id"] for d in data.discussions) + 100
    data.discussions.append(
        {
            "discussion": max(d["discussion"] for d in data.discussions) + 1,
            "id": first_post,
            "forum": forums[0]["id"],
            "name": "A question from today",
            "userid": uid,
            "usermodified": uid,
            "created": visit,
            "timemodified": visit,
            "numreplies": 0,
            "groupid": -1,
            "pinned": False,
            "message": "<p>A new question posted today.</p>",
        }
    )
    return 1


def _enrol(data: Dataset, rng: random.Random) -> tuple[int, int] | None:
    """Staff enrol one student into a course they were not in (no visit yet)."""
    students = [u["id"] for u in data.users if u["kind"] == "student" and u["id"] not in data.hidden_user_ids]
    courses = [c["id"] for c in data.courses[1:] if c["id"] not in data.unreadable_course_ids]
    for _ in range(100):
        course_id, uid = rng.choice(courses), rng.choice(students)
        if data.enrolment(course_id, uid) is None:
            template = next(e for e in data.enrolments if e["courseid"] == course_id)
            data.enrolments.append(
                {
                    **template,
                    "id": max(e["id"] for e in data.enrolments) + 1,
                    "userid": uid,
                    "role": "student",
                    "roleid": ROLE_IDS["student"],
                    "status": 0,
                    "timestart": data.now - 3600,
                    "timeend": 0,
                    "lastcourseaccess": 0,
                }
            )
            data._index.clear()
            return course_id, uid
    return None


def _unenrol(data: Dataset, rng: random.Random, exclude: set[int]) -> tuple[int, int] | None:
    """Staff remove one student from a course (their group memberships there go too)."""
    candidates = [
        e
        for e in data.enrolments
        if e["role"] == "student"
        and e["userid"] not in exclude
        and e["userid"] not in data.hidden_user_ids
        and e["courseid"] not in data.unreadable_course_ids
    ]
    if not candidates:
        return None
    gone = rng.choice(candidates)
    data.enrolments.remove(gone)
    groups = {g["id"] for g in data.groups if g["courseid"] == gone["courseid"]}
    data.group_members[:] = [
        m for m in data.group_members if not (m["userid"] == gone["userid"] and m["groupid"] in groups)
    ]
    data._index.clear()
    return gone["courseid"], gone["userid"]
