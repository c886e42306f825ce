"""What a change made without the learner's visit looks like, and whose access times it moves.

A real site changes without the affected learner coming back: a teacher grades, overrides,
awards or edits; an admin hides a course or suspends an account; a scheduled task closes a quiz
attempt. Moodle logs the *acting* user's access (``user_accesstime_log()`` in lib/datalib.php,
called by ``require_login()``: the user's ``lastaccess`` and, inside a course, the
``user_lastaccess`` row ``core_enrol_get_enrolled_users`` reports as ``lastcourseaccess``), never
the learner's. An admin works from site pages (course management, user editing), so only their
``lastaccess`` moves; a scheduled task runs as nobody and moves no access time at all.
"""

from __future__ import annotations

import random
from typing import NamedTuple

from .dataset import ADMIN_ID, Dataset, Record


class Change(NamedTuple):
    """One change the day made; tests and the benchmark name it by these fields."""

    courseid: int  # 0 = not in a course (a site badge, a user account)
    userid: int  # the user it is about; 0 = none (a course renamed, an event added)
    itemid: int  # what changed: assignment, grade item, course module, badge, event, group or attempt id; 0 = none
    time: int  # when (unix seconds), inside the simulated day
    by: int  # who made it: a teacher, the admin, or 0 for a scheduled task
    detail: str = ""  # what a plain id cannot say: a new name, "added"/"removed", a grade


def act_in_course(data: Dataset, user_id: int, course_id: int, when: int) -> None:
    """A teacher acting in a course: their ``lastaccess`` and ``lastcourseaccess`` there move."""
    user = data.user(user_id)
    assert user is not None
    user["lastaccess"] = max(user["lastaccess"], when)
    enrolment = data.enrolment(course_id, user_id)
    if enrolment is not None:
        enrolment["lastcourseaccess"] = max(enrolment["lastcourseaccess"], when)


def act_as_admin(data: Dataset, when: int) -> int:
    """The admin acting from site pages: only the admin's ``lastaccess`` moves."""
    admin = data.user(ADMIN_ID)
    assert admin is not None
    admin["lastaccess"] = max(admin["lastaccess"], when)
    return ADMIN_ID


def teacher_of(data: Dataset, rng: random.Random, course_id: int) -> int:
    """An editing teacher of the course, or the admin when it has none."""
    teachers = sorted(e["userid"] for e in data.teachers_of(course_id))
    return rng.choice(teachers) if teachers else ADMIN_ID


def act(data: Dataset, user_id: int, course_id: int, when: int) -> None:
    """Log the access of whoever acted: a teacher in the course, or the admin."""
    if user_id == ADMIN_ID:
        act_as_admin(data, when)
    else:
        act_in_course(data, user_id, course_id, when)


def live_courses(data: Dataset) -> list[Record]:
    """The courses whose changes a harvest can see: readable by the token, and not the front page."""
    return [c for c in data.courses[1:] if c["id"] not in data.unreadable_course_ids]


def taught_courses(data: Dataset) -> list[Record]:
    """Live courses that are running (started, visible): where teachers grade and learners are tracked."""
    return [c for c in live_courses(data) if c["visible"] and c["startdate"] <= data.now]


def quiet_learners(data: Dataset, course_id: int, busy: set[int]) -> list[int]:
    """Students of a course with an active enrolment who did not visit (``busy``) and whom a
    participant list shows (not a hidden participant, not a suspended account), by id."""
    found = []
    for enrolment in data.enrolments_of_course(course_id):
        user = data.user(enrolment["userid"])
        if (
            enrolment["role"] == "student"
            and enrolment["status"] == 0
            and user is not None
            and not user["suspended"]
            and user["id"] not in busy
            and user["id"] not in data.hidden_user_ids
        ):
            found.append(user["id"])
    return sorted(found)
