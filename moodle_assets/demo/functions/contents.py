"""core_course_get_contents and core_course_get_updates_since: what is inside a course."""

from __future__ import annotations

import json
from typing import Any

from ..dataset import Dataset, Record
from .common import cache_rev, escape, readable_course, site_url

_PLURAL = {
    "label": "Text and media areas",
    "page": "Pages",
    "url": "URLs",
    "forum": "Forums",
    "assign": "Assignments",
    "quiz": "Quizzes",
    "qbank": "Question banks",
}
_PURPOSE = {
    "label": "content",
    "page": "content",
    "url": "content",
    "forum": "collaboration",
    "assign": "assessment",
    "quiz": "assessment",
    "qbank": "content",
}


def completion_rules(module: Record) -> list[Record]:
    """The automatic completion rules of a module, as ``details`` lists them."""
    if module["completion"] != 2:
        return []
    if module["modname"] == "page":
        return [("completionview", "View")]  # type: ignore[list-item]
    if module["modname"] == "assign":
        return [("completionsubmit", "Make a submission")]  # type: ignore[list-item]
    if module["modname"] == "quiz":
        return [("completionusegrade", "Receive a grade")]  # type: ignore[list-item]
    return []


def completion_state(data: Dataset, module: Record, user_id: int) -> Record | None:
    for row in data.activity_completion:
        if row["cmid"] == module["id"] and row["userid"] == user_id:
            return row
    return None


def completion_data(data: Dataset, module: Record, user_id: int, tracked: bool) -> Record:
    row = completion_state(data, module, user_id) if tracked else None
    state = row["state"] if row else 0
    return {
        "state": state,
        "timecompleted": row["timecompleted"] if row else 0,
        # a teacher's override (completion_info::update_state with $override) names them
        "overrideby": row.get("overrideby") if row else None,
        "valueused": False,
        "hascompletion": True,
        "isautomatic": module["completion"] == 2,
        "istrackeduser": tracked,
        "uservisible": True,
        "details": [
            {"rulename": name, "rulevalue": {"status": state, "description": text}}
            for name, text in completion_rules(module)
        ],
        "isoverallcomplete": bool(state),
    }


def _customdata(data: Dataset, module: Record) -> str:
    if module["modname"] == "url":
        return json.dumps({"display": 4, "filtericon": True}, separators=(",", ":"))
    if module["modname"] == "forum":
        return '{"trackingtype":"1"}'
    if module["modname"] == "assign":
        a = data.assignment(module["instance"]) or {}
        return json.dumps(
            {
                "customcompletionrules": {"completionsubmit": "1"},
                "duedate": a.get("duedate"),
                "allowsubmissionsfromdate": str(a.get("allowsubmissionsfromdate")),
            },
            separators=(",", ":"),
        )
    if module["modname"] == "quiz":
        q = data.quiz(module["instance"]) or {}
        return json.dumps(
            {
                "customcompletionrules": {"completionpassorattemptsexhausted": [], "completionminattempts": "0"},
                "timeopen": str(q.get("timeopen")),
                "timeclose": str(q.get("timeclose")),
            },
            separators=(",", ":"),
        )
    return '""'


def _dates(data: Dataset, module: Record) -> list[Record]:
    if module["modname"] == "assign":
        a = data.assignment(module["instance"]) or {}
        return [
            {"label": "Opened:", "timestamp": a["allowsubmissionsfromdate"], "dataid": "allowsubmissionsfromdate"},
            {"label": "Due:", "timestamp": a["duedate"], "dataid": "duedate"},
        ]
    if module["modname"] == "quiz":
        q = data.quiz(module["instance"]) or {}
        return [
            {"label": "Opened:", "timestamp": q["timeopen"], "dataid": "timeopen"},
            {"label": "Closes:", "timestamp": q["timeclose"], "dataid": "timeclose"},
        ]
    return []


def module_record(data: Dataset, module: Record, course: Record, caller: int, with_contents: bool) -> Record:
    base = site_url()
    contextid = 275 + module["id"]
    record: Record = {"id": module["id"]}
    if module["modname"] != "label":
        record["url"] = f"{base}/mod/{module['modname']}/view.php?id={module['id']}"
    record.update({"name": escape(module["name"]), "instance": module["instance"], "contextid": contextid})
    if module["modname"] == "label":
        record["description"] = f'<div class="no-overflow"><p>{module["name"]}</p></div>'
    elif module.get("description"):  # Moodle 5.0's question bank
        record["description"] = module["description"]
    record.update(
        {
            "visible": module["visible"],
            "uservisible": True,
            "visibleoncoursepage": 1,
            "modicon": f"{base}/theme/image.php/boost/{module['modname']}/{cache_rev(data)}/monologo?filtericon=1",
            "modname": module["modname"],
            "purpose": _PURPOSE[module["modname"]],
            "branded": False,
            "modplural": _PLURAL[module["modname"]],
            "availability": None,
            "indent": 0,
            "onclick": "",
            "afterlink": None,
        }
    )
    if module["modname"] == "forum":
        record["activitybadge"] = []
    record.update(
        {
            "customdata": _customdata(data, module),
            "noviewlink": module["modname"] == "label",
            "completion": module["completion"],
        }
    )
    if module["completion"]:
        tracked = data.enrolment(course["id"], caller) is not None
        record["completiondata"] = completion_data(data, module, caller, tracked)
    record.update({"downloadcontent": 1, "dates": _dates(data, module), "groupmode": 0})
    if module["modname"] in ("page", "url"):
        if module["modname"] == "page":
            item = {
                "type": "file",
                "filename": "index.html",
                "filepath": "/",
                "filesize": 0,
                "fileurl": f"{base}/webservice/pluginfile.php/{contextid}/mod_page/content/index.html?forcedownload=1",
                "sortorder": 1,
            }
        else:
            item = {
                "type": "url",
                "filename": module["name"],
                "filepath": None,
                "filesize": 0,
                "fileurl": f"https://example.org/reading/{course['shortname']}",
                "sortorder": None,
            }
        item.update(
            {"timecreated": None, "timemodified": module["added"], "userid": None, "author": None, "license": None}
        )
        record["contents"] = [item] if with_contents else []  # excludecontents empties the list, keeps the key
        record["contentsinfo"] = {
            "filescount": 1,
            "filessize": 0,
            "lastmodified": module["added"],
            "mimetypes": [],
            "repositorytype": "",
        }
    return record


def get_contents(data: Dataset, caller: int, params: dict[str, Any]) -> list[Record]:
    course = readable_course(data, params["courseid"])
    options = {o["name"]: o["value"] for o in params["options"]}
    exclude_modules = options.get("excludemodules", "0") not in ("0", "")
    with_contents = options.get("excludecontents", "0") in ("0", "")
    sections = data.sections_of_course(course["id"])
    if "sectionid" in options:
        sections = [s for s in sections if str(s["id"]) == options["sectionid"]]
    if "sectionnumber" in options:
        sections = [s for s in sections if str(s["section"]) == options["sectionnumber"]]
    result = []
    for section in sections:
        modules = [m for m in data.modules_of_course(course["id"]) if m["section"] == section["section"]]
        if "cmid" in options:
            modules = [m for m in modules if str(m["id"]) == options["cmid"]]
        if "modname" in options:
            modules = [m for m in modules if m["modname"] == options["modname"]]
        result.append(
            {
                "id": section["id"],
                "name": section["name"],
                "visible": section["visible"],
                "summary": section["summary"],
                "summaryformat": 1,
                "section": section["section"],
                "hiddenbynumsections": 0,
                "uservisible": True,
                "component": None,
                "itemid": None,
                "modules": []
                if exclude_modules
                else [module_record(data, m, course, caller, with_contents) for m in modules],
            }
        )
    return result


def get_updates_since(data: Dataset, caller: int, params: dict[str, Any]) -> Record:
    """Modules changed since a time: here, those with completion, grades or posts after it."""
    course = readable_course(data, params["courseid"])
    since = params["since"]
    instances = []
    for module in data.modules_of_course(course["id"]):
        updates = []
        if module["added"] > since:
            updates.append({"name": "configuration", "timeupdated": module["added"], "itemids": []})
        if module["modname"] == "assign":
            subs = [s for s in data.submissions if s["assignment"] == module["instance"] and s["timemodified"] > since]
            if subs:
                updates.append(
                    {
                        "name": "submissions",
                        "timeupdated": max(s["timemodified"] for s in subs),
                        "itemids": [s["id"] for s in subs],
                    }
                )
        if module["modname"] == "quiz":
            tries = [a for a in data.quiz_attempts if a["quiz"] == module["instance"] and a["timemodified"] > since]
            if tries:
                updates.append(
                    {
                        "name": "attempts",
                        "timeupdated": max(a["timemodified"] for a in tries),
                        "itemids": [a["id"] for a in tries],
                    }
                )
        if updates:
            instances.append({"contextlevel": "module", "id": module["id"], "updates": updates})
    return {"instances": instances, "warnings": []}


HANDLERS = {"core_course_get_contents": get_contents, "core_course_get_updates_since": get_updates_since}
