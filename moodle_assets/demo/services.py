"""Tokens and external services of the demo site.

A real token belongs to one user and one external service; the service decides which
functions the token may call (``accessexception`` otherwise) and ``get_site_info`` lists them.
"""

from __future__ import annotations

from dataclasses import dataclass

from .dataset import ADMIN_ID, Dataset
from .functions import REGISTRY

DEMO_TOKEN = "demo-token-admin-0123456789abcdef"
RESTRICTED_TOKEN = "demo-token-restricted-0123456789ab"

# The order in which the recorded site lists its service's functions (by component).
_SITE_ORDER = [
    "core_badges_get_user_badges", "core_calendar_get_calendar_events",
    "core_completion_get_activities_completion_status", "core_completion_get_course_completion_status",
    "core_course_get_categories", "core_course_get_contents", "core_course_get_courses",
    "core_course_search_courses", "core_course_get_courses_by_field", "core_course_get_updates_since",
    "core_enrol_get_course_enrolment_methods", "core_enrol_get_enrolled_users", "core_enrol_get_users_courses",
    "core_group_get_course_groups", "core_group_get_course_user_groups", "core_group_get_group_members",
    "core_user_get_users", "core_user_get_users_by_field", "core_competency_read_competency_framework",
    "core_competency_list_competencies", "core_competency_list_course_competencies",
    "core_competency_list_user_plans", "core_competency_list_plan_competencies", "core_webservice_get_site_info",
    "mod_assign_get_grades", "mod_assign_get_assignments", "mod_assign_get_submissions",
    "mod_forum_get_forums_by_courses", "mod_forum_get_discussion_posts", "mod_forum_get_forum_discussions",
    "mod_quiz_get_quizzes_by_courses", "mod_quiz_get_user_attempts", "mod_quiz_get_user_quiz_attempts",
    "mod_quiz_get_user_best_grade", "report_competency_data_for_report", "gradereport_overview_get_course_grades",
    "gradereport_user_get_grades_table", "gradereport_user_get_grade_items",
    "tool_lp_data_for_user_competency_summary_in_course",
]

_RESTRICTED_WITHOUT = {"mod_quiz_get_user_attempts", "core_group_get_course_groups"}

# Functions that exist only from a Moodle version on (the site's ``version`` decides).
MIN_VERSION = {"mod_quiz_get_user_quiz_attempts": 2025041400}


def site_functions(version: str) -> list[str]:
    """Functions the site has at all: implemented here and present in this Moodle version."""
    number = int(version.split(".")[0])
    return [name for name in _SITE_ORDER if name in REGISTRY and number >= MIN_VERSION.get(name, 0)]


@dataclass(frozen=True)
class Token:
    kind: str
    user_id: int
    functions: tuple[str, ...]


def tokens(data: Dataset) -> dict[str, Token]:
    available = site_functions(data.config.version)
    return {
        DEMO_TOKEN: Token("admin", ADMIN_ID, tuple(available)),
        RESTRICTED_TOKEN: Token(
            "restricted", data.service_user_id, tuple(f for f in available if f not in _RESTRICTED_WITHOUT)
        ),
    }
