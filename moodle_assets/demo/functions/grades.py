"""Gradebook reports (gradereport_user_get_grade_items, gradereport_overview_get_course_grades)."""

from __future__ import annotations

from typing import Any

from ..dataset import GUEST_ID, Dataset, Record
from ..errors import MoodleException
from .common import number, readable_course, require_capability


def _grade(data: Dataset, item_id: int, user_id: int) -> Record | None:
    for row in data.grades:
        if row["itemid"] == item_id and row["userid"] == user_id:
            return row
    return None


def _submitted(data: Dataset, item: Record, user_id: int) -> int | None:
    """When the user handed in the work behind a grade item (the report's ``gradedatesubmitted``)."""
    if item["itemmodule"] == "assign":
        times = [
            s["timemodified"]
            for s in data.submissions
            if s["assignment"] == item["iteminstance"] and s["userid"] == user_id and s["status"] == "submitted"
        ]
    elif item["itemmodule"] == "quiz":
        times = [
            a["timefinish"]
            for a in data.quiz_attempts
            if a["quiz"] == item["iteminstance"] and a["userid"] == user_id and a["state"] == "finished"
        ]
    else:
        times = []
    return max(times) if times else None


def _item_record(
    data: Dataset, item: Record, user_id: int, has_rows: bool, category: int | None, weight: float | None
) -> Record:
    """One line of the user report.

    As on Moodle 4.5: a user with no grade rows at all in the course (never graded, never
    submitted, or not even enrolled) gets bare lines, with no weight, no status and feedback
    format 0; the course total never has a weight or status; ``status`` is ``novalue`` on an
    item with no grade and absent on a graded one.
    """
    grade = _grade(data, item["id"], user_id)
    raw = grade["finalgrade"] if grade else None
    course_total = item["itemtype"] == "course"
    record: Record = {
        "id": item["id"],
        "itemname": item["itemname"],
        "itemtype": item["itemtype"],
        "itemmodule": item["itemmodule"],
        # the course total belongs to the course's grade category: that is its instance
        "iteminstance": category if course_total and category is not None else item["iteminstance"],
        "itemnumber": None if course_total else 0,
        "idnumber": None if course_total else "",
        "categoryid": item["categoryid"],
        "outcomeid": None,
        "scaleid": None,
        "locked": False,
    }
    if item["cmid"] is not None:
        record["cmid"] = item["cmid"]
    if has_rows and not course_total:
        share = weight if raw is not None and weight is not None else 0.0
        record.update({"weightraw": number(round(share, 5)), "weightformatted": f"{100 * share:.2f} %"})
        if raw is None:
            record["status"] = "novalue"
    record.update(
        {
            "graderaw": number(raw),
            "gradedatesubmitted": None if course_total or not has_rows else _submitted(data, item, user_id),
            # grade_grade::get_dategraded(): when overridden, the override's time
            "gradedategraded": (grade.get("overridden") or grade["timemodified"])
            if grade and raw is not None
            else None,
            "gradehiddenbydate": False,
            "gradeneedsupdate": False,
            "gradeishidden": False,
            "gradeislocked": False,
            "gradeisoverridden": bool(grade and grade.get("overridden")),
            "gradeformatted": f"{raw:.2f}" if raw is not None else "-",
            "grademin": 0,
            "grademax": number(item["grademax"]),
            "rangeformatted": f"0&ndash;{item['grademax']:g}",
            "percentageformatted": f"{100 * raw / item['grademax']:.2f} %" if raw is not None else "-",
            "feedback": "",
            "feedbackformat": 2 if has_rows else 0,
        }
    )
    return record


def _has_rows(data: Dataset, items: list[Record], user_id: int) -> bool:
    """Whether the gradebook holds any row for the user in these items (a grade, or a
    submission or finished attempt that a grade row records)."""
    return any(_grade(data, i["id"], user_id) is not None or _submitted(data, i, user_id) is not None for i in items)


def get_grade_items(data: Dataset, caller: int, params: dict[str, Any]) -> Record:
    """``userid`` 0 = every enrolled user; a non-enrolled user still gets the items."""
    course = readable_course(data, params["courseid"], "moodle/grade:viewall")
    require_capability(data, caller, "moodle/grade:viewall")
    if params["userid"]:
        users = [params["userid"]]
    else:
        users = sorted(e["userid"] for e in data.enrolments_of_course(course["id"]) if e["role"] == "student")
    if params["groupid"]:
        members = set(data.members_of_group(params["groupid"]))
        users = [u for u in users if u in members]
    items = sorted(
        (i for i in data.grade_items if i["courseid"] == course["id"]),
        key=lambda i: (i["itemtype"] == "course", i["id"]),
    )
    category = next((i["categoryid"] for i in items if i["itemtype"] != "course"), None)
    reports = []
    for user_id in users:
        user = data.user(user_id)
        if user is None:
            raise MoodleException("invaliduser", "Invalid user")
        has_rows = _has_rows(data, items, user_id)
        graded = [i for i in items if i["itemtype"] != "course" and _grade(data, i["id"], user_id) is not None]
        weight = 1 / len(graded) if graded else None  # the graded items share the course total
        report: Record = {
            "courseid": course["id"],
            "courseidnumber": course["idnumber"],
            "userid": user_id,
            "userfullname": user["fullname"],
        }
        if user["idnumber"]:
            report["useridnumber"] = user["idnumber"]
        report.update(
            {"maxdepth": 2, "gradeitems": [_item_record(data, i, user_id, has_rows, category, weight) for i in items]}
        )
        reports.append(report)
    return {"usergrades": reports, "warnings": []}


def get_course_grades(data: Dataset, caller: int, params: dict[str, Any]) -> Record:
    """``userid`` 0 is the caller; the guest is refused."""
    user_id = params["userid"] or caller
    if user_id == GUEST_ID:
        raise MoodleException("guestsarenotallowed", "The guest user cannot do this")
    if user_id != caller:
        require_capability(data, caller, "moodle/grade:viewall")
    grades = []
    for enrolment in sorted(data.enrolments_of_user(user_id), key=lambda e: e["courseid"]):
        total = next(
            (i for i in data.grade_items if i["courseid"] == enrolment["courseid"] and i["itemtype"] == "course"), None
        )
        if total is None or enrolment["courseid"] in data.unreadable_course_ids:
            continue
        grade = _grade(data, total["id"], user_id)
        raw = grade["finalgrade"] if grade else None
        # rawgrade is required but nullable in the return structure: null when ungraded.
        grades.append(
            {
                "courseid": enrolment["courseid"],
                "grade": f"{raw:.2f}" if raw is not None else "-",
                "rawgrade": f"{raw:.5f}" if raw is not None else None,
            }
        )
    return {"grades": grades, "warnings": []}


HANDLERS = {
    "gradereport_user_get_grade_items": get_grade_items,
    "gradereport_overview_get_course_grades": get_course_grades,
}
