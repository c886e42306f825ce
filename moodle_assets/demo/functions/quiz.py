"""Quizzes (mod_quiz_*)."""

from __future__ import annotations

from typing import Any

from ..dataset import Dataset, Record
from ..errors import invalid_parameter, missing_record
from .common import number, readable_course, require_capability, warning

_REVIEW = 69904


def _quiz_record(q: Record) -> Record:
    return {
        "id": q["id"],
        "coursemodule": q["coursemodule"],
        "course": q["course"],
        "name": q["name"],
        "intro": q["intro"],
        "introformat": 1,
        "introfiles": [],
        "section": q["section"],
        "visible": True,
        "groupmode": 0,
        "groupingid": 0,
        "lang": "",
        "timeopen": q["timeopen"],
        "timeclose": q["timeclose"],
        "timelimit": q["timelimit"],
        "overduehandling": "autosubmit",
        "graceperiod": 86400,
        "preferredbehaviour": "deferredfeedback",
        "canredoquestions": 0,
        "attempts": q["attempts"],
        "attemptonlast": 0,
        "grademethod": 1,
        "decimalpoints": 2,
        "questiondecimalpoints": -1,
        "reviewattempt": _REVIEW,
        "reviewcorrectness": _REVIEW,
        "reviewmaxmarks": _REVIEW,
        "reviewmarks": _REVIEW,
        "reviewspecificfeedback": _REVIEW,
        "reviewgeneralfeedback": _REVIEW,
        "reviewrightanswer": _REVIEW,
        "reviewoverallfeedback": 4368,
        "questionsperpage": 1,
        "navmethod": "free",
        "shuffleanswers": 1,
        "sumgrades": number(q["sumgrades"]),
        "grade": number(q["grade"]),
        "timecreated": q["timecreated"],
        "timemodified": q["timemodified"],
        "password": "",
        "subnet": "",
        "browsersecurity": "",
        "delay1": 0,
        "delay2": 0,
        "showuserpicture": 0,
        "showblocks": 0,
        "completionattemptsexhausted": 0,
        "completionpass": 0,
        "allowofflineattempts": 0,
        "autosaveperiod": 60,
        "hasfeedback": 0,
        "hasquestions": 1,
    }


def get_quizzes_by_courses(data: Dataset, caller: int, params: dict[str, Any]) -> Record:
    """Listed courses are returned whether or not the caller is enrolled; none = own courses."""
    wanted = params["courseids"] or sorted({e["courseid"] for e in data.enrolments_of_user(caller)})
    quizzes, warnings = [], []
    for course_id in dict.fromkeys(wanted):
        if data.course(course_id) is None:
            warnings.append(warning("course", course_id, "1", "No access rights in course context"))
            continue
        quizzes += [_quiz_record(q) for q in data.quizzes if q["course"] == course_id]
    return {"quizzes": quizzes, "warnings": warnings}


def get_user_attempts(data: Dataset, caller: int, params: dict[str, Any]) -> Record:
    """Default status ``finished``; unfinished attempts have ``sumgrades`` null; userid 0 = caller."""
    status = params["status"]
    if status not in ("all", "finished", "unfinished"):
        raise invalid_parameter("Invalid status value")
    quiz = data.quiz(params["quizid"])
    if quiz is None:
        raise missing_record("quiz", params["quizid"])
    readable_course(data, quiz["course"], "mod/quiz:viewreports")
    user_id = params["userid"] or caller
    if user_id != caller:
        require_capability(data, caller, "mod/quiz:viewreports")
    rows = [a for a in data.quiz_attempts if a["quiz"] == quiz["id"] and a["userid"] == user_id]
    if status == "finished":
        rows = [a for a in rows if a["state"] in ("finished", "abandoned")]
    elif status == "unfinished":
        rows = [a for a in rows if a["state"] in ("inprogress", "overdue")]
    return {"attempts": [_attempt_record(a) for a in rows], "warnings": []}


_ATTEMPT_KEYS = (
    "id",
    "quiz",
    "userid",
    "attempt",
    "uniqueid",
    "layout",
    "currentpage",
    "preview",
    "state",
    "timestart",
    "timefinish",
    "timemodified",
    "timemodifiedoffline",
    "timecheckstate",
    "sumgrades",
)


def _attempt_record(a: Record) -> Record:
    record: Record = {key: a[key] for key in _ATTEMPT_KEYS}
    record["sumgrades"] = number(a["sumgrades"])
    record.update({"gradeitemmarks": [], "gradednotificationsenttime": a["gradednotificationsenttime"]})
    return record


def get_user_best_grade(data: Dataset, caller: int, params: dict[str, Any]) -> Record:
    """The best of the user's finished attempts (grading method "highest"), scaled to the
    quiz's grade and rounded to its decimal points; ``hasgrade`` false without one."""
    quiz = data.quiz(params["quizid"])
    if quiz is None:
        raise missing_record("quiz", params["quizid"])
    readable_course(data, quiz["course"], "mod/quiz:view")
    user_id = params["userid"] or caller
    if user_id != caller:
        require_capability(data, caller, "mod/quiz:viewreports")
    marks = [
        a["sumgrades"]
        for a in data.quiz_attempts
        if a["quiz"] == quiz["id"]
        and a["userid"] == user_id
        and a["state"] == "finished"
        and a["sumgrades"] is not None
    ]
    if not marks:
        return {"hasgrade": False, "warnings": []}
    best = round(max(marks) / quiz["sumgrades"] * quiz["grade"], 2)
    return {"hasgrade": True, "grade": number(float(best)), "warnings": []}


HANDLERS = {
    "mod_quiz_get_quizzes_by_courses": get_quizzes_by_courses,
    "mod_quiz_get_user_attempts": get_user_attempts,
    "mod_quiz_get_user_quiz_attempts": get_user_attempts,
    "mod_quiz_get_user_best_grade": get_user_best_grade,
}
