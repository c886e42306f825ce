"""Generation steps 8-12: what the students did: submissions, quiz attempts, completion,
grades and forum discussions."""

from __future__ import annotations

import random

from .model import DAY, Dataset, Record
from .parts import ADMIN_ID, PAGED_FORUM_DISCUSSIONS, THE_PAGED_FORUM_ID


def add_assign_work(data: Dataset, rng: random.Random) -> None:
    statuses = ["new", "draft", "submitted"]
    for assignment in data.assignments:
        learners = [e["userid"] for e in data.enrolments_of_course(assignment["course"]) if e["role"] == "student"]
        for position, uid in enumerate(learners):
            if position % 5 == 4:
                continue  # not every student has a submission row
            status = statuses[(position + assignment["id"]) % 3]
            if status == "submitted" and position % 11 == 0:
                status = "reopened"
            stamp = min(data.now - 60, assignment["allowsubmissionsfromdate"] + rng.randint(1, 25) * DAY)
            graded = status in ("submitted", "reopened") and assignment["id"] % 2 == 1 and rng.random() < 0.6
            data.submissions.append(
                {
                    "id": len(data.submissions) + 1,
                    "assignment": assignment["id"],
                    "userid": uid,
                    "status": status,
                    "attemptnumber": 0,
                    "timecreated": stamp,
                    "timemodified": stamp if status == "new" else stamp + 3600,
                    "timestarted": None,
                    "groupid": 0,
                    "gradingstatus": "graded" if graded else "notgraded",
                }
            )
            if graded:
                data.assign_grades.append(
                    {
                        "id": len(data.assign_grades) + 1,
                        "assignment": assignment["id"],
                        "userid": uid,
                        "attemptnumber": 0,
                        "timecreated": stamp + 2 * DAY,
                        "timemodified": stamp + 2 * DAY,
                        "grader": ADMIN_ID,
                        "grade": float(rng.randint(40, 100)),
                    }
                )


def add_quiz_work(data: Dataset, rng: random.Random) -> None:
    for quiz in data.quizzes:
        learners = [e["userid"] for e in data.enrolments_of_course(quiz["course"]) if e["role"] == "student"]
        for position, uid in enumerate(learners):
            if position % 3 == 2:
                continue
            tries = 2 if position % 4 == 0 else 1
            for attempt in range(1, tries + 1):
                unfinished = attempt == tries and position % 6 == 1
                start = min(data.now - 3600, quiz["timeopen"] + rng.randint(1, 20) * DAY + attempt * 3600)
                attempt_id = len(data.quiz_attempts) + 1
                data.quiz_attempts.append(
                    {
                        "id": attempt_id,
                        "quiz": quiz["id"],
                        "userid": uid,
                        "attempt": attempt,
                        "uniqueid": attempt_id,
                        "layout": "1,2,0,3,0",
                        "currentpage": 0,
                        "preview": 0,
                        "state": "inprogress" if unfinished else "finished",
                        "timestart": start,
                        "timefinish": 0 if unfinished else start + 900,
                        "timemodified": start + (0 if unfinished else 900),
                        "timemodifiedoffline": 0,
                        "timecheckstate": start + 1800 if unfinished else None,
                        "sumgrades": None if unfinished else round(rng.randint(0, 40) / 10, 1),
                        "gradednotificationsenttime": None if unfinished else start + 900,
                    }
                )
    add_running_attempts(data)


def add_running_attempts(data: Dataset) -> None:
    """A few students are in the middle of a timed quiz at the site's moment (one per 12
    courses): started ten minutes before ``now`` or so, ``timecheckstate`` at the end of the
    time limit, after ``now``, so the next day's overdue task closes them (demo/overdue.py).

    Starting an attempt is a visit: the student's ``lastaccess`` and ``lastcourseaccess`` are
    at least its start. No random draws, and the attempts come after all others: every other
    generated value stays as it was.
    """
    wanted = max(1, round(data.config.scale))
    quizzes = [q for q in data.quizzes if _running(data, q)]
    for n, quiz in enumerate(quizzes[:wanted]):
        start = data.now - 600 - 60 * (n % 20)
        tried = {a["userid"] for a in data.quiz_attempts if a["quiz"] == quiz["id"]}
        enrolment = next(
            (e for e in data.enrolments_of_course(quiz["course"]) if e["userid"] not in tried and _can_start(data, e)),
            None,
        )
        if enrolment is None or not quiz["timeopen"] <= start < start + quiz["timelimit"] <= quiz["timeclose"]:
            continue
        attempt_id = len(data.quiz_attempts) + 1
        data.quiz_attempts.append(
            {
                "id": attempt_id,
                "quiz": quiz["id"],
                "userid": enrolment["userid"],
                "attempt": 1,
                "uniqueid": attempt_id,
                "layout": "1,2,0,3,0",
                "currentpage": 0,
                "preview": 0,
                "state": "inprogress",
                "timestart": start,
                "timefinish": 0,
                "timemodified": start,
                "timemodifiedoffline": 0,
                "timecheckstate": start + quiz["timelimit"],
                "sumgrades": None,
                "gradednotificationsenttime": None,
            }
        )
        user = data.user(enrolment["userid"])
        assert user is not None
        user["lastaccess"] = max(user["lastaccess"], start)
        enrolment["lastcourseaccess"] = max(enrolment["lastcourseaccess"], start)


def _can_start(data: Dataset, enrolment: Record) -> bool:
    """An active student a participant list shows, whose account is not suspended."""
    user = data.user(enrolment["userid"])
    return (
        enrolment["role"] == "student"
        and enrolment["status"] == 0
        and user is not None
        and not user["suspended"]
        and user["id"] not in data.hidden_user_ids
    )


def _running(data: Dataset, quiz: Record) -> bool:
    """A timed quiz of a running course whose attempts a harvest can read."""
    course = data.course(quiz["course"])
    return (
        course is not None
        and bool(quiz["timelimit"])
        and course["visible"]
        and course["startdate"] <= data.now < course["enddate"]
        and course["id"] not in data.unreadable_course_ids
    )


def _before_now(data: Dataset, start: int, stamp: int, salt: int) -> int:
    """``stamp``, or when it would fall after the site's moment, a time spread over the hours
    since ``start`` (or over the last 30 days, for a course not started yet): a real site's
    completions do not pile up in the minute before a harvest, where they would look like the
    day's changes to an incremental refresh."""
    if stamp <= data.now - 60:
        return stamp
    if start > data.now - DAY:
        start = data.now - 30 * DAY
    return start + (salt * 7919) % (data.now - 3600 - start)


def add_completion(data: Dataset, rng: random.Random) -> None:
    for course in data.courses[1:]:
        tracked = [m for m in data.modules_of_course(course["id"]) if m["completion"]]
        for enrolment in data.enrolments_of_course(course["id"]):
            if enrolment["role"] != "student":
                continue
            uid = enrolment["userid"]
            done_all = True
            for module in tracked:
                state = 1 if rng.random() < 0.55 else 0
                if module["modname"] == "page" and uid % 4 != 2:
                    state = 1
                if state:
                    data.activity_completion.append(
                        {
                            "cmid": module["id"],
                            "courseid": course["id"],
                            "userid": uid,
                            "state": state,
                            "timecompleted": _before_now(
                                data,
                                course["startdate"],
                                course["startdate"] + rng.randint(1, 30) * DAY,
                                uid + module["id"],
                            ),
                        }
                    )
                elif module["modname"] in ("page", "url"):
                    done_all = False
            if course["has_criteria"]:
                data.course_completion.append(
                    {
                        "courseid": course["id"],
                        "userid": uid,
                        "timeenrolled": enrolment["timestart"],
                        "timecompleted": data.now - rng.randint(1, 20) * DAY if done_all else None,
                    }
                )


def add_grades(data: Dataset, rng: random.Random) -> None:
    item_id = 0
    for course in data.courses[1:]:
        item_id += 1
        total_id = item_id
        data.grade_items.append(
            {
                "id": total_id,
                "courseid": course["id"],
                "itemname": None,
                "itemtype": "course",
                "itemmodule": None,
                "iteminstance": course["id"],
                "cmid": None,
                "grademax": 100.0,
                "categoryid": None,
            }
        )
        mods = [("assign", a) for a in data.assignments if a["course"] == course["id"]]
        mods += [("quiz", q) for q in data.quizzes if q["course"] == course["id"]]
        own_items: dict[int, Record] = {}  # id -> grade item
        for modname, instance in mods:
            item_id += 1
            data.grade_items.append(
                {
                    "id": item_id,
                    "courseid": course["id"],
                    "itemname": instance["name"],
                    "itemtype": "mod",
                    "itemmodule": modname,
                    "iteminstance": instance["id"],
                    "cmid": instance.get("cmid", instance.get("coursemodule")),
                    "grademax": float(instance["grade"]),
                    "categoryid": total_id,
                }
            )
            own_items[item_id] = data.grade_items[-1]
        for enrolment in data.enrolments_of_course(course["id"]):
            if enrolment["role"] != "student":
                continue
            values = []
            for iid, item in own_items.items():
                if rng.random() < 0.5:
                    value = round(rng.uniform(0.3, 1.0) * item["grademax"], 2)
                    values.append(value / item["grademax"])
                    data.grades.append(
                        {
                            "itemid": iid,
                            "userid": enrolment["userid"],
                            "finalgrade": value,
                            "timemodified": data.now - rng.randint(1, 30) * DAY,
                        }
                    )
            if values:
                data.grades.append(
                    {
                        "itemid": total_id,
                        "userid": enrolment["userid"],
                        "finalgrade": round(100 * sum(values) / len(own_items), 2),
                        "timemodified": data.now - DAY,
                    }
                )


def add_forum_work(data: Dataset, rng: random.Random) -> None:
    post_id = 0
    for forum in data.forums:
        participants = [e["userid"] for e in data.enrolments_of_course(forum["course"])]
        course = data.course(forum["course"])
        assert course is not None
        if forum["id"] == THE_PAGED_FORUM_ID:
            count = max(PAGED_FORUM_DISCUSSIONS, round(PAGED_FORUM_DISCUSSIONS * data.config.scale))
        else:
            count = rng.randint(2, 6) if forum["type"] == "general" else rng.randint(1, 3)
        for n in range(count):
            author = participants[(n * 7) % len(participants)]
            created = data.now - 70 * DAY + n * (60 * DAY // max(count, 1)) + rng.randint(0, 3600)
            replies = rng.randint(0, 4)
            last = created + rng.randint(0, 20) * DAY if replies else created
            last = min(last, data.now - 60)
            post_id += 1
            first_post = post_id
            post_id += replies
            replier = participants[(n * 13 + 5) % len(participants)] if replies else author
            data.discussions.append(
                {
                    "discussion": len(data.discussions) + 1,
                    "id": first_post,
                    "forum": forum["id"],
                    "name": f"Week {n % 12 + 1} question #{n + 1}",
                    "userid": author,
                    "usermodified": replier,
                    "created": created,
                    "timemodified": last,
                    "numreplies": replies,
                    "groupid": -1,
                    "pinned": forum["id"] == THE_PAGED_FORUM_ID and n == 0,
                    "message": f"<p>Discussion {n + 1} in {course['shortname']}: how do we approach topic {n % 4 + 1}?</p>",
                }
            )
