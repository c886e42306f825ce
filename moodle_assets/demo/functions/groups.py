"""Groups (core_group_*)."""

from __future__ import annotations

from typing import Any

from ..dataset import Dataset, Record
from ..errors import missing_record
from .common import readable_course, require_capability


def get_course_groups(data: Dataset, caller: int, params: dict[str, Any]) -> list[Record]:
    """Needs moodle/course:managegroups, which the restricted role lacks."""
    course = readable_course(data, params["courseid"], "moodle/course:managegroups")
    require_capability(data, caller, "moodle/course:managegroups")
    return [dict(g) for g in data.groups_of_course(course["id"])]


def get_group_members(data: Dataset, caller: int, params: dict[str, Any]) -> list[Record]:
    result = []
    for group_id in params["groupids"]:
        group = data.group(group_id)
        if group is None:
            raise missing_record("groups", group_id)
        readable_course(data, group["courseid"], "moodle/course:managegroups")
        result.append({"groupid": group_id, "userids": data.members_of_group(group_id)})
    return result


def get_course_user_groups(data: Dataset, caller: int, params: dict[str, Any]) -> Record:
    """The groups a user (0 = the caller) is in, in one course or (courseid 0) in all of them;
    another user's groups need moodle/course:managegroups."""
    user_id = params["userid"] or caller
    if user_id != caller:
        require_capability(data, caller, "moodle/course:managegroups")
    if params["courseid"]:
        readable_course(data, params["courseid"], "moodle/course:managegroups")
    groups = [g for g in data.groups_of_user(user_id) if not params["courseid"] or g["courseid"] == params["courseid"]]
    return {
        "groups": [
            {
                "id": g["id"],
                "name": g["name"],
                "description": g["description"],
                "descriptionformat": g["descriptionformat"],
                "idnumber": g["idnumber"],
                "courseid": g["courseid"],
            }
            for g in groups
        ],
        "warnings": [],
    }


HANDLERS = {
    "core_group_get_course_groups": get_course_groups,
    "core_group_get_group_members": get_group_members,
    "core_group_get_course_user_groups": get_course_user_groups,
}
