"""Enrolment functions (core_enrol_*)."""

from __future__ import annotations

from typing import Any

from ..dataset import Dataset, Record
from .common import escape, has_capability, picture_urls, readable_course, user_identity
from .users import profile_fields

# Capabilities only the teaching roles hold in a course, for the withcapability option.
_TEACHER_CAPABILITIES = ("grade", "viewreports", "manage", "viewall", "update", "viewhidden")

_ALWAYS = ("id",)


def _enrolment_active(data: Dataset, enrolment: Record) -> bool:
    return (
        enrolment["status"] == 0
        and enrolment["timestart"] <= data.now
        and (enrolment["timeend"] == 0 or enrolment["timeend"] > data.now)
    )


def _active(data: Dataset, enrolment: Record) -> bool:
    user = data.user(enrolment["userid"])
    return _enrolment_active(data, enrolment) and user is not None and not user["suspended"]


def _options(raw: list[dict[str, str]]) -> dict[str, str]:
    """Option lists are name/value pairs; unknown names are ignored, as Moodle does."""
    return {item["name"]: item["value"] for item in raw}


def _int(text: str | None, default: int = 0) -> int:
    try:
        return int(str(text).strip())
    except (TypeError, ValueError):
        return default


def _enrolled_record(data: Dataset, user: Record, enrolment: Record, course: Record) -> Record:
    record = user_identity(user)
    record.update(
        {
            "firstaccess": user["firstaccess"],
            "lastaccess": user["lastaccess"],
            "lastcourseaccess": enrolment["lastcourseaccess"],
        }
    )
    for key in ("city", "country"):
        if user[key]:
            record[key] = user[key]
    record.update(picture_urls(data))
    fields = profile_fields(user, displayvalue=False)
    if fields:
        record["customfields"] = fields
    groups = [g for g in data.groups_of_user(user["id"]) if g["courseid"] == course["id"]]
    if groups:
        record["groups"] = [
            {
                "id": g["id"],
                "name": g["name"],
                "description": f'<div class="text_to_html">{g["description"]}</div>',
                "descriptionformat": 0,
            }
            for g in groups
        ]
    record["roles"] = [{"roleid": enrolment["roleid"], "name": "", "shortname": enrolment["role"], "sortorder": 0}]
    # enrol_get_users_courses(onlyactive): active enrolments only, in the courses' sort order;
    # no key at all for a user left with none (a suspended enrolment here and nothing else).
    courses = [
        c
        for e in data.enrolments_of_user(user["id"])
        if _enrolment_active(data, e) and (c := data.course(e["courseid"])) is not None
    ]
    courses.sort(key=lambda c: (not c["visible"], c["sortorder"], c["id"]))
    if courses:
        record["enrolledcourses"] = [
            {"id": c["id"], "fullname": escape(c["fullname"]), "shortname": c["shortname"]} for c in courses
        ]
    return record


def get_enrolled_users(data: Dataset, caller: int, params: dict[str, Any]) -> list[Record]:
    """A bare list by user id, paged with limitfrom/limitnumber and no total.

    Hidden participants are removed *after* the page is cut, like Moodle's visibility check
    after its LIMIT query, so a page can be short while later pages still have users.
    """
    course = readable_course(data, params["courseid"], "moodle/course:viewparticipants")
    options = _options(params["options"])
    rows = list(data.enrolments_of_course(course["id"]))
    if options.get("onlyactive", "0") not in ("0", ""):
        rows = [e for e in rows if _active(data, e)]
    elif options.get("onlysuspended", "0") not in ("0", ""):
        rows = [e for e in rows if not _active(data, e)]
    group_id = _int(options.get("groupid"))
    if group_id:
        members = set(data.members_of_group(group_id))
        rows = [e for e in rows if e["userid"] in members]
    capability = options.get("withcapability", "")
    if capability:
        teaching = any(word in capability for word in _TEACHER_CAPABILITIES)
        rows = [e for e in rows if e["role"] == "editingteacher" or not teaching]
    users = [(data.user(e["userid"]), e) for e in rows]
    pairs = [(u, e) for u, e in users if u is not None]
    sortby = options.get("sortby", "id")
    reverse = options.get("sortdirection", "ASC").upper() == "DESC"
    if sortby in ("firstname", "lastname"):
        pairs.sort(key=lambda p: (p[0][sortby].lower(), p[0]["id"]), reverse=reverse)
    else:
        pairs.sort(key=lambda p: p[0]["id"], reverse=reverse)
    start = max(_int(options.get("limitfrom")), 0)
    limit = max(_int(options.get("limitnumber")), 0)
    page = pairs[start : start + limit] if limit else pairs[start:]
    visible = [(u, e) for u, e in page if u["id"] not in data.hidden_user_ids]
    fields = [f.strip() for f in options.get("userfields", "").split(",") if f.strip()]
    records = [_enrolled_record(data, u, e, course) for u, e in visible]
    if fields:
        keep = set(fields) | set(_ALWAYS) | {"fullname"}
        if "profileimageurl" in keep:
            keep.add("profileimageurlsmall")
        records = [{k: v for k, v in r.items() if k in keep} for r in records]
    if not has_capability(data, caller, "moodle/course:useremail"):
        for record in records:
            record.pop("email", None)
    return records


def _progress(data: Dataset, course_id: int, user_id: int) -> tuple[int | None, bool]:
    tracked = [m for m in data.modules_of_course(course_id) if m["completion"]]
    if not tracked:
        return None, False
    done = {(a["cmid"]) for a in data.activity_completion if a["userid"] == user_id and a["courseid"] == course_id}
    percent = round(100 * len([m for m in tracked if m["id"] in done]) / len(tracked))
    completed = any(
        c["timecompleted"] for c in data.course_completion if c["courseid"] == course_id and c["userid"] == user_id
    )
    return percent, completed


def get_users_courses(data: Dataset, caller: int, params: dict[str, Any]) -> list[Record]:
    """An unknown user gives ``[]``, not an error."""
    from .common import course_image

    user_id = params["userid"]
    records = []
    for enrolment in sorted(data.enrolments_of_user(user_id), key=lambda e: e["courseid"]):
        course = data.course(enrolment["courseid"])
        if course is None:
            continue
        progress, completed = _progress(data, course["id"], user_id)
        record: Record = {
            "id": course["id"],
            "shortname": course["shortname"],
            "fullname": course["fullname"],
            "displayname": course["fullname"],
        }
        if params["returnusercount"]:
            record["enrolledusercount"] = len(data.enrolments_of_course(course["id"]))
        record.update(
            {
                "idnumber": course["idnumber"],
                "visible": course["visible"],
                "summary": course["summary"],
                "summaryformat": 1,
                "format": course["format"],
                "courseimage": course_image(course),
                "showgrades": True,
                "lang": "",
                "enablecompletion": bool(course["enablecompletion"]),
                "completionhascriteria": bool(course["has_criteria"]),
                "completionusertracked": enrolment["role"] == "student",
                "category": course["categoryid"],
                "progress": progress,
                "completed": completed,
                "startdate": course["startdate"],
                "enddate": course["enddate"],
                "marker": 0,
                "lastaccess": enrolment["lastcourseaccess"] or None,
                "isfavourite": False,
                "hidden": False,
                "overviewfiles": [],
                "showactivitydates": False,
                "showcompletionconditions": True,
                "timemodified": course["timemodified"],
            }
        )
        if record["progress"] is None:
            del record["progress"]
        if record["lastaccess"] is None:
            del record["lastaccess"]
        records.append(record)
    return records


def get_course_enrolment_methods(data: Dataset, caller: int, params: dict[str, Any]) -> list[Record]:
    course = readable_course(data, params["courseid"])
    return [
        {
            "id": i["id"],
            "courseid": course["id"],
            "type": i["type"],
            "name": i["name"],
            "status": i["status"],
            "wsfunction": None,
        }
        for i in data.enrol_instances
        if i["courseid"] == course["id"]
    ]


HANDLERS = {
    "core_enrol_get_enrolled_users": get_enrolled_users,
    "core_enrol_get_users_courses": get_users_courses,
    "core_enrol_get_course_enrolment_methods": get_course_enrolment_methods,
}
