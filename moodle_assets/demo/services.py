"""Tokens, external services and roles of the demo site.

A real token belongs to one user and one external service; the service decides which
functions the token may call (``accessexception`` otherwise) and ``get_site_info`` lists them.
What the functions then let the user read is decided by the capabilities of the user's role:
a function in the service can still refuse with ``nopermissions``.

Three tokens:

* ``DEMO_TOKEN``: the site administrator, every function, every capability.
* ``RESTRICTED_TOKEN``: the service account ``svc_ingest`` of the recorded site, whose
  service lacks core_group_get_course_groups and both quiz attempt functions; its role is the recorded ``ingestion_readonly`` (the handlers'
  own rules, :mod:`.functions.common`).
* ``LIMITED_TOKEN``: the same account with every function in its service but a narrower role
  (``LIMITED_ROLE``): no moodle/course:managegroups, mod/quiz:viewreports,
  moodle/competency:*, moodle/grade:viewall, report/completion:view or report/progress:view.
  Functions that need one of them answer with Moodle's permission error
  (:func:`check_capabilities`, called by the server before the handler).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .dataset import ADMIN_ID, Dataset
from .errors import MOODLE_EXCEPTION, REQUIRED_CAPABILITY, MoodleException
from .functions import REGISTRY
from .functions.common import VIEWING_CAPABILITIES
from .releases import has_function

DEMO_TOKEN = "demo-token-admin-0123456789abcdef"
RESTRICTED_TOKEN = "demo-token-restricted-0123456789ab"
LIMITED_TOKEN = "demo-token-limited-role-0123456789"

# The order in which the recorded site lists its service's functions (by component).
_SITE_ORDER = [
    "core_badges_get_user_badges",
    "core_calendar_get_calendar_events",
    "core_completion_get_activities_completion_status",
    "core_completion_get_course_completion_status",
    "core_course_get_categories",
    "core_course_get_contents",
    "core_course_get_courses",
    "core_course_search_courses",
    "core_course_get_courses_by_field",
    "core_course_get_updates_since",
    "core_enrol_get_course_enrolment_methods",
    "core_enrol_get_enrolled_users",
    "core_enrol_get_users_courses",
    "core_group_get_course_groups",
    "core_group_get_course_user_groups",
    "core_group_get_group_members",
    "core_user_get_users",
    "core_user_get_users_by_field",
    "core_competency_read_competency_framework",
    "core_competency_list_competencies",
    "core_competency_list_course_competencies",
    "core_competency_list_user_plans",
    "core_competency_list_plan_competencies",
    "core_webservice_get_site_info",
    "mod_assign_get_grades",
    "mod_assign_get_assignments",
    "mod_assign_get_submissions",
    "mod_forum_get_forums_by_courses",
    "mod_forum_get_discussion_posts",
    "mod_forum_get_forum_discussions",
    "mod_quiz_get_quizzes_by_courses",
    "mod_quiz_get_user_attempts",
    "mod_quiz_get_user_quiz_attempts",
    "mod_quiz_get_user_best_grade",
    "report_competency_data_for_report",
    "gradereport_overview_get_course_grades",
    "gradereport_user_get_grades_table",
    "gradereport_user_get_grade_items",
    "tool_lp_data_for_user_competency_summary_in_course",
]

# The restricted service has neither quiz attempt function (as the recorded data_ingestion_noquiz).
_RESTRICTED_WITHOUT = {"mod_quiz_get_user_attempts", "mod_quiz_get_user_quiz_attempts", "core_group_get_course_groups"}


def site_functions(version: str) -> list[str]:
    """Functions the site has at all: implemented here and present in this Moodle version."""
    return [name for name in _SITE_ORDER if name in REGISTRY and has_function(version, name)]


@dataclass(frozen=True)
class Token:
    kind: str
    user_id: int
    functions: tuple[str, ...]
    # The capabilities of the user's role; None = the handlers' own rules decide alone.
    capabilities: frozenset[str] | None = None


# A read-only system role for a harvest account that was given too little: it can see
# courses, participants, profiles, calendars and badges, but none of the capabilities below.
LIMITED_ROLE = VIEWING_CAPABILITIES | {
    "webservice/rest:use",
    "gradereport/user:view",
    "mod/quiz:view",
    "mod/forum:viewdiscussion",
}


def tokens(data: Dataset) -> dict[str, Token]:
    available = site_functions(data.config.version)
    return {
        DEMO_TOKEN: Token("admin", ADMIN_ID, tuple(available)),
        RESTRICTED_TOKEN: Token(
            "restricted", data.service_user_id, tuple(f for f in available if f not in _RESTRICTED_WITHOUT)
        ),
        LIMITED_TOKEN: Token("limited_role", data.service_user_id, tuple(available), LIMITED_ROLE),
    }


# ------------------------------------------------------------------ capability checks

# Moodle's English names of the capabilities (get_capability_string: lang/en/role.php and the
# plugins' lang files); a refusal's message carries the name, never the capability itself.
CAPABILITY_NAMES = {
    "moodle/course:viewparticipants": "View participants",
    "moodle/course:managegroups": "Manage groups",
    "moodle/grade:viewall": "View grades of other users",
    "gradereport/user:view": "View your own grade report",
    "report/progress:view": "View activity completion reports",
    "report/completion:view": "View course completion report",
    "mod/quiz:viewreports": "View quiz reports",
    "moodle/competency:coursecompetencyview": "View course competencies",
    "moodle/competency:usercompetencyview": "View a user competency",
    "moodle/badges:viewotherbadges": "View public badges in other users' profiles",
    "mod/forum:viewdiscussion": "View discussions",
}


def _always(params: Mapping[str, Any], caller: int) -> bool:
    return True


def _other_user(params: Mapping[str, Any], caller: int) -> bool:
    """The call is about another user (``userid`` 0 means the caller for these functions)."""
    return (params.get("userid") or caller) != caller


def _every_user(params: Mapping[str, Any], caller: int) -> bool:
    """gradereport_user: ``userid`` 0 asks for every user of the course."""
    return not params.get("userid")


def _one_other_user(params: Mapping[str, Any], caller: int) -> bool:
    return bool(params.get("userid")) and params["userid"] != caller


@dataclass(frozen=True)
class CapabilityCheck:
    """One ``require_capability`` (or an equivalent test) in a function's code."""

    capabilities: tuple[str, ...]  # any one of them is enough (has_any_capability)
    applies: Callable[[Mapping[str, Any], int], bool] = _always
    errorcode: str = "nopermissions"
    message: str | None = None  # when Moodle's text does not name the capability
    exception: str = REQUIRED_CAPABILITY

    def refusal(self) -> MoodleException:
        message = self.message or (
            f"Sorry, but you do not currently have permissions to do that ({CAPABILITY_NAMES[self.capabilities[0]]})."
        )
        return MoodleException(self.errorcode, message, self.exception)


_COURSE_COMPETENCIES = CapabilityCheck(
    ("moodle/competency:coursecompetencyview", "moodle/competency:coursecompetencymanage")
)
_QUIZ_ATTEMPTS = (CapabilityCheck(("mod/quiz:viewreports",), _other_user),)

# The checks each function makes, in the order its code makes them (Moodle 4.5 source).
CAPABILITY_CHECKS: dict[str, tuple[CapabilityCheck, ...]] = {
    # course_require_view_participants()
    "core_enrol_get_enrolled_users": (
        CapabilityCheck(("moodle/course:viewparticipants", "moodle/course:enrolreview")),
    ),
    "core_group_get_course_groups": (CapabilityCheck(("moodle/course:managegroups",)),),
    "core_group_get_group_members": (CapabilityCheck(("moodle/course:managegroups",)),),
    # gradereport_user\external\user::check_report_access()
    "gradereport_user_get_grade_items": (
        CapabilityCheck(("gradereport/user:view",)),
        CapabilityCheck(("moodle/grade:viewall",), _every_user),
        CapabilityCheck(
            ("moodle/grade:viewall",),
            _one_other_user,
            "nopermissiontoviewgrades",
            "Can not view grades.",
            MOODLE_EXCEPTION,
        ),
    ),
    "gradereport_overview_get_course_grades": (CapabilityCheck(("moodle/grade:viewall",), _other_user),),
    "core_completion_get_activities_completion_status": (CapabilityCheck(("report/progress:view",), _other_user),),
    # completion_can_view_data() is false: a plain moodle_exception that names no capability.
    "core_completion_get_course_completion_status": (
        CapabilityCheck(
            ("moodle/user:viewuseractivitiesreport", "report/completion:view"),
            _other_user,
            "cannotviewreport",
            "You cannot view this report",
            MOODLE_EXCEPTION,
        ),
    ),
    "mod_quiz_get_user_attempts": _QUIZ_ATTEMPTS,
    "mod_quiz_get_user_quiz_attempts": _QUIZ_ATTEMPTS,
    "core_competency_list_course_competencies": (_COURSE_COMPETENCIES,),
    # api::read_course_competency_settings(), then api::list_user_competencies_in_course()
    "report_competency_data_for_report": (
        _COURSE_COMPETENCIES,
        CapabilityCheck(("moodle/competency:usercompetencyview",), _other_user),
    ),
    "core_badges_get_user_badges": (CapabilityCheck(("moodle/badges:viewotherbadges",), _other_user),),
    "mod_forum_get_forum_discussions": (
        CapabilityCheck(
            ("mod/forum:viewdiscussion",),
            _always,
            "noviewdiscussionspermission",
            "You do not have the permission to view discussions in this forum",
        ),
    ),
}


def check_capabilities(token: Token, function: str, params: Mapping[str, Any]) -> None:
    """Refuse as Moodle does when the token's role lacks a capability the function checks."""
    if token.capabilities is None:
        return
    for check in CAPABILITY_CHECKS.get(function, ()):
        if check.applies(params, token.user_id) and not token.capabilities.intersection(check.capabilities):
            raise check.refusal()
