"""The demo site's tables (:class:`Dataset`) and what a generated site looks like (:class:`DemoConfig`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..releases import release_of

Record = dict[str, Any]
DAY = 86400


@dataclass(frozen=True)
class DemoConfig:
    """What the generated site looks like; equal configs give equal datasets."""

    seed: int = 7
    scale: float = 1.0
    now: int | None = None  # unix seconds; None = the project clock (moodle_assets.clock)
    moodle_version: str = "4.5"  # the release the site answers as: "4.5" or "5.0" (demo/releases.py)
    release: str = ""  # site info's release and version; "" = those of moodle_version
    version: str = ""
    badges_enabled: bool = True
    competencies_enabled: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "release", self.release or release_of(self).release)
        object.__setattr__(self, "version", self.version or release_of(self).version)


@dataclass
class Dataset:
    """Every table of the demo site, as lists of dicts (ids are 1-based, as in Moodle)."""

    config: DemoConfig
    now: int
    categories: list[Record] = field(default_factory=list)
    courses: list[Record] = field(default_factory=list)
    users: list[Record] = field(default_factory=list)
    enrolments: list[Record] = field(default_factory=list)
    enrol_instances: list[Record] = field(default_factory=list)
    groups: list[Record] = field(default_factory=list)
    group_members: list[Record] = field(default_factory=list)
    sections: list[Record] = field(default_factory=list)
    modules: list[Record] = field(default_factory=list)
    assignments: list[Record] = field(default_factory=list)
    submissions: list[Record] = field(default_factory=list)
    assign_grades: list[Record] = field(default_factory=list)
    quizzes: list[Record] = field(default_factory=list)
    quiz_attempts: list[Record] = field(default_factory=list)
    activity_completion: list[Record] = field(default_factory=list)
    course_completion: list[Record] = field(default_factory=list)
    grade_items: list[Record] = field(default_factory=list)
    grades: list[Record] = field(default_factory=list)
    forums: list[Record] = field(default_factory=list)
    discussions: list[Record] = field(default_factory=list)
    events: list[Record] = field(default_factory=list)
    badges: list[Record] = field(default_factory=list)
    issued_badges: list[Record] = field(default_factory=list)
    competency_frameworks: list[Record] = field(default_factory=list)
    competencies: list[Record] = field(default_factory=list)
    course_competencies: list[Record] = field(default_factory=list)
    user_competency_course: list[Record] = field(default_factory=list)
    plans: list[Record] = field(default_factory=list)
    unreadable_course_ids: set[int] = field(default_factory=set)
    # Users no caller may see in participant lists: core_enrol_get_enrolled_users drops them
    # *after* applying limitfrom/limitnumber, which is why some pages come back short.
    hidden_user_ids: set[int] = field(default_factory=set)
    # A teacher for whom report_competency_data_for_report fails with a PHP error, as on 4.5.
    competency_report_broken_user_ids: set[int] = field(default_factory=set)
    service_user_id: int = 0
    _index: dict[str, dict[Any, Any]] = field(default_factory=dict, repr=False)

    # ---------------------------------------------------------------- look-ups

    def _by(self, table: str, key: str) -> dict[Any, Record]:
        name = f"{table}.{key}"
        if name not in self._index:
            self._index[name] = {row[key]: row for row in getattr(self, table)}
        return self._index[name]

    def _group(self, table: str, key: str) -> dict[Any, list[Record]]:
        name = f"{table}[{key}]"
        if name not in self._index:
            grouped: dict[Any, list[Record]] = {}
            for row in getattr(self, table):
                grouped.setdefault(row[key], []).append(row)
            self._index[name] = grouped
        return self._index[name]

    def course(self, course_id: int) -> Record | None:
        return self._by("courses", "id").get(course_id)

    def user(self, user_id: int) -> Record | None:
        return self._by("users", "id").get(user_id)

    def category(self, category_id: int) -> Record | None:
        return self._by("categories", "id").get(category_id)

    def enrolments_of_course(self, course_id: int) -> list[Record]:
        return self._group("enrolments", "courseid").get(course_id, [])

    def enrolments_of_user(self, user_id: int) -> list[Record]:
        return self._group("enrolments", "userid").get(user_id, [])

    def enrolment(self, course_id: int, user_id: int) -> Record | None:
        return next((row for row in self.enrolments_of_user(user_id) if row["courseid"] == course_id), None)

    def groups_of_course(self, course_id: int) -> list[Record]:
        return self._group("groups", "courseid").get(course_id, [])

    def group(self, group_id: int) -> Record | None:
        return self._by("groups", "id").get(group_id)

    def members_of_group(self, group_id: int) -> list[int]:
        return [row["userid"] for row in self._group("group_members", "groupid").get(group_id, [])]

    def groups_of_user(self, user_id: int) -> list[Record]:
        ids = {row["groupid"] for row in self._group("group_members", "userid").get(user_id, [])}
        return [g for g in self.groups if g["id"] in ids]

    def modules_of_course(self, course_id: int) -> list[Record]:
        return self._group("modules", "courseid").get(course_id, [])

    def module(self, cmid: int) -> Record | None:
        return self._by("modules", "id").get(cmid)

    def sections_of_course(self, course_id: int) -> list[Record]:
        return self._group("sections", "courseid").get(course_id, [])

    def assignment(self, assign_id: int) -> Record | None:
        return self._by("assignments", "id").get(assign_id)

    def quiz(self, quiz_id: int) -> Record | None:
        return self._by("quizzes", "id").get(quiz_id)

    def forum(self, forum_id: int) -> Record | None:
        return self._by("forums", "id").get(forum_id)

    def teachers_of(self, course_id: int) -> list[Record]:
        return [e for e in self.enrolments_of_course(course_id) if e["role"] == "editingteacher"]
