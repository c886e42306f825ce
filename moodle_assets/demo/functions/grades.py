"""Gradebook reports (gradereport_user_get_grade_items, gradereport_overview_get_course_grades)."""

from __future__ import annotations

from typing import Any

from ..dataset import GUEST_ID, Dataset, Record
from ..errors import MoodleException
from .common import readable_course, require_capability


def _grade(data: Dataset, item_id: int, user_id: int) -> Record | None:
    for row in data.grades:
        if row["itemid"] == item_id and row["userid"] == user_id:
            return row
    return None


def _item_record(data: Dataset, item: Record, user_id: int, enrolled: bool) -> Record:
    grade = _grade(data, item["id"], user_id)
    raw = grade["finalgrade"] if grade else None
    course_total = item["itemtype"] == "course"
    record: Record = {
        "id": item["id"], "itemname": item["itemname"], "itemtype": item["itemtype"], "itemmodule": item["itemmodule"],
        "iteminstance": item["iteminstance"], "itemnumber": 0, "idnumber": "", "categoryid": item["categoryid"],
        "outcomeid": None, "scaleid": None, "locked": False,
    }
    if item["cmid"] is not None:
        record["cmid"] = item["cmid"]
    if enrolled:  # the report leaves weights and status out for someone outside the course
        record.update({"weightraw": 0 if course_total else round(1 / 3, 5),
                       "weightformatted": "" if course_total else "33.33 %",
                       "status": "" if raw is not None else "novalue"})
    record.update(
        {
            "graderaw": raw,
            "gradedatesubmitted": None, "gradedategraded": grade["timemodified"] if grade else None,
            "gradehiddenbydate": False, "gradeneedsupdate": False, "gradeishidden": False, "gradeislocked": False,
            "gradeisoverridden": False, "gradeformatted": f"{raw:.2f}" if raw is not None else "-",
            "grademin": 0, "grademax": item["grademax"],
            "rangeformatted": f"0&ndash;{item['grademax']:g}",
            "percentageformatted": f"{100 * raw / item['grademax']:.2f} %" if raw is not None else "-",
            "feedback": "", "feedbackformat": 2,
        }
    )
    return record


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
    items = sorted((i for i in data.grade_items if i["courseid"] == course["id"]), key=lambda i: (i["itemtype"] == "course", i["id"]))
    reports = []
    for user_id in users:
        user = data.user(user_id)
        if user is None:
            raise MoodleException("invaliduser", "Invalid user")
        enrolled = data.enrolment(course["id"], user_id) is not None
        report: Record = {"courseid": course["id"], "courseidnumber": course["idnumber"], "userid": user_id,
                          "userfullname": user["fullname"]}
        if user["idnumber"]:
            report["useridnumber"] = user["idnumber"]
        report.update({"maxdepth": 2, "gradeitems": [_item_record(data, i, user_id, enrolled) for i in items]})
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
        total = next((i for i in data.grade_items if i["courseid"] == enrolment["courseid"] and i["itemtype"] == "course"), None)
        if total is None or enrolment["courseid"] in data.unreadable_course_ids:
            continue
        grade = _grade(data, total["id"], user_id)
        raw = grade["finalgrade"] if grade else None
        # rawgrade is required but nullable in the return structure: null when ungraded.
        grades.append({
            "courseid": enrolment["courseid"],
            "grade": f"{raw:.2f}" if raw is not None else "-",
            "rawgrade": f"{raw:.5f}" if raw is not None else None,
        })
    return {"grades": grades, "warnings": []}


HANDLERS = {
    "gradereport_user_get_grade_items": get_grade_items,
    "gradereport_overview_get_course_grades": get_course_grades,
}
