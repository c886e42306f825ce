"""The analytics figures worked out by hand from the demo Dataset, in plain Python.

Independent of the SQL on purpose: each function restates a model's definition over the
generator's own lists, with the visibility rules of the web services (participants hidden
from participant lists are not enrolled users, so they have no progress rows).
"""

from __future__ import annotations

import statistics
from datetime import UTC, datetime

from moodle_assets.demo.dataset import Dataset

DAY = 86400


def learners(data: Dataset, course_id: int) -> list[dict]:
    return [
        e
        for e in data.enrolments_of_course(course_id)
        if e["role"] == "student" and e["userid"] not in data.hidden_user_ids
    ]


def course_id(data: Dataset, shortname: str) -> int:
    return next(c["id"] for c in data.courses if c["shortname"] == shortname)


def course_total_item(data: Dataset, cid: int) -> dict:
    return next(i for i in data.grade_items if i["courseid"] == cid and i["itemtype"] == "course")


def grade(data: Dataset, item_id: int, user_id: int) -> float | None:
    return next((g["finalgrade"] for g in data.grades if g["itemid"] == item_id and g["userid"] == user_id), None)


def learner(data: Dataset, cid: int, uid: int, now: int) -> dict:
    """One row of analytics.learner_progress."""
    enrolment = data.enrolment(cid, uid)
    tracked = [m for m in data.modules_of_course(cid) if m["completion"]]
    done = [a for a in data.activity_completion if a["courseid"] == cid and a["userid"] == uid and a["state"] in (1, 2)]
    completion = next((c for c in data.course_completion if c["courseid"] == cid and c["userid"] == uid), None)
    completed = None if completion is None else completion["timecompleted"] is not None
    completed_at = None
    if completed:  # the last of the page/url criteria met
        criteria = {m["id"] for m in tracked if m["modname"] in ("page", "url")}
        completed_at = max(a["timecompleted"] for a in done if a["cmid"] in criteria)
    submitted = {s["assignment"] for s in data.submissions if s["userid"] == uid and s["status"] == "submitted"}
    due = [a for a in data.assignments if a["course"] == cid and 0 < a["duedate"] < now]
    quiz_ids = {q["id"] for q in data.quizzes if q["course"] == cid}
    attempts = [a for a in data.quiz_attempts if a["quiz"] in quiz_ids and a["userid"] == uid]
    access = enrolment["lastcourseaccess"] or None
    return {
        "account_suspended": data.user(uid)["suspended"],
        "last_course_access": access,
        "days_since_access": None if access is None else (now - access) // DAY,
        "activities_tracked": len(tracked),
        "activities_completed": len(done),
        "course_completed": completed,
        "course_completed_at": completed_at,
        "course_grade_pct": grade(data, course_total_item(data, cid)["id"], uid),
        "assignments_due": len(due),
        "overdue_assignments": sum(1 for a in due if a["id"] not in submitted),
        "quiz_attempts": len(attempts),
    }


def course(data: Dataset, cid: int, now: int) -> dict:
    """One row of analytics.course_overview."""
    rows = learners(data, cid)
    ids = {e["userid"] for e in rows}
    completion = [c for c in data.course_completion if c["courseid"] == cid and c["userid"] in ids]
    total = course_total_item(data, cid)["id"]
    grades = [g for g in (grade(data, total, uid) for uid in ids) if g is not None]
    modules = [m for m in data.modules_of_course(cid) if m["modname"] != "qbank"]  # not on the course page
    return {
        "enrolled_learners": len(rows),
        "active_7d": sum(1 for e in rows if e["lastcourseaccess"] and e["lastcourseaccess"] >= now - 7 * DAY),
        "active_30d": sum(1 for e in rows if e["lastcourseaccess"] and e["lastcourseaccess"] >= now - 30 * DAY),
        "never_accessed": sum(1 for e in rows if not e["lastcourseaccess"]),
        "suspended_learners": sum(1 for e in rows if data.user(e["userid"])["suspended"]),
        "completion_tracked": len(completion),
        "completed_learners": sum(1 for c in completion if c["timecompleted"]),
        "completion_rate": (sum(1 for c in completion if c["timecompleted"]) / len(completion)) if completion else None,
        "graded_learners": len(grades),
        "avg_grade_pct": round(statistics.mean(grades), 2) if grades else None,
        "modules": len(modules),
        "tracked_activities": sum(1 for m in modules if m["completion"]),
        "assignments": sum(1 for a in data.assignments if a["course"] == cid),
        "quizzes": sum(1 for q in data.quizzes if q["course"] == cid),
    }


def quiz(data: Dataset, quiz_id: int, pass_percent: float) -> dict:
    """The quiz row of analytics.assessment_results (attempts of visible participants)."""
    q = data.quiz(quiz_id)
    visible = {e["userid"] for e in data.enrolments_of_course(q["course"])} - data.hidden_user_ids
    attempts = [a for a in data.quiz_attempts if a["quiz"] == quiz_id and a["userid"] in visible]
    scores = [100 * a["sumgrades"] / q["sumgrades"] for a in attempts if a["state"] == "finished"]
    states: dict[str, int] = {}
    for a in attempts:
        states[a["state"]] = states.get(a["state"], 0) + 1
    finishers = {a["userid"] for a in attempts if a["state"] == "finished"}
    return {
        "records": len(attempts),
        "by_state": states,
        "completed": len(scores),
        "participation_rate": len(finishers) / len(learners(data, q["course"])),
        "avg_score_pct": round(statistics.mean(scores), 2),
        "median_score_pct": round(statistics.median(scores), 2),
        "pass_rate": sum(1 for s in scores if s >= pass_percent) / len(scores),
        "late_submissions": None,
    }


def assignment(data: Dataset, assign_id: int, pass_percent: float) -> dict:
    """The assignment row of analytics.assessment_results (grades from the gradebook)."""
    a = data.assignment(assign_id)
    subs = [s for s in data.submissions if s["assignment"] == assign_id]
    states: dict[str, int] = {}
    for s in subs:
        states[s["status"]] = states.get(s["status"], 0) + 1
    item = next(i for i in data.grade_items if i["itemmodule"] == "assign" and i["iteminstance"] == assign_id)
    scores = [100 * g["finalgrade"] / item["grademax"] for g in data.grades if g["itemid"] == item["id"]]
    submitted = [s for s in subs if s["status"] == "submitted"]
    return {
        "records": len(subs),
        "by_state": states,
        "completed": len(submitted),
        "avg_score_pct": round(statistics.mean(scores), 2),
        "median_score_pct": round(statistics.median(scores), 2),
        "pass_rate": sum(1 for s in scores if s >= pass_percent) / len(scores),
        "late_submissions": sum(1 for s in submitted if s["timemodified"] > a["duedate"]),
    }


def week_of(ts: int) -> str:
    day = datetime.fromtimestamp(ts, UTC).date()
    return (day.fromordinal(day.toordinal() - day.weekday())).isoformat()


def weekly(data: Dataset, cid: int, calendar_from: int, calendar_to: int) -> dict[str, dict[str, int]]:
    """analytics.engagement_weekly for one course: week start -> counts."""
    out: dict[str, dict[str, int]] = {}

    def add(ts: int, kind: str) -> None:
        counts = out.setdefault(
            week_of(ts), {"discussions_started": 0, "deadlines": 0, "submissions": 0, "quiz_attempts": 0}
        )
        counts[kind] += 1

    forums = {f["id"] for f in data.forums if f["course"] == cid}
    for d in data.discussions:
        if d["forum"] in forums:
            add(d["created"], "discussions_started")
    for e in data.events:
        if (
            e["courseid"] == cid
            and e["eventtype"] in ("due", "close")
            and calendar_from <= e["timestart"] < calendar_to
        ):
            add(e["timestart"], "deadlines")
    assigns = {a["id"] for a in data.assignments if a["course"] == cid}
    for s in data.submissions:
        if s["assignment"] in assigns and s["status"] == "submitted":
            add(s["timemodified"], "submissions")
    visible = {e["userid"] for e in data.enrolments_of_course(cid)} - data.hidden_user_ids
    quizzes = {q["id"] for q in data.quizzes if q["course"] == cid}
    for a in data.quiz_attempts:
        if a["quiz"] in quizzes and a["userid"] in visible:
            add(a["timestart"], "quiz_attempts")
    return out


def at_risk(data: Dataset, cid: int, now: int, inactive_days: int = 14) -> dict[int, list[str]]:
    """analytics.at_risk_learners for one running course: user id -> reasons."""
    out = {}
    for e in learners(data, cid):
        uid = e["userid"]
        if data.user(uid)["suspended"]:
            continue
        row = learner(data, cid, uid, now)
        reasons = []
        if row["last_course_access"] is None:
            reasons.append("never_accessed")
        elif now - row["last_course_access"] >= inactive_days * DAY:
            reasons.append("inactive")
        if row["overdue_assignments"]:
            reasons.append("overdue_work")
        if reasons:
            out[uid] = reasons
    return out
