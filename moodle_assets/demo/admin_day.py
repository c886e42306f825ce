"""A day's changes by the site admin, from site pages: a course hidden, accounts suspended or edited.

The admin is not enrolled anywhere, so only the admin's ``lastaccess`` moves (:mod:`.changes`);
the affected users' access times do not.
"""

from __future__ import annotations

from .changes import Change, act_as_admin, live_courses
from .dataset import Dataset, Record
from .staff_day import StaffDay

# Surnames an edited account may take (a marriage, a typo fixed): none is generated for students.
NEW_LASTNAMES = ("Lindqvist", "Moreau", "Tanaka", "Mensah", "Fischer", "Delgado")


def hide_courses(day: StaffDay, count: int, exclude: set[int]) -> list[Change]:
    """The admin hides a course, an ended one by preference (course/management.php →
    ``helper::action_course_hide()`` → ``course_change_visibility()`` in course/lib.php, which
    calls ``update_course()`` with ``visible`` = ``visibleold`` = 0: ``update_course()`` sets
    ``timemodified`` = ``time()``, so hiding moves the course's ``timemodified``)."""
    data = day.data
    visible = [c for c in live_courses(data) if c["visible"] and c["id"] not in exclude]
    ended = [c for c in visible if c["enddate"] and c["enddate"] < data.now]
    changes = []
    for course in day.pick(ended, count) or day.pick(visible, count):
        when = day.when()
        course.update(visible=0, visibleold=0, timemodified=when)
        changes.append(Change(course["id"], 0, 0, when, act_as_admin(data, when)))
    return changes


def _accounts(data: Dataset, day: StaffDay, exclude: set[int]) -> list[Record]:
    """Student accounts a change can be seen on: not visiting today, active, shown in lists,
    enrolled in a course the harvest reads."""
    live = {c["id"] for c in live_courses(data)}
    return [
        u
        for u in data.users
        if u["kind"] == "student"
        and not u["suspended"]
        and u["id"] not in day.busy | data.hidden_user_ids | exclude
        and any(e["courseid"] in live and e["status"] == 0 for e in data.enrolments_of_user(u["id"]))
    ]


def suspend_users(day: StaffDay, count: int, exclude: set[int]) -> list[Change]:
    """The admin suspends an account (user/editadvanced.php → ``user_update_user()`` with
    ``suspended`` = 1): core_user answers say ``suspended`` true, and the user is no longer an
    active participant anywhere (core_enrol_get_enrolled_users ``onlyactive`` leaves them out)."""
    data = day.data
    changes = []
    for user in day.pick(_accounts(data, day, exclude), count):
        when = day.when()
        user["suspended"] = True
        changes.append(Change(0, user["id"], 0, when, act_as_admin(data, when), "suspended"))
    return changes


def edit_users(day: StaffDay, count: int, exclude: set[int]) -> list[Change]:
    """The admin corrects an account's surname (``user_update_user()``): every answer that names
    the user (``fullname``, ``userfullname``, ``recipientfullname``, ...) shows the new name."""
    data = day.data
    changes = []
    for user in day.pick(_accounts(data, day, exclude), count):
        when = day.when()
        lastname = day.rng.choice([n for n in NEW_LASTNAMES if n != user["lastname"]])
        user.update(lastname=lastname, fullname=f"{user['firstname']} {lastname}")
        changes.append(Change(0, user["id"], 0, when, act_as_admin(data, when), user["fullname"]))
    return changes
