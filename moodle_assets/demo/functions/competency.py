"""Competencies (core_competency_list_course_competencies, report_competency_data_for_report)."""

from __future__ import annotations

import base64
from typing import Any

from ..dataset import Dataset, Record
from ..errors import MoodleException, invalid_parameter, missing_record
from .common import escape, picture_urls, readable_course, require_user, site_url

_SCALE = ["Not yet", "Developing", "Competent", "Expert"]
_SCALE_CONFIG = (
    '[{"scaleid":"3"},{"id":1,"scaledefault":1,"proficient":0},{"id":2,"scaledefault":0,"proficient":0},'
    '{"id":3,"scaledefault":0,"proficient":1},{"id":4,"scaledefault":0,"proficient":1}]'
)


def _enabled(data: Dataset) -> None:
    if not data.config.competencies_enabled:
        raise MoodleException(
            "competenciesarenotenabled", "Competencies are not enabled", "core_competency\\invalid_persistent_exception"
        )


def _competency(c: Record) -> Record:
    return {
        "shortname": c["shortname"],
        "idnumber": c["idnumber"],
        "description": c["description"],
        "descriptionformat": 1,
        "sortorder": c["sortorder"],
        "parentid": c["parentid"],
        "path": c["path"],
        "ruleoutcome": 0,
        "ruletype": None,
        "ruleconfig": None,
        "scaleid": None,
        "scaleconfiguration": None,
        "competencyframeworkid": c["competencyframeworkid"],
        "id": c["id"],
        "timecreated": c["timecreated"],
        "timemodified": c["timecreated"],
        "usermodified": 2,
    }


def list_course_competencies(data: Dataset, caller: int, params: dict[str, Any]) -> list[Record]:
    _enabled(data)
    course = readable_course(data, params["id"], "moodle/competency:coursecompetencyview")
    by_id = {c["id"]: c for c in data.competencies}
    links = sorted((c for c in data.course_competencies if c["courseid"] == course["id"]), key=lambda c: c["sortorder"])
    return [
        {
            "competency": _competency(by_id[link["competencyid"]]),
            "coursecompetency": {
                "courseid": link["courseid"],
                "competencyid": link["competencyid"],
                "sortorder": link["sortorder"],
                "ruleoutcome": link["ruleoutcome"],
                "id": link["id"],
                "timecreated": link["timecreated"],
                "timemodified": link["timecreated"],
                "usermodified": 2,
            },
        }
        for link in links
    ]


def _framework(data: Dataset) -> Record:
    f = data.competency_frameworks[0]
    return {
        "shortname": f["shortname"],
        "idnumber": f["idnumber"],
        "description": f["description"],
        "descriptionformat": 1,
        "visible": True,
        "scaleid": f["scaleid"],
        "scaleconfiguration": _SCALE_CONFIG,
        "contextid": 1,
        "taxonomies": "",
        "id": f["id"],
        "timecreated": f["timecreated"],
        "timemodified": f["timecreated"],
        "usermodified": 2,
        "canmanage": True,
        "competenciescount": len(data.competencies),
        "contextname": "System",
        "contextnamenoprefix": "System",
    }


def _ancestors(competency: Record, by_id: dict[int, Record]) -> list[Record]:
    """The competency's parents from the top of its path; each is named by its idnumber."""
    ids = [int(part) for part in competency["path"].strip("/").split("/") if part and part != "0"]
    return [
        {"id": i, "name": by_id[i]["idnumber"], "first": n == 0, "last": n == len(ids) - 1, "position": n + 1}
        for n, i in enumerate(ids)
        if i in by_id
    ]


def data_for_report(data: Dataset, caller: int, params: dict[str, Any]) -> Record:
    """Every competency of the course with the user's in-course rating.

    For one teacher of the big course it fails the way Moodle 4.5 does: a PHP error whose
    envelope has no error code.
    """
    _enabled(data)
    course = readable_course(data, params["courseid"], "moodle/competency:coursecompetencyview")
    user = require_user(data, params["userid"])
    if user["id"] in data.competency_report_broken_user_ids:
        raise MoodleException(None, 'Class "report_competency\\coding_exception" not found', "Error")
    if params["moduleid"] and (data.module(params["moduleid"]) or {}).get("courseid") != course["id"]:
        raise missing_record("course_modules", params["moduleid"])
    by_id = {c["id"]: c for c in data.competencies}
    ratings = {
        (r["competencyid"]): r
        for r in data.user_competency_course
        if r["userid"] == user["id"] and r["courseid"] == course["id"]
    }
    category = data.category(course["categoryid"])
    svg = base64.b64encode(b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>').decode()
    entries = []
    for link in sorted(
        (c for c in data.course_competencies if c["courseid"] == course["id"]), key=lambda c: c["sortorder"]
    ):
        rating = ratings.get(link["competencyid"])
        grade = rating["grade"] if rating else None
        proficiency = None if rating is None or rating["proficiency"] is None else bool(rating["proficiency"])
        competency = by_id[link["competencyid"]]
        entries.append(
            {
                "usercompetencycourse": {
                    "userid": user["id"],
                    "courseid": course["id"],
                    "competencyid": link["competencyid"],
                    "proficiency": proficiency,
                    "grade": grade,
                    "id": rating["id"] if rating else 0,
                    "timecreated": rating["timecreated"] if rating else data.now,
                    "timemodified": rating["timecreated"] if rating else data.now,
                    "usermodified": 2,
                    "gradename": _SCALE[grade - 1] if grade else "-",
                    "proficiencyname": "Yes" if proficiency else "No",
                },
                "competency": {
                    "linkedcourses": [],
                    "relatedcompetencies": [],
                    "competency": _competency(competency),
                    "framework": _framework(data),
                    "hascourses": False,
                    "hasrelatedcompetencies": False,
                    "scaleid": 3,
                    "scaleconfiguration": _SCALE_CONFIG,
                    "taxonomyterm": "Competency",
                    "comppath": {
                        "ancestors": _ancestors(competency, by_id),
                        "framework": {
                            "id": 1,
                            "name": data.competency_frameworks[0]["shortname"],
                            "first": False,
                            "last": False,
                            "position": -1,
                        },
                        "pluginbaseurl": f"{site_url()}/admin/tool/lp",
                        "pagecontextid": 1,
                        "showlinks": True,
                    },
                    "pluginbaseurl": f"{site_url()}/admin/tool/lp",
                },
            }
        )
    pictures = picture_urls(data)
    return {
        "courseid": course["id"],
        "user": {
            "id": user["id"],
            "email": user["email"],
            "idnumber": user["idnumber"],
            "phone1": "",
            "phone2": "",
            "department": user["department"],
            "institution": user["institution"],
            "fullname": user["fullname"],
            "identity": user["email"],
            "profileurl": f"{site_url()}/user/profile.php?id={user['id']}",
            "profileimageurl": pictures["profileimageurl"],
            "profileimageurlsmall": pictures["profileimageurlsmall"],
        },
        "course": {
            "id": course["id"],
            "fullname": course["fullname"],
            "shortname": course["shortname"],
            "idnumber": course["idnumber"],
            "summary": course["summary"],
            "summaryformat": 1,
            "startdate": course["startdate"],
            "enddate": course["enddate"],
            "visible": bool(course["visible"]),
            "showactivitydates": False,
            "showcompletionconditions": True,
            "pdfexportfont": "",
            "fullnamedisplay": course["fullname"],
            "viewurl": f"{site_url()}/course/view.php?id={course['id']}",
            "courseimage": f"data:image/svg+xml;base64,{svg}",
            "progress": 0,
            "hasprogress": False,
            "isfavourite": False,
            "hidden": False,
            "showshortname": False,
            "coursecategory": escape(category["name"]) if category else "",
        },
        "usercompetencies": entries,
        "pushratingstouserplans": True,
    }


def read_competency_framework(data: Dataset, caller: int, params: dict[str, Any]) -> Record:
    _enabled(data)
    if not any(f["id"] == params["id"] for f in data.competency_frameworks):
        raise missing_record("competency_framework", params["id"])
    return _framework(data)


def list_competencies(data: Dataset, caller: int, params: dict[str, Any]) -> list[Record]:
    """Competencies whose columns equal every filter, in id order (or ``sort``/``order``),
    then ``skip`` and ``limit``."""
    _enabled(data)
    rows = [_competency(c) for c in data.competencies]
    for condition in params["filters"]:
        column, value = condition["column"], condition["value"]
        if column not in _COMPETENCY_COLUMNS:
            raise invalid_parameter(f"Invalid filter column: {column}")
        rows = [r for r in rows if str(r[column]) == value]
    if params["sort"]:
        if params["sort"] not in _COMPETENCY_COLUMNS:
            raise invalid_parameter(f"Invalid sort column: {params['sort']}")
        rows.sort(
            key=lambda r: (r[params["sort"]] is None, r[params["sort"]]), reverse=params["order"].upper() == "DESC"
        )
    rows = rows[params["skip"] :]
    return rows[: params["limit"]] if params["limit"] > 0 else rows


_COMPETENCY_COLUMNS = {
    "id",
    "shortname",
    "idnumber",
    "description",
    "descriptionformat",
    "sortorder",
    "parentid",
    "path",
    "ruleoutcome",
    "ruletype",
    "ruleconfig",
    "scaleid",
    "scaleconfiguration",
    "competencyframeworkid",
    "timecreated",
    "timemodified",
    "usermodified",
}


HANDLERS = {
    "core_competency_list_course_competencies": list_course_competencies,
    "report_competency_data_for_report": data_for_report,
    "core_competency_read_competency_framework": read_competency_framework,
    "core_competency_list_competencies": list_competencies,
}
