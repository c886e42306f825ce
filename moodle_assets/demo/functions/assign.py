"""Assignments (mod_assign_*)."""

from __future__ import annotations

from typing import Any

from ..dataset import Dataset, Record
from .common import has_capability, warning

_STATUSES = {"new", "draft", "submitted", "reopened"}
_ONLINETEXT = [
    ("onlinetext", "assignsubmission", "enabled", "1"),
    ("onlinetext", "assignsubmission", "wordlimit", "0"),
    ("onlinetext", "assignsubmission", "wordlimitenabled", "0"),
]
_FILES = [
    ("file", "assignsubmission", "enabled", "1"),
    ("file", "assignsubmission", "maxfilesubmissions", "2"),
    ("file", "assignsubmission", "maxsubmissionsizebytes", "1048576"),
    ("file", "assignsubmission", "filetypeslist", ""),
]
_COMMENTS = [("comments", "assignsubmission", "enabled", "0")]


def takes_files(data: Dataset, a: Record) -> bool:
    """As on the recorded site, a course's second assignment also takes file submissions."""
    own = sorted(x["id"] for x in data.assignments if x["course"] == a["course"])
    return own.index(a["id"]) % 2 == 1


def _assignment_record(data: Dataset, a: Record) -> Record:
    configs = _ONLINETEXT + (_FILES if takes_files(data, a) else []) + _COMMENTS
    return {
        "id": a["id"],
        "cmid": a["cmid"],
        "course": a["course"],
        "name": a["name"],
        "nosubmissions": 0,
        "submissiondrafts": 1,
        "sendnotifications": 0,
        "sendlatenotifications": 0,
        "sendstudentnotifications": 1,
        "duedate": a["duedate"],
        "allowsubmissionsfromdate": a["allowsubmissionsfromdate"],
        "grade": a["grade"],
        "timemodified": a["timemodified"],
        "completionsubmit": 1,
        "cutoffdate": 0,
        "gradingduedate": a["gradingduedate"],
        "teamsubmission": 0,
        "requireallteammemberssubmit": 0,
        "teamsubmissiongroupingid": 0,
        "blindmarking": 0,
        "hidegrader": 0,
        "revealidentities": 0,
        "attemptreopenmethod": "untilpass",
        "maxattempts": 1,
        "markingworkflow": 0,
        "markingallocation": 0,
        "markinganonymous": 0,
        "requiresubmissionstatement": 0,
        "preventsubmissionnotingroup": 0,
        "configs": [{"plugin": p, "subtype": s, "name": n, "value": v} for p, s, n, v in configs],
        "intro": a["intro"],
        "introformat": 1,
        "introfiles": [],
        "introattachments": [],
        "timelimit": 0,
        "submissionattachments": 0,
    }


def get_assignments(data: Dataset, caller: int, params: dict[str, Any]) -> Record:
    """Courses the caller is not enrolled in are skipped with warning "2", even for an admin,
    unless ``includenotenrolledcourses``; no ids means the caller's own courses."""
    own = sorted({e["courseid"] for e in data.enrolments_of_user(caller)})
    wanted = params["courseids"] or own
    courses, warnings = [], []
    for course_id in wanted:
        course = data.course(course_id)
        allowed = course is not None and (
            course_id in own
            or (params["includenotenrolledcourses"] and has_capability(data, caller, "moodle/course:view"))
        )
        if not allowed:
            warnings.append(
                warning("course", course_id, "2", "User is not enrolled or does not have requested capability")
            )
            continue
        assert course is not None
        courses.append(
            {
                "id": course["id"],
                "fullname": course["fullname"],
                "shortname": course["shortname"],
                "timemodified": course["timemodified"],
                "assignments": [_assignment_record(data, a) for a in data.assignments if a["course"] == course_id],
            }
        )
    return {"courses": courses, "warnings": warnings}


def _plugins(data: Dataset, assignment: Record, submission: Record) -> list[Record]:
    text = (
        ""
        if submission["status"] == "new"
        else (f"<p>Submission text by user {submission['userid']} for assign{assignment['id']}.</p>")
    )
    plugins: list[Record] = [
        {
            "type": "onlinetext",
            "name": "Online text",
            "fileareas": [{"area": "submissions_onlinetext", "files": []}],
            "editorfields": [
                {
                    "name": "onlinetext",
                    "description": "Online text submissions",
                    "text": text,
                    "format": 1 if text else 0,
                }
            ],
        }
    ]
    if takes_files(data, assignment):
        plugins.append(
            {"type": "file", "name": "File submissions", "fileareas": [{"area": "submission_files", "files": []}]}
        )
    plugins.append({"type": "comments", "name": "Submission comments"})
    return plugins


def get_submissions(data: Dataset, caller: int, params: dict[str, Any]) -> Record:
    """Without the grading capability: an empty list and warning "1", no exception."""
    status, since, before = params["status"], params["since"], params["before"]
    assignments, warnings = [], []
    for assign_id in params["assignmentids"]:
        assignment = data.assignment(assign_id)
        if assignment is None:
            continue
        if not has_capability(data, caller, "mod/assign:grade") or assignment["course"] in data.unreadable_course_ids:
            warnings.append(warning("module", assignment["cmid"], "1", "No access rights in module context"))
            continue
        rows = [
            s
            for s in data.submissions
            if s["assignment"] == assign_id
            and (not status or s["status"] == status)
            and s["timemodified"] >= since
            and (not before or s["timemodified"] <= before)
        ]
        if not rows:  # this warning names the assignment, the one above its course module
            warnings.append(warning("module", assign_id, "3", "No submissions found"))
        records = [
            {
                "id": s["id"],
                "userid": s["userid"],
                "attemptnumber": s["attemptnumber"],
                "timecreated": s["timecreated"],
                "timemodified": s["timemodified"],
                "timestarted": s["timestarted"],
                "status": s["status"],
                "groupid": s["groupid"],
                "plugins": _plugins(data, assignment, s),
                "gradingstatus": s["gradingstatus"],
            }
            for s in rows
        ]
        assignments.append({"assignmentid": assign_id, "submissions": records})
    return {"assignments": assignments, "warnings": warnings}


def get_grades(data: Dataset, caller: int, params: dict[str, Any]) -> Record:
    """Grades come back as strings with five decimals (``"57.00000"``)."""
    assignments, warnings = [], []
    for assign_id in params["assignmentids"]:
        rows = [g for g in data.assign_grades if g["assignment"] == assign_id and g["timemodified"] >= params["since"]]
        if not rows or not has_capability(data, caller, "mod/assign:grade"):
            warnings.append(warning("assignment", assign_id, "3", "No grades found"))
            continue
        assignments.append(
            {
                "assignmentid": assign_id,
                "grades": [
                    {
                        "id": g["id"],
                        "userid": g["userid"],
                        "attemptnumber": g["attemptnumber"],
                        "timecreated": g["timecreated"],
                        "timemodified": g["timemodified"],
                        "grader": g["grader"],
                        "grade": f"{g['grade']:.5f}",
                    }
                    for g in rows
                ],
            }
        )
    return {"assignments": assignments, "warnings": warnings}


HANDLERS = {
    "mod_assign_get_assignments": get_assignments,
    "mod_assign_get_submissions": get_submissions,
    "mod_assign_get_grades": get_grades,
}
