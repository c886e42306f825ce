"""core_calendar_get_calendar_events."""

from __future__ import annotations

from typing import Any

from ..dataset import ADMIN_ID, Dataset, Record

_COURSE_TYPES = {"course", "due", "open", "close", "gradingdue"}


def get_calendar_events(data: Dataset, caller: int, params: dict[str, Any]) -> Record:
    """Selectors as on a real site: course events only for listed courses (default: the
    caller's own), group events only for listed groups inside those courses, user events only
    the caller's own, and ``eventids`` OR-ed on top. ``timestart``/``timeend`` 0 = unbounded."""
    events, options = params["events"], params["options"]
    own_courses = {e["courseid"] for e in data.enrolments_of_user(caller)}
    courses = set(events["courseids"]) or own_courses
    if caller != ADMIN_ID:
        courses &= own_courses | ({c["id"] for c in data.courses} if caller == data.service_user_id else set())
    groups = set(events["groupids"]) or {g["id"] for g in data.groups_of_user(caller)}
    start, end = options["timestart"], options["timeend"]
    # The recorded service account got course events but no site events.
    site_events = options["siteevents"] and caller != data.service_user_id

    def selected(event: Record) -> bool:
        kind = event["eventtype"]
        if kind == "site":
            return site_events
        if kind == "user":
            return options["userevents"] and event["userid"] == caller
        if kind == "group":
            return event["groupid"] in groups and event["courseid"] in courses
        if kind in _COURSE_TYPES:
            return event["courseid"] in courses
        return False

    def in_window(event: Record) -> bool:
        if start and event["timestart"] + event["timeduration"] < start:
            return False
        return not (end and event["timestart"] > end)

    chosen = {e["id"]: dict(e) for e in data.events if selected(e) and in_window(e)}
    wanted = set(events["eventids"])
    for event in data.events:
        if (
            event["id"] in wanted
            and event["id"] not in chosen
            and (caller == ADMIN_ID or event["eventtype"] != "user" or event["userid"] == caller)
        ):
            chosen[event["id"]] = _database_row(event)
    ordered = sorted(chosen.values(), key=lambda e: (e["timestart"], e["id"]))
    return {"events": ordered, "warnings": []}


def _database_row(event: Record) -> Record:
    """An event picked only by ``eventids`` comes back as its raw ``event`` table row, not
    through the calendar's event objects: 0 and "" where those have null, plus ``uuid``."""
    row: Record = {}
    for key, value in event.items():
        if key == "sequence":
            row["uuid"] = ""  # in the table's column order
        if key in ("categoryid", "groupid", "repeatid", "instance") and value is None:
            value = 0
        elif key == "modulename" and value is None:
            value = ""
        row[key] = value
    return row


HANDLERS = {"core_calendar_get_calendar_events": get_calendar_events}
