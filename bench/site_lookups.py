"""Indexed look-ups for the benchmark's demo site, so its own CPU per call does not grow with the site.

The site model (bench/common.py ``SiteModel``) says a call costs 32-40 ms of a PHP worker,
whatever the site's size, as on a real Moodle whose tables are indexed. The emulator's
handlers add their own Python CPU inside that slot, and three of them scan a whole table
per call:

* ``core_completion_get_activities_completion_status``: ``completion_state`` walks every
  activity completion row for each module of the course (5 ms a call at 10x, ~33 ms at
  100x, where the rows number ~330,000);
* ``mod_quiz_get_user_attempts``: every quiz attempt (0.4 ms at 10x, 2 ms at 100x);
* ``gradereport_user_get_grade_items`` (and the grades overview): ``grades._grade`` walks every
  grade and ``grades._submitted`` every submission or attempt, for each user and item of the
  course (~0.5 s of the site's one interpreter per course at 10x, ~60 s over a harvest, when
  the modelled worker's slot is 36 ms);
* ``core_enrol_get_enrolled_users``: ``Dataset.groups_of_user`` walks every group for each
  user of the page; and every page of a course builds and sorts the course's whole list of
  users before cutting the page (~70 ms of the site's one interpreter per page of the 22,600
  students of the 100x site's biggest course, where Moodle's SQL LIMIT reads one page: the
  site served 14.5 of those pages a second against 44 of a small course's).

At 100x that would make the emulator, not the modelled workers, the bound of the fan-out
chain (its ~55,000 completion calls alone ~30 minutes of the site's one interpreter), and
the chain's calls/s would measure the emulator. :func:`install` replaces these scans, in
the benchmark's site process only, by look-ups that give the same answers: the first row
of a (cmid, userid) for completion, and the same rows in the same order for the other two
(the handler still filters them itself). The dataset's own tables and handlers are not
changed.

An index is kept in ``Dataset._index`` (which every mutation of the demo's simulated day
clears) and is rebuilt when its table is another list or has another length: the demo's
tables are only appended to, or replaced by a filtered copy, never edited in their keys.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from moodle_assets.demo.dataset import Dataset, Record
from moodle_assets.demo.functions import REGISTRY, contents, grades

_ATTEMPTS = "mod_quiz_get_user_attempts"
_ENROLLED = "core_enrol_get_enrolled_users"
_PAGING_OPTIONS = frozenset({"limitfrom", "limitnumber", "userfields"})
# One key per table (an index is cached under the table's name).
KEYS: dict[str, Callable[[Record], Hashable]] = {
    "activity_completion": lambda a: (a["cmid"], a["userid"]),
    "quiz_attempts": lambda a: a["userid"],
    "groups": lambda g: g["id"],
    "grades": lambda g: (g["itemid"], g["userid"]),
    "submissions": lambda s: (s["assignment"], s["userid"]),
}
# A second index of a table, under its own name: (table, key).
SECOND_KEYS: dict[str, tuple[str, Callable[[Record], Hashable]]] = {
    "quiz_attempts_by_quiz": ("quiz_attempts", lambda a: (a["quiz"], a["userid"]))
}


def rows_by(data: Dataset, table: str) -> dict[Hashable, list[tuple[int, Record]]]:
    """The rows of ``table`` grouped by its key (``KEYS``, or a ``SECOND_KEYS`` name) as
    (position, row), in table order; rebuilt when the table changed."""
    source, key = SECOND_KEYS.get(table) or (table, KEYS[table])
    rows = getattr(data, source)
    name = f"bench.rows_by:{table}"
    cached = data._index.get(name)
    if cached is None or cached[0] is not rows or cached[1] != len(rows):
        grouped: dict[Hashable, list[tuple[int, Record]]] = {}
        for position, row in enumerate(rows):
            grouped.setdefault(key(row), []).append((position, row))
        cached = (rows, len(rows), grouped)
        data._index[name] = cached  # type: ignore[assignment]
    return cached[2]


def grade(data: Dataset, item_id: int, user_id: int) -> Record | None:
    """``grades._grade``: the first grade row of the item and user."""
    found = rows_by(data, "grades").get((item_id, user_id))
    return found[0][1] if found else None


def submitted(data: Dataset, item: Record, user_id: int) -> int | None:
    """``grades._submitted``: the user's last submission (or finished attempt) behind the item."""
    if item["itemmodule"] == "assign":
        rows = rows_by(data, "submissions").get((item["iteminstance"], user_id), [])
        times = [s["timemodified"] for _, s in rows if s["status"] == "submitted"]
    elif item["itemmodule"] == "quiz":
        rows = rows_by(data, "quiz_attempts_by_quiz").get((item["iteminstance"], user_id), [])
        times = [a["timefinish"] for _, a in rows if a["state"] == "finished"]
    else:
        times = []
    return max(times) if times else None


def completion_state(data: Dataset, module: Record, user_id: int) -> Record | None:
    """``contents.completion_state``: the first completion row of the module and user."""
    found = rows_by(data, "activity_completion").get((module["id"], user_id))
    return found[0][1] if found else None


class _Attempts:
    """The dataset as the attempts handler sees it, its quiz attempts narrowed to one user's."""

    def __init__(self, data: Dataset, attempts: list[Record]) -> None:
        self._data, self.quiz_attempts = data, attempts

    def __getattr__(self, name: str) -> Any:
        return getattr(self._data, name)


def _user_attempts(handler: Callable[..., Any]) -> Callable[..., Any]:
    def answer(data: Dataset, caller: int, params: dict[str, Any]) -> Any:
        user_id = params.get("userid") or caller
        mine = rows_by(data, "quiz_attempts").get(user_id, [])
        return handler(_Attempts(data, [row for _, row in mine]), caller, params)

    answer.__wrapped__ = handler  # type: ignore[attr-defined]
    return answer


class _Page:
    """The dataset as the enrolled-users handler sees it: the course's enrolments cut to one page."""

    def __init__(self, data: Dataset, course_id: int, page: list[Record]) -> None:
        self._data, self._course_id, self._page = data, course_id, page

    def enrolments_of_course(self, course_id: int) -> list[Record]:
        return self._page if course_id == self._course_id else self._data.enrolments_of_course(course_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._data, name)


def _enrolments_by_user_id(data: Dataset, course_id: int) -> list[Record]:
    """The course's enrolments of existing users in the handler's default order (user id,
    ascending), cached until the enrolments or users change."""
    key = f"bench.enrolled:{course_id}"
    enrolments, users = data.enrolments, data.users
    cached = data._index.get(key)
    if cached is None or cached[0] is not enrolments or cached[1] != (len(enrolments), len(users)):
        rows = [e for e in data.enrolments_of_course(course_id) if data.user(e["userid"]) is not None]
        rows.sort(key=lambda e: e["userid"])
        cached = (enrolments, (len(enrolments), len(users)), rows)
        data._index[key] = cached  # type: ignore[assignment]
    return cached[2]


def _enrolled_pages(handler: Callable[..., Any]) -> Callable[..., Any]:
    """With only paging options (as the project pages), the handler gets the page's enrolments
    and limitfrom 0: its own filters, visibility cut after the page, records and fields apply to
    the same rows in the same order. Any other option goes to the handler as it is."""

    def answer(data: Dataset, caller: int, params: dict[str, Any]) -> Any:
        options = {o["name"]: o["value"] for o in params.get("options") or []}
        if set(options) - _PAGING_OPTIONS or "limitnumber" not in options:
            return handler(data, caller, params)
        try:
            start, limit = max(int(options.get("limitfrom", 0)), 0), int(options["limitnumber"])
            course_id = int(params["courseid"])
        except (TypeError, ValueError):
            return handler(data, caller, params)
        if limit <= 0:
            return handler(data, caller, params)
        page = _enrolments_by_user_id(data, course_id)[start : start + limit]
        rest = [o for o in params["options"] if o["name"] != "limitfrom"]
        return handler(
            _Page(data, course_id, page), caller, {**params, "options": [*rest, {"name": "limitfrom", "value": 0}]}
        )

    answer.__wrapped__ = handler  # type: ignore[attr-defined]
    return answer


def groups_of_user(self: Dataset, user_id: int) -> list[Record]:
    """``Dataset.groups_of_user``: the user's groups, in the order of ``groups``."""
    ids = {row["groupid"] for row in self._group("group_members", "userid").get(user_id, [])}
    if not ids:
        return []
    by_id = rows_by(self, "groups")
    return [row for _, row in sorted(found for i in ids for found in by_id.get(i, []))]


def warm(data: Dataset) -> None:
    """Build every index now (~1 s at 100x), so the first calls of a run do not pay for it."""
    for table in [*KEYS, *SECOND_KEYS]:
        rows_by(data, table)


def install() -> None:
    """Use the look-ups in this process (idempotent)."""
    contents.completion_state = completion_state
    grades._grade, grades._submitted = grade, submitted
    if not hasattr(REGISTRY[_ATTEMPTS], "__wrapped__"):
        REGISTRY[_ATTEMPTS] = _user_attempts(REGISTRY[_ATTEMPTS])
    if not hasattr(REGISTRY[_ENROLLED], "__wrapped__"):
        REGISTRY[_ENROLLED] = _enrolled_pages(REGISTRY[_ENROLLED])
    Dataset.groups_of_user = groups_of_user  # type: ignore[method-assign]
