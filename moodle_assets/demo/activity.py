"""A day of activity on the demo site, to exercise incremental refresh.

Everything a learner does on a real Moodle goes with a visit, which updates the user's
``lastaccess`` and the enrolment's ``lastcourseaccess``: quiz attempts, submissions,
self-completion, forum posts. Enrolment changes are made by staff and touch no learner's
access time. The simulation keeps to those rules, so what an incremental harvest can
detect is exactly what a real site would let it detect.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from .dataset import DAY, ROLE_IDS, Dataset


@dataclass
class DayReport:
    active_users: list[int]
    attempts: int = 0
    submissions: int = 0
    completions: int = 0
    discussions: int = 0
    enrolled: tuple[int, int] | None = None  # (courseid, userid)
    unenrolled: tuple[int, int] | None = None


def simulate_day(data: Dataset, seed: int = 1, active_share: float = 0.05) -> DayReport:
    """Advance the site by one day of activity by about ``active_share`` of the students.

    The site's clock (``data.now``) moves a day; the project clock does not. A harvest meant to
    run "the next day" on a set clock moves it too: ``clock.set_now(data.now)``.
    """
    rng = random.Random(seed)
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
    data._index.clear()
    return report


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
