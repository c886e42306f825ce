"""Activity and course completion (core_completion_*)."""

from __future__ import annotations

from typing import Any

from ..dataset import Dataset, Record
from ..errors import MoodleException, not_enrolled
from .common import readable_course, require_user, site_url
from .contents import completion_data

# The course completion criteria of a course with criteria: every page and url activity
# ("all" aggregation), each with the requirement text the status answer gives it.
_REQUIREMENT = {"page": "Viewing the page", "url": "Marking yourself complete"}


def criteria_modules(data: Dataset, course_id: int) -> list[Record]:
    """The activities whose completion the course's completion criteria require."""
    return [m for m in data.modules_of_course(course_id) if m["modname"] in _REQUIREMENT]


def get_activities_completion_status(data: Dataset, caller: int, params: dict[str, Any]) -> Record:
    """A non-enrolled user gets statuses too (all state 0, ``istrackeduser`` false), no error."""
    course = readable_course(data, params["courseid"], "report/completion:view")
    require_user(data, params["userid"])
    tracked = any(
        e["role"] == "student" for e in data.enrolments_of_user(params["userid"]) if e["courseid"] == course["id"]
    )
    statuses = []
    for module in data.modules_of_course(course["id"]):
        if not module["completion"]:
            continue
        status = {"cmid": module["id"], "modname": module["modname"], "instance": module["instance"]}
        details = completion_data(data, module, params["userid"], tracked)
        status.update(
            {"state": details["state"], "timecompleted": details["timecompleted"], "tracking": module["completion"]}
        )
        status.update({k: v for k, v in details.items() if k not in ("state", "timecompleted")})
        statuses.append(status)
    return {"statuses": statuses, "warnings": []}


def get_course_completion_status(data: Dataset, caller: int, params: dict[str, Any]) -> Record:
    course = readable_course(data, params["courseid"], "report/completion:view")
    user_id = params["userid"]
    require_user(data, user_id)
    if course["format"] == "site" or data.enrolment(course["id"], user_id) is None:
        raise not_enrolled()
    if not course["has_criteria"]:
        raise MoodleException("nocriteriaset", "No completion criteria set for this course")
    row = next((c for c in data.course_completion if c["courseid"] == course["id"] and c["userid"] == user_id), None)
    completions = []
    for module in criteria_modules(data, course["id"]):
        state = next(
            (a for a in data.activity_completion if a["cmid"] == module["id"] and a["userid"] == user_id), None
        )
        done = state is not None and state["state"] > 0
        completions.append(
            {
                "type": 4,
                "title": "Activity completion",
                "status": "Yes" if done else "No",
                "complete": done,
                "timecompleted": state["timecompleted"] if done else None,
                "details": {
                    "type": "Activity completion",
                    "criteria": f'<a href="{site_url()}/mod/{module["modname"]}/view.php?id={module["id"]}">{module["name"]}</a>',
                    "requirement": _REQUIREMENT[module["modname"]],
                    "status": "",
                },
            }
        )
    completed = bool(row and row["timecompleted"])
    return {"completionstatus": {"completed": completed, "aggregation": 1, "completions": completions}, "warnings": []}


HANDLERS = {
    "core_completion_get_activities_completion_status": get_activities_completion_status,
    "core_completion_get_course_completion_status": get_course_completion_status,
}
