"""Forums (mod_forum_*)."""

from __future__ import annotations

from typing import Any

from ..dataset import Dataset, Record
from ..errors import MoodleException
from .common import escape, picture_urls, readable_course


def _forum_record(data: Dataset, f: Record) -> Record:
    return {
        "id": f["id"],
        "course": f["course"],
        "type": f["type"],
        "name": escape(f["name"]),
        "intro": f["intro"],
        "introformat": 1,
        "introfiles": [],
        "lang": "",
        "duedate": 0,
        "cutoffdate": 0,
        "assessed": 0,
        "assesstimestart": 0,
        "assesstimefinish": 0,
        "scale": 0,
        "grade_forum": 0,
        "grade_forum_notify": 0,
        "maxbytes": 0,
        "maxattachments": 1,
        "forcesubscribe": 0,
        "trackingtype": 1,
        "rsstype": 0,
        "rssarticles": 0,
        "timemodified": f["timemodified"],
        "warnafter": 0,
        "blockafter": 0,
        "blockperiod": 0,
        "completiondiscussions": 0,
        "completionreplies": 0,
        "completionposts": 0,
        "cmid": f["cmid"],
        "numdiscussions": sum(1 for d in data.discussions if d["forum"] == f["id"]),
        "cancreatediscussions": True,
        "lockdiscussionafter": 0,
        "istracked": False,
    }


def get_forums_by_courses(data: Dataset, caller: int, params: dict[str, Any]) -> list[Record]:
    wanted = params["courseids"] or sorted({e["courseid"] for e in data.enrolments_of_user(caller)})
    chosen = set(wanted)
    return [_forum_record(data, f) for f in data.forums if f["course"] in chosen]


# sortorder values of mod_forum's discussion list vault
# mod_forum's discussion_list vault: 1/2 last post desc/asc, 3/4 created desc/asc,
# 5/6 replies desc/asc; -1 (default) is last post, newest first. (key, descending)
_SORTS = {
    -1: ("timemodified", True),
    1: ("timemodified", True),
    2: ("timemodified", False),
    3: ("created", True),
    4: ("created", False),
    5: ("numreplies", True),
    6: ("numreplies", False),
}


def get_forum_discussions(data: Dataset, caller: int, params: dict[str, Any]) -> Record:
    """Pinned first, then by last post (default); ``perpage`` 0 = all; no total count."""
    forum = data.forum(params["forumid"])
    if forum is None:
        message = f"Unable to find forum with id {params['forumid']}"
        raise MoodleException(message, f"error/{message}")
    readable_course(data, forum["course"], "mod/forum:viewdiscussion")
    key, descending = _SORTS.get(params["sortorder"], _SORTS[-1])
    rows = [d for d in data.discussions if d["forum"] == forum["id"]]
    if params["groupid"]:
        rows = [d for d in rows if d["groupid"] in (-1, params["groupid"])]
    rows.sort(key=lambda d: (d[key], d["discussion"]), reverse=descending)
    rows.sort(key=lambda d: not d["pinned"])
    page, perpage = params["page"], params["perpage"]
    if perpage > 0:
        start = max(page, 0) * perpage
        rows = rows[start : start + perpage]
    pictures = picture_urls(data)
    records = []
    for d in rows:
        author, modifier = data.user(d["userid"]) or {}, data.user(d["usermodified"]) or {}
        records.append(
            {
                "id": d["id"],
                "name": d["name"],
                "groupid": d["groupid"],
                "timemodified": d["timemodified"],
                "usermodified": d["usermodified"],
                "timestart": 0,
                "timeend": 0,
                "discussion": d["discussion"],
                "parent": 0,
                "userid": d["userid"],
                "created": d["created"],
                "modified": d["created"],
                "mailed": 0,
                "subject": d["name"],
                "message": d["message"],
                "messageformat": 1,
                "messagetrust": 0,
                "attachment": False,
                "totalscore": 0,
                "mailnow": 0,
                "userfullname": author.get("fullname", ""),
                "usermodifiedfullname": modifier.get("fullname", ""),
                "userpictureurl": pictures["profileimageurlsmall"],
                "usermodifiedpictureurl": pictures["profileimageurlsmall"],
                "numreplies": d["numreplies"],
                "numunread": 0,
                "pinned": d["pinned"],
                "locked": False,
                "starred": False,
                "canreply": True,
                "canlock": True,
                "canfavourite": True,
            }
        )
    return {"discussions": records, "warnings": []}


HANDLERS = {
    "mod_forum_get_forums_by_courses": get_forums_by_courses,
    "mod_forum_get_forum_discussions": get_forum_discussions,
}
