"""Helpers every handler area shares: the request context, access rules and record shapes."""

from __future__ import annotations

import html
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from ..dataset import ADMIN_ID, Dataset, Record
from ..errors import MoodleException, missing_record, no_permission

Handler = Callable[[Dataset, int, dict[str, Any]], Any]


@dataclass(frozen=True)
class RequestContext:
    """What a handler may need besides its params: the site URL and the token's service."""

    site_url: str = "http://127.0.0.1"
    functions: tuple[str, ...] = field(default_factory=tuple)


# RequestContext is frozen, so one shared default instance is safe.
_CONTEXT: ContextVar[RequestContext] = ContextVar("demo_request_context", default=RequestContext())  # noqa: B039


def set_context(context: RequestContext) -> None:
    _CONTEXT.set(context)


def context() -> RequestContext:
    return _CONTEXT.get()


def site_url() -> str:
    return context().site_url


# ------------------------------------------------------------------ access rules

# What a read-only harvest account is given on any site: seeing courses, participants,
# profiles, grades, calendars, groups and badges. Both demo roles below start from it.
VIEWING_CAPABILITIES = frozenset(
    {
        "moodle/course:view",
        "moodle/course:viewhiddencourses",
        "moodle/course:viewparticipants",
        "moodle/site:viewparticipants",
        "moodle/user:viewdetails",
        "moodle/user:viewhiddendetails",
        "moodle/course:useremail",
        "moodle/site:viewuseridentity",
        "moodle/grade:view",
        "moodle/calendar:manageentries",
        "moodle/site:accessallgroups",
        "moodle/badges:viewotherbadges",
    }
)

# The custom system role of the recorded site's service account ("ingestion_readonly").
_SERVICE_CAPABILITIES = VIEWING_CAPABILITIES | {
    "moodle/grade:viewall",
    "report/completion:view",
    "moodle/competency:coursecompetencyview",
}


def has_capability(data: Dataset, user_id: int, capability: str) -> bool:
    """Site admin has everything; the service account has its role; others nothing special."""
    if user_id == ADMIN_ID:
        return True
    if user_id == data.service_user_id:
        return capability in _SERVICE_CAPABILITIES
    return capability == "moodle/competency:coursecompetencyview"


def require_capability(data: Dataset, user_id: int, capability: str) -> None:
    if not has_capability(data, user_id, capability):
        raise no_permission(capability)


def readable_course(data: Dataset, course_id: int, capability: str = "moodle/course:view") -> Record:
    """The course, or the errors a real site gives: missing record, then missing capability."""
    course = data.course(course_id)
    if course is None:
        raise missing_record("course", course_id)
    if course_id in data.unreadable_course_ids:
        raise no_permission(capability)
    return course


def require_user(data: Dataset, user_id: int) -> Record:
    user = data.user(user_id)
    if user is None:
        raise missing_record("user", user_id)
    return user


def warning(item: str, itemid: int | None, code: str, message: str) -> Record:
    row: Record = {"item": item}
    if itemid is not None:
        row["itemid"] = itemid
    row.update({"warningcode": code, "message": message})
    return row


# ------------------------------------------------------------------ record shapes


def cache_rev(data: Dataset) -> int:
    """The theme's cache revision in image URLs: it changes when caches are purged, not daily."""
    return data.courses[0]["timemodified"]


def picture_urls(data: Dataset) -> dict[str, str]:
    base = f"{site_url()}/theme/image.php/boost/core/{cache_rev(data)}/u"
    return {"profileimageurlsmall": f"{base}/f2", "profileimageurl": f"{base}/f1"}


def course_image(course: Record) -> str:
    return f"{site_url()}/pluginfile.php/{course['contextid']}/course/generated/course.svg"


def number(value: float | None) -> float | int | None:
    """A PARAM_FLOAT as Moodle's JSON carries it: PHP's json_encode writes 10.0 as ``10``."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def escape(text: str | None) -> str | None:
    """Moodle's ``format_string``/``s()`` output: names arrive HTML-escaped."""
    return None if text is None else html.escape(text, quote=False)


def format_options(course: Record) -> list[Record]:
    if course["format"] == "site":
        return [{"name": "numsections", "value": 1}]
    return [
        {"name": "hiddensections", "value": 1},
        {"name": "coursedisplay", "value": 0},
        {"name": "indentation", "value": "1"},
    ]


def contacts(data: Dataset, course: Record) -> list[Record]:
    found = []
    for enrolment in data.teachers_of(course["id"]):
        user = data.user(enrolment["userid"])
        if user is not None:
            found.append({"id": user["id"], "fullname": user["fullname"]})
    return found


def course_listing(data: Dataset, course: Record) -> Record:
    """The short course shape of core_course_search_courses (and the head of by_field)."""
    category = data.category(course["categoryid"])
    site = course["format"] == "site"
    return {
        "id": course["id"],
        "fullname": course["fullname"],
        "displayname": course["fullname"],
        "shortname": course["shortname"],
        "courseimage": course_image(course),
        "categoryid": course["categoryid"],
        "categoryname": escape(category["name"]) if category else "",
        "sortorder": course["sortorder"],
        "summary": course["summary"],
        "summaryformat": 1,
        "summaryfiles": [],
        "overviewfiles": [],
        "showactivitydates": False,
        "showcompletionconditions": None if site else True,
        "contacts": contacts(data, course),
        "enrollmentmethods": [] if site else ["manual"],
    }


_FILTERS = ["displayh5p", "activitynames", "mathjaxloader", "emoticon", "urltolink", "mediaplugin"]


def course_full(data: Dataset, course: Record) -> Record:
    """The long course shape of core_course_get_courses_by_field."""
    record = course_listing(data, course)
    record.update(
        {
            "idnumber": course["idnumber"],
            "format": course["format"],
            "showgrades": 1,
            "newsitems": course["newsitems"],
            "startdate": course["startdate"],
            "enddate": course["enddate"],
            "maxbytes": 0,
            "showreports": 0,
            "visible": course["visible"],
            "groupmode": 0,
            "groupmodeforce": 0,
            "defaultgroupingid": 0,
            "enablecompletion": course["enablecompletion"],
            "completionnotify": 0,
            "lang": "",
            "theme": "",
            "marker": 0,
            "legacyfiles": 0,
            "calendartype": "",
            "timecreated": course["timecreated"],
            "timemodified": course["timemodified"],
            "requested": 0,
            "cacherev": cache_rev(data),
            "filters": [{"filter": name, "localstate": 0, "inheritedstate": 1} for name in _FILTERS],
            "courseformatoptions": format_options(course),
        }
    )
    return record


def fail(errorcode: str | None, message: str, exception_class: str) -> MoodleException:
    return MoodleException(errorcode, message, exception_class)


def user_identity(user: Record) -> Record:
    """The fields every user answer starts with (user_get_user_details' order); institution and
    idnumber only when set, as Moodle leaves empty optional fields out."""
    record: Record = {
        "id": user["id"],
        "username": user["username"],
        "firstname": user["firstname"],
        "lastname": user["lastname"],
        "fullname": user["fullname"],
        "email": user["email"],
        "department": user["department"],
    }
    for key in ("institution", "idnumber"):
        if user[key]:
            record[key] = user[key]
    return record
