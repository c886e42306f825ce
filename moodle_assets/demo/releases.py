"""The Moodle releases the demo site can be: 4.5 (the default) and 5.0.

``DemoConfig(moodle_version="5.0")`` (``moodle-assets demo-server --moodle-version 5.0``) makes
the site answer as the recorded Moodle 5.0.6+ does where it differs from 4.5 (see
``tests/fixtures/demo/recordings-5.0/README.md``):

* site info says release ``5.0.6+ (Build: 20260403)``, version ``2025041406.11``, and each
  function's version is its plugin's (``mod_quiz`` 2025041401, ``mod_assign`` 2025041400, ...);
* ``mod_quiz_get_user_quiz_attempts`` exists (the old ``mod_quiz_get_user_attempts`` is
  deprecated and still answers the same);
* "record not found" names no table while debugging is off: ``invalidrecordunknown``, "Can't
  find data record in database.", for an unknown function and an unknown id alike;
* every course has a hidden question bank module (``qbank``) in section 0, created after the
  course's other modules, so the course-module ids of later courses shift by one per course;
* answers carry the 5.0 return structures: ``modules[].candisplay``, ``gradepenalty``,
  ``precreateattempts``, badges with ``coursefullname`` and without the three image-author fields.

Everything here is data or a small transformation of a handler's answer, so the handlers
keep answering as 4.5 and this module holds the whole difference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from moodle_assets.moodle.versions import parse_version

from .errors import MISSING_RECORD, MoodleException

if TYPE_CHECKING:
    from .dataset import Dataset, DemoConfig, Record


@dataclass(frozen=True)
class Release:
    """How a demo site of one Moodle release answers where releases differ."""

    name: str
    release: str  # site info's release
    version: str  # site info's version
    schemas: str  # the release whose function structures validate and clean (moodle.schemas)
    # Site info lists each function with its component's version: name prefix -> version
    # (the core version for the rest).
    plugin_versions: dict[str, str] = field(default_factory=dict)
    question_banks: bool = False
    unnamed_missing_records: bool = False
    answers: dict[str, Callable[[Dataset, Any], Any]] = field(default_factory=dict)

    def function_version(self, function: str, site_version: str) -> str:
        return next((v for prefix, v in self.plugin_versions.items() if function.startswith(prefix)), site_version)

    def shape(self, data: Dataset, function: str, answer: Any) -> Any:
        """A 4.5 handler's answer as this release gives it."""
        adapt = self.answers.get(function)
        return adapt(data, answer) if adapt else answer

    def error(self, error: MoodleException) -> MoodleException:
        """The exception as this release reports it (debugging off; ``debug_*`` keeps the other form)."""
        if not (
            self.unnamed_missing_records
            and error.errorcode == "invalidrecord"
            and error.exception_class == MISSING_RECORD
        ):
            return error
        return MoodleException(
            "invalidrecordunknown",
            "Can't find data record in database.",
            MISSING_RECORD,
            error.debuginfo,
            debug_errorcode=error.errorcode,
            debug_message=error.message,
        )


# ------------------------------------------------------------------ 5.0 answers


def _insert_after(record: Record, after: str, key: str, value: Any) -> Record:
    """``record`` with ``key`` placed right after ``after`` (at the end if ``after`` is absent)."""
    if after not in record:
        return {**record, key: value}
    out: Record = {}
    for name, current in record.items():
        out[name] = current
        if name == after:
            out[key] = value
    return out


def _contents(data: Dataset, sections: Any) -> Any:
    """``candisplay``: whether the module shows on the course page; the hidden bank does not."""
    for section in sections:
        section["modules"] = [
            _insert_after(m, "noviewlink", "candisplay", m["modname"] != "qbank") for m in section["modules"]
        ]
    return sections


def _assignments(data: Dataset, answer: Any) -> Any:
    """``gradepenalty``: 0, grade penalties (new in 5.0) are off."""
    for course in answer["courses"]:
        course["assignments"] = [_insert_after(a, "grade", "gradepenalty", 0) for a in course["assignments"]]
    return answer


def _quizzes(data: Dataset, answer: Any) -> Any:
    """``precreateattempts``: null, the quiz does not override the site's pre-creation setting."""
    answer["quizzes"] = [_insert_after(q, "hasquestions", "precreateattempts", None) for q in answer["quizzes"]]
    return answer


_IMAGE_AUTHOR = ("imageauthorname", "imageauthoremail", "imageauthorurl")


def _badges(data: Dataset, answer: Any) -> Any:
    """No image author any more; ``coursefullname`` (optional) only for a course's badges:
    the recorded site badges leave it out."""
    out = []
    for badge in answer["badges"]:
        course = data.course(badge["courseid"]) if badge.get("courseid") else None
        badge = {k: v for k, v in badge.items() if k not in _IMAGE_AUTHOR}
        out.append(_insert_after(badge, "courseid", "coursefullname", course["fullname"]) if course else badge)
    answer["badges"] = out
    return answer


# ------------------------------------------------------------------ the releases

RELEASES: dict[str, Release] = {
    "4.5": Release("4.5", "4.5 (Build: 20241007)", "2024100700", "4.5"),
    "5.0": Release(
        "5.0",
        "5.0.6+ (Build: 20260403)",
        "2025041406.11",
        "5.0",
        plugin_versions={
            "mod_quiz_": "2025041401",
            "mod_forum_": "2025041401",
            "mod_assign_": "2025041400",
            "gradereport_": "2025041400",
            "report_competency_": "2025041400",
            "tool_lp_": "2025041400",
        },
        question_banks=True,
        unnamed_missing_records=True,
        answers={
            "core_course_get_contents": _contents,
            "mod_assign_get_assignments": _assignments,
            "mod_quiz_get_quizzes_by_courses": _quizzes,
            "core_badges_get_user_badges": _badges,
        },
    ),
}

# Functions that exist only from a Moodle version on (the site's ``version`` decides).
MIN_VERSION = {"mod_quiz_get_user_quiz_attempts": "2025041400"}


def release(name: str) -> Release:
    try:
        return RELEASES[name]
    except KeyError:
        raise ValueError(
            f"moodle_version {name!r} is not one the demo speaks; choose one of {', '.join(RELEASES)}"
        ) from None


def release_of(config: DemoConfig) -> Release:
    return release(config.moodle_version)


def has_function(version: str, function: str) -> bool:
    """Whether a site of this ``version`` has the function at all (version-gated ones only from theirs)."""
    return parse_version(version) >= parse_version(MIN_VERSION.get(function, "0000000000"))


# ------------------------------------------------------------------ the question banks

QBANK_NAME = "System shared question bank"
QBANK_DESCRIPTION = (
    '<div class="no-overflow">This question bank was created automatically when the site was upgraded.</div>'
)


def add_question_banks(data: Dataset) -> None:
    """On 5.0, give every course a hidden ``qbank`` module in section 0 after its own modules.

    Called right after the course modules are made and before anything refers to them, so
    renumbering the ids here (each later course's ids shift by one per bank before it, as on
    a real 5.0 site) reaches every reference: forums, assignments and quizzes.
    """
    if not release_of(data.config).question_banks:
        return
    renumbered: dict[int, int] = {}
    modules: list[Record] = []
    for course in data.courses[1:]:
        own = [m for m in data.modules if m["courseid"] == course["id"]]
        for module in own:
            renumbered[module["id"]] = len(modules) + 1
            modules.append({**module, "id": len(modules) + 1})
        if own:
            modules.append(
                {
                    "id": len(modules) + 1,
                    "courseid": course["id"],
                    "modname": "qbank",
                    "instance": sum(m["modname"] == "qbank" for m in modules) + 1,
                    "name": QBANK_NAME,
                    "section": 0,
                    "visible": 0,
                    "completion": 0,
                    "added": course["timecreated"],
                    "description": QBANK_DESCRIPTION,
                }
            )
    data.modules[:] = modules
    for rows, key in ((data.forums, "cmid"), (data.assignments, "cmid"), (data.quizzes, "coursemodule")):
        for row in rows:
            row[key] = renumbered[row[key]]
    data._index.clear()
