"""Course and category functions (core_course_*)."""

from __future__ import annotations

from typing import Any

from ..dataset import Dataset, Record
from ..errors import invalid_parameter, no_permission
from .common import course_full, course_listing, escape, format_options


def _by_sortorder(data: Dataset) -> list[Record]:
    return sorted(data.courses, key=lambda c: (c["sortorder"], c["id"]))


def _get_courses_record(data: Dataset, course: Record) -> Record:
    site = course["format"] == "site"
    record = {
        "id": course["id"],
        "shortname": course["shortname"],
        "categoryid": course["categoryid"],
        "categorysortorder": course["sortorder"],
        "fullname": course["fullname"],
        "displayname": course["fullname"],
        "idnumber": course["idnumber"],
        "summary": course["summary"],
        "summaryformat": 1,
        "format": course["format"],
        "showgrades": 1,
        "newsitems": course["newsitems"],
        "startdate": course["startdate"],
        "enddate": course["enddate"],
        "numsections": course["numsections"],
        "maxbytes": 0,
        "showreports": 0,
        "visible": course["visible"],
        "groupmode": 0,
        "groupmodeforce": 0,
        "defaultgroupingid": 0,
        "timecreated": course["timecreated"],
        "timemodified": course["timemodified"],
        "enablecompletion": course["enablecompletion"],
        "completionnotify": 0,
        "lang": "",
        "forcetheme": "",
        "courseformatoptions": format_options(course)[:2] if not site else format_options(course),
        "showactivitydates": False,
        "showcompletionconditions": None if site else True,
    }
    if not site:
        record["hiddensections"] = 1
    return record


def get_courses(data: Dataset, caller: int, params: dict[str, Any]) -> list[Record]:
    """No paging; a course the caller cannot view fails the whole call, as on a real site."""
    ids = params["options"].get("ids")
    chosen = [c for c in _by_sortorder(data) if not ids or c["id"] in set(ids)]
    for course in chosen:
        if course["id"] in data.unreadable_course_ids:
            raise no_permission("moodle/course:view")
    return [_get_courses_record(data, c) for c in chosen]


def _matches_search(course: Record, text: str) -> bool:
    words = text.lower().split()
    haystack = " ".join([course["fullname"], course["shortname"], course["idnumber"], course["summary"]]).lower()
    return all(word in haystack for word in words)


def search_courses(data: Dataset, caller: int, params: dict[str, Any]) -> Record:
    name, value = params["criterianame"], params["criteriavalue"]
    if name not in ("search", "modulelist", "blocklist", "tagid"):
        raise invalid_parameter(
            f"Invalid value for criterianame parameter (value: {name}), allowed values are: search, modulelist, blocklist, tagid"
        )
    candidates = [c for c in _by_sortorder(data) if c["format"] != "site"]
    if name == "search":
        found = [c for c in candidates if _matches_search(c, value)]
    elif name == "modulelist":
        found = [c for c in candidates if any(m["modname"] == value for m in data.modules_of_course(c["id"]))]
    else:
        found = []
    page, perpage = max(params["page"], 0), max(params["perpage"], 0)
    window = found if perpage == 0 else found[page * perpage : (page + 1) * perpage]
    return {"total": len(found), "courses": [course_listing(data, c) for c in window], "warnings": []}


_CATEGORY_KEYS = {"id", "ids", "name", "parent", "idnumber", "visible", "theme"}


def get_categories(data: Dataset, caller: int, params: dict[str, Any]) -> list[Record]:
    rows = sorted(data.categories, key=lambda c: c["sortorder"])
    for criterion in params["criteria"]:
        key, value = criterion["key"], criterion["value"]
        if key not in _CATEGORY_KEYS:
            raise invalid_parameter(f"The key ({key}) is not valid")
        if key == "ids":
            wanted = {int(v) for v in value.split(",") if v.strip().isdigit()}
            rows = [c for c in rows if c["id"] in wanted]
        elif key in ("id", "parent", "visible"):
            rows = [c for c in rows if str(c[key]) == value.strip()]
        else:
            rows = [c for c in rows if (c[key] or "") == value]
    if params["addsubcategories"] and params["criteria"]:
        chosen = {c["id"] for c in rows}
        grown = True
        while grown:
            extra = {c["id"] for c in data.categories if c["parent"] in chosen} - chosen
            chosen |= extra
            grown = bool(extra)
        rows = [c for c in sorted(data.categories, key=lambda c: c["sortorder"]) if c["id"] in chosen]
    return [dict(c, name=escape(c["name"]), description=c["description"]) for c in rows]


_BY_FIELD = {"", "id", "ids", "shortname", "idnumber", "category", "sectionid"}


def get_courses_by_field(data: Dataset, caller: int, params: dict[str, Any]) -> Record:
    """A listing: courses the caller cannot enter are still shown."""
    field, value = params["field"], params["value"]
    if field not in _BY_FIELD:
        raise invalid_parameter(f"Invalid field name {field}")
    courses = sorted(data.courses, key=lambda c: c["id"])
    text = str(value)
    if field == "id":
        courses = [c for c in courses if str(c["id"]) == text]
    elif field == "ids":
        wanted = {int(v) for v in text.split(",") if v.strip().isdigit()}
        courses = [c for c in courses if c["id"] in wanted]
    elif field == "shortname":
        courses = [c for c in courses if c["shortname"] == text]
    elif field == "idnumber":
        courses = [c for c in courses if c["idnumber"] == text]
    elif field == "category":
        courses = [c for c in courses if str(c["categoryid"]) == text]
    elif field == "sectionid":
        owners = {s["courseid"] for s in data.sections if str(s["id"]) == text}
        courses = [c for c in courses if c["id"] in owners]
    records = []
    for course in courses:
        record = course_full(data, course)
        if course["format"] == "site":
            record.pop("courseformatoptions")
        records.append(record)
    return {"courses": records, "warnings": []}


HANDLERS = {
    "core_course_get_courses": get_courses,
    "core_course_search_courses": search_courses,
    "core_course_get_categories": get_categories,
    "core_course_get_courses_by_field": get_courses_by_field,
}
