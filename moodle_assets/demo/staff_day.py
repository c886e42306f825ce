"""A day's changes by teachers in their courses, made without the affected students visiting.

Each function applies one kind of change the way Moodle 4.5 stores it, so that every web-service
answer afterwards shows it; the acting teacher's access is logged (:mod:`.changes`), the
students' is not. At 12 courses each kind happens about once (grading three times), more
in proportion on a bigger site. The Moodle code path each one follows is in its docstring.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .cascade import COMPLETION_COMPLETE, complete_activity, completion_row, grade_item_of, set_grade
from .changes import Change, act, act_as_admin, quiet_learners, taught_courses, teacher_of
from .dataset import DAY, Dataset
from .functions.completion import criteria_modules


@dataclass
class StaffDay:
    """The context of the day's staff changes: who must not be touched, and when things happen."""

    data: Dataset
    rng: random.Random
    since: int  # the site's time before the day
    busy: set[int]  # students who visited today: a staff change never picks them
    graded: set[int] = field(default_factory=set)  # students whose gradebook already changed today

    @property
    def per_site(self) -> int:
        """How many of each kind: one per 12 courses (the recorded site's size), at least one."""
        return max(1, round((len(self.data.courses) - 1) / 12))

    def when(self) -> int:
        """A moment inside the simulated day, before the site's new ``now``."""
        return self.rng.randint(self.since + 600, self.data.now - 600)

    def pick(self, candidates: list, count: int, student: Callable[[Any], int] | None = None) -> list:
        """Up to ``count`` candidates in a seeded order; with ``student``, each about a different one."""
        chosen, seen = [], set()
        for candidate in self.rng.sample(candidates, len(candidates)):
            who = student(candidate) if student else len(chosen)
            if who not in seen and len(chosen) < count:
                chosen.append(candidate)
                seen.add(who)
        return chosen


def _student(candidate: tuple) -> int:
    """The student a candidate change (thing, student id, ...) is about."""
    return candidate[1]


def grade_submissions(day: StaffDay, count: int) -> list[Change]:
    """A teacher grades submitted work (mod/assign/locallib.php ``assign::save_grade()`` →
    ``update_user_grade()``): an ``assign_grades`` row (grade, ``timecreated`` = ``timemodified``
    = now, ``grader``); ``get_grading_status()`` then says graded; ``assign_grade_item_update()``
    writes the gradebook grade with ``dategraded`` = the row's ``timemodified``, and the course
    total is regraded (:mod:`.cascade`). The submission itself is not touched."""
    data = day.data
    graded = {(g["assignment"], g["userid"]) for g in data.assign_grades}
    candidates = []
    for course in taught_courses(data):
        learners = set(quiet_learners(data, course["id"], day.busy | day.graded))
        for assignment in (a for a in data.assignments if a["course"] == course["id"]):
            candidates += [
                (assignment, s["userid"], s)
                for s in data.submissions
                if s["assignment"] == assignment["id"]
                and s["status"] == "submitted"
                and s["userid"] in learners
                and (assignment["id"], s["userid"]) not in graded
            ]
    changes = []
    for assignment, _, submission in day.pick(candidates, count, _student):
        when, teacher = day.when(), teacher_of(data, day.rng, assignment["course"])
        grade = float(day.rng.randint(40, 100))
        data.assign_grades.append(
            {
                "id": max((g["id"] for g in data.assign_grades), default=0) + 1,
                "assignment": assignment["id"],
                "userid": submission["userid"],
                "attemptnumber": submission["attemptnumber"],
                "timecreated": when,
                "timemodified": when,
                "grader": teacher,
                "grade": grade,
            }
        )
        submission["gradingstatus"] = "graded"
        set_grade(data, grade_item_of(data, "assign", assignment["id"]), submission["userid"], grade, when)
        act(data, teacher, assignment["course"], when)
        day.graded.add(submission["userid"])
        changes.append(
            Change(assignment["course"], submission["userid"], assignment["id"], when, teacher, f"{grade:g}")
        )
    return changes


def override_grades(day: StaffDay, count: int) -> list[Change]:
    """A teacher types a quiz grade in the grader report (grade/report/grader ``process_data()``
    → ``grade_item::update_final_grade()``): the grade row's ``finalgrade`` and ``timemodified``,
    ``overridden`` = now (``grade_grade::set_overridden()``), the course total regraded, and
    completion on "Receive a grade" told (``grade_grade::notify_changed()``)."""
    data = day.data
    candidates = [
        (quiz, uid)
        for course in taught_courses(data)
        for quiz in data.quizzes
        if quiz["course"] == course["id"]
        for uid in quiet_learners(data, course["id"], day.busy | day.graded)
    ]
    changes = []
    for quiz, uid in day.pick(candidates, count, _student):
        when, teacher = day.when(), teacher_of(data, day.rng, quiz["course"])
        item = grade_item_of(data, "quiz", quiz["id"])
        value = float(day.rng.randint(4, round(item["grademax"])))
        set_grade(data, item, uid, value, when, overridden=True)
        act(data, teacher, quiz["course"], when)
        day.graded.add(uid)
        changes.append(Change(quiz["course"], uid, item["id"], when, teacher, f"{value:g}"))
    return changes


def override_completions(day: StaffDay, count: int) -> tuple[list[Change], list[Change]]:
    """A teacher marks an activity complete for a student in the activity completion report
    (``completion_info::update_state($cm, COMPLETION_COMPLETE, $userid, true)``: state complete,
    ``timemodified`` = now, ``overrideby`` = the teacher; core_completion reports that
    ``timemodified`` as ``timecompleted``). Students one criterion short of completing the course
    are preferred: the override then completes the course (:mod:`.cascade`). Returns the
    overrides and the course completions they caused."""
    data = day.data
    completing, others = [], []
    for course in taught_courses(data):
        criteria = criteria_modules(data, course["id"]) if course["has_criteria"] else []
        for uid in quiet_learners(data, course["id"], day.busy):
            open_ = [
                m for m in data.modules_of_course(course["id"]) if m["completion"] and _incomplete(data, m["id"], uid)
            ]
            missing = [m for m in criteria if m in open_]
            if len(missing) == 1 and _course_open(data, course["id"], uid):
                completing.append((missing[0], uid))
            others += [(m, uid) for m in open_]
    overrides, completed = [], []
    for module, uid in day.pick(completing, count, _student) or day.pick(others, count, _student):
        when, teacher = day.when(), teacher_of(data, day.rng, module["courseid"])
        was_open = _course_open(data, module["courseid"], uid)
        complete_activity(data, module, uid, when, overrideby=teacher)
        act(data, teacher, module["courseid"], when)
        overrides.append(Change(module["courseid"], uid, module["id"], when, teacher))
        if was_open and not _course_open(data, module["courseid"], uid):
            completed.append(Change(module["courseid"], uid, 0, when, 0, "criteria complete"))
    return overrides, completed


def _incomplete(data: Dataset, cmid: int, uid: int) -> bool:
    row = completion_row(data, cmid, uid)
    return row is None or row["state"] < COMPLETION_COMPLETE


def _course_open(data: Dataset, course_id: int, uid: int) -> bool:
    row = next((c for c in data.course_completion if c["courseid"] == course_id and c["userid"] == uid), None)
    return row is not None and not row["timecompleted"]


def award_badges(day: StaffDay, count: int) -> list[Change]:
    """A badge awarded by hand (badges/award.php → ``badge::issue()`` once the manual award
    criterion is met): a ``badge_issued`` row with ``dateissued`` = now, no expiry, visible (the
    default ``badgeprivacysetting``). A course badge is awarded by a teacher of its course, a
    site badge by the admin."""
    data = day.data
    live = {c["id"] for c in taught_courses(data)}
    holders = {(i["badgeid"], i["userid"]) for i in data.issued_badges}
    candidates = []
    for badge in data.badges:
        if badge["status"] == 0:  # inactive: cannot be awarded
            continue
        if badge["courseid"] is None:
            pool = [
                u["id"]
                for u in data.users
                if u["kind"] == "student"
                and not u["suspended"]
                and u["id"] not in day.busy | data.hidden_user_ids
                and any(e["courseid"] in live and e["status"] == 0 for e in data.enrolments_of_user(u["id"]))
            ]
        elif badge["courseid"] in live:
            pool = quiet_learners(data, badge["courseid"], day.busy)
        else:
            continue
        candidates += [(badge, uid) for uid in pool if (badge["id"], uid) not in holders]
    changes = []
    for badge, uid in day.pick(candidates, count, _student):
        when = day.when()
        if badge["courseid"] is None:
            by = act_as_admin(data, when)
        else:
            by = teacher_of(data, day.rng, badge["courseid"])
            act(data, by, badge["courseid"], when)
        data.issued_badges.append(
            {
                "id": max((i["id"] for i in data.issued_badges), default=0) + 1,
                "badgeid": badge["id"],
                "userid": uid,
                "dateissued": when,
                "dateexpire": None,
                "visible": 1,
                "uniquehash": hashlib.sha1(f"{data.config.seed}-{badge['id']}-{uid}".encode()).hexdigest(),
            }
        )
        changes.append(Change(badge["courseid"] or 0, uid, badge["id"], when, by))
    return changes


def add_course_events(day: StaffDay, count: int) -> list[Change]:
    """A teacher adds a course event in the calendar (``calendar_event::create()``: ``userid`` =
    the teacher, ``timemodified`` = now), for a day in the next two weeks."""
    data = day.data
    changes = []
    for course in day.pick(taught_courses(data), count):
        when, teacher = day.when(), teacher_of(data, day.rng, course["id"])
        start = (data.now // 3600) * 3600 + day.rng.randint(2, 14) * DAY
        event_id = max(e["id"] for e in data.events) + 1
        name = "Revision session"
        data.events.append(
            {
                "id": event_id,
                "name": name,
                "description": f"<p>{name} description</p>",
                "format": 1,
                "courseid": course["id"],
                "categoryid": None,
                "groupid": None,
                "userid": teacher,
                "repeatid": None,
                "modulename": None,
                "instance": None,
                "eventtype": "course",
                "timestart": start,
                "timeduration": 3600,
                "visible": 1,
                "sequence": 1,
                "timemodified": when,
                "subscriptionid": None,
            }
        )
        act(data, teacher, course["id"], when)
        changes.append(Change(course["id"], 0, event_id, when, teacher, name))
    return changes


def move_due_dates(day: StaffDay, count: int) -> list[Change]:
    """A teacher gives an assignment a few more days (``assign::update_instance()``: ``duedate``,
    ``timemodified`` = now; then ``assign::update_calendar()`` calls ``calendar_event::update()``
    on its "due" event, moved to the new date, and on its "gradingdue" event, unmoved: both get
    ``timemodified`` = now). The new date stays before the grading due date, as the form requires."""
    data = day.data
    live = {c["id"] for c in taught_courses(data)}
    candidates = [
        a
        for a in data.assignments
        if a["course"] in live
        and a["duedate"]
        and (not a["gradingduedate"] or a["gradingduedate"] - a["duedate"] >= DAY)
    ]
    changes = []
    for assignment in day.pick(candidates, count):
        when, teacher = day.when(), teacher_of(data, day.rng, assignment["course"])
        room = (assignment["gradingduedate"] - assignment["duedate"]) // DAY if assignment["gradingduedate"] else 5
        new_due = assignment["duedate"] + day.rng.randint(1, min(5, room)) * DAY
        assignment.update(duedate=new_due, timemodified=when)
        for event in data.events:
            if event["modulename"] == "assign" and event["instance"] == assignment["id"]:
                if event["eventtype"] == "due":
                    event["timestart"] = new_due
                event["timemodified"] = when
        act(data, teacher, assignment["course"], when)
        changes.append(Change(assignment["course"], 0, assignment["id"], when, teacher, str(new_due)))
    return changes


def change_groups(day: StaffDay, count: int) -> list[Change]:
    """A teacher puts a student who is in no group into one (``groups_add_member()``: a
    ``groups_members`` row, ``timeadded`` = now), or, where everyone has a group, takes one out
    (``groups_remove_member()``)."""
    data = day.data
    joins, leaves = [], []
    for course in taught_courses(data):
        groups = data.groups_of_course(course["id"])
        if not groups:
            continue
        ids = {g["id"] for g in groups}
        for uid in quiet_learners(data, course["id"], day.busy):
            mine = [g["id"] for g in data.groups_of_user(uid) if g["id"] in ids]
            if mine:
                leaves.append((course, uid, mine[0]))
            else:
                joins.append((course, uid, 0))
    changes = []
    for course, uid, group_id in day.pick(joins, count, _student) or day.pick(leaves, count, _student):
        when, teacher = day.when(), teacher_of(data, day.rng, course["id"])
        if group_id:
            data.group_members[:] = [
                m for m in data.group_members if not (m["groupid"] == group_id and m["userid"] == uid)
            ]
            action = "removed"
        else:
            group_id = day.rng.choice(sorted(g["id"] for g in data.groups_of_course(course["id"])))
            data.group_members.append({"groupid": group_id, "userid": uid, "timeadded": when})
            action = "added"
        data._index.clear()
        act(data, teacher, course["id"], when)
        changes.append(Change(course["id"], uid, group_id, when, teacher, action))
    return changes


def rename_courses(day: StaffDay, count: int, exclude: set[int]) -> list[Change]:
    """A teacher renames a course (course/edit.php → ``update_course()`` in course/lib.php:
    ``fullname``, and ``timemodified`` = ``time()`` whatever the field changed)."""
    data = day.data
    candidates = [c for c in taught_courses(data) if c["id"] not in exclude]
    changes = []
    for course in day.pick(candidates, count):
        when, teacher = day.when(), teacher_of(data, day.rng, course["id"])
        course.update(fullname=f"{course['fullname']} (revised)", timemodified=when)
        act(data, teacher, course["id"], when)
        changes.append(Change(course["id"], 0, 0, when, teacher, course["fullname"]))
    return changes
