"""What preflight knows of Moodle: the statuses of an asset, the features assets need, and
which capability each function checks and how a refusal names it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from moodle_assets.moodle.errorcodes import PERMISSION_ERRORCODES

SITE_INFO = "core_webservice_get_site_info"
SERVICE_FUNCTIONS_PATH = "Site administration > Server > Web services > External services > Functions"
DEFINE_ROLES_PATH = "Site administration > Users > Permissions > Define roles"
CHECK_PERMISSIONS_PATH = "Site administration > Users > Permissions > Check system permissions"

# Statuses of an asset.
OK = "ok"
MISSING = "missing"
REFUSED = "refused"
BLOCKED = "blocked"
FAILED = "failed"
UNCHECKED = "unchecked"

SAMPLE_TIMEOUT = 30.0  # seconds for one sample call, retries included
SAMPLE_CONCURRENCY = 4  # sample calls in flight at once
COURSE_TRIES = 3  # courses of course_index tried for an enrolled student

# The built-in assets the samples are discovered from.
COURSE_INDEX = "course_index"
ENROLLED_USERS = "enrolled_users"
COURSE_ASSETS = frozenset({"course_index", "courses", "courses_by_field"})
USER_ASSETS = frozenset({"users", "enrolled_users", "users_by_field"})

# Run config that narrows a built-in asset's one call to the sample course or user, so a site
# with 50,000 users is not read whole to check a permission ("{course}"/"{user}": their ids).
NARROWING: dict[str, dict[str, str]] = {
    "users": {"search_field": "id", "search_value": "{user}"},
    "courses_by_field": {"filter_field": "id", "filter_value": "{course}"},
}


@dataclass(frozen=True)
class Requirement:
    """What a function needs beyond being in the service: a Moodle version or a site feature."""

    min_version: str | None = None  # a Moodle $version (moodle.versions), e.g. "2025041400"
    min_release: str | None = None  # the release name of min_version, for people
    instead: str | None = None  # the function to use on older sites
    feature: str | None = None  # name in site_info advancedfeatures
    feature_label: str | None = None
    setting_path: str = "Site administration > General > Advanced features"


_COMPETENCIES = Requirement(feature="enablecompetencies", feature_label="Enable competencies")
_COMPLETION = Requirement(feature="enablecompletion", feature_label="Enable completion tracking")
_BADGES = Requirement(feature="enablebadges", feature_label="Enable badges")

REQUIREMENTS: dict[str, Requirement] = {
    "mod_quiz_get_user_quiz_attempts": Requirement(
        min_version="2025041400", min_release="5.0", instead="mod_quiz_get_user_attempts"
    ),
    "report_competency_data_for_report": _COMPETENCIES,
    "core_competency_list_course_competencies": _COMPETENCIES,
    "core_competency_list_competencies": _COMPETENCIES,
    "core_competency_list_user_plans": _COMPETENCIES,
    "core_competency_list_plan_competencies": _COMPETENCIES,
    "core_competency_read_competency_framework": _COMPETENCIES,
    "tool_lp_data_for_user_competency_summary_in_course": _COMPETENCIES,
    "core_completion_get_activities_completion_status": _COMPLETION,
    "core_completion_get_course_completion_status": _COMPLETION,
    "core_badges_get_user_badges": _BADGES,
    "core_reportbuilder_retrieve_report": Requirement(
        feature="enablecustomreports", feature_label="Enable custom reports"
    ),
}

# ------------------------------------------------------------------ what Moodle checks

# Moodle's English names of capabilities (lang/en/role.php and the plugins' lang files). A
# refusal names the capability only this way: "Sorry, but you do not currently have
# permissions to do that (View grades of other users)."
CAPABILITY_NAMES: dict[str, str] = {
    "moodle/course:view": "View courses without participation",
    "moodle/course:viewhiddencourses": "View hidden courses",
    "moodle/course:viewparticipants": "View participants",
    "moodle/site:viewparticipants": "View participants",
    "moodle/course:enrolreview": "Review course enrolments",
    "moodle/course:managegroups": "Manage groups",
    "moodle/site:accessallgroups": "Access all groups",
    "moodle/user:viewdetails": "View user profiles",
    "moodle/user:viewuseractivitiesreport": "See user activity reports",
    "moodle/grade:viewall": "View grades of other users",
    "gradereport/user:view": "View your own grade report",
    "report/progress:view": "View activity completion reports",
    "report/completion:view": "View course completion report",
    "mod/quiz:viewreports": "View quiz reports",
    "mod/assign:grade": "Grade assignment",
    "mod/forum:viewdiscussion": "View discussions",
    "moodle/badges:viewotherbadges": "View public badges in other users' profiles",
    "moodle/competency:coursecompetencyview": "View course competencies",
    "moodle/competency:usercompetencyview": "View a user competency",
    "moodle/competency:competencyview": "View competency frameworks",
}

# The capabilities each function's code checks for a harvest's call (another user, every
# course), in the order it checks them (Moodle 4.5 source).
FUNCTION_CAPABILITIES: dict[str, tuple[str, ...]] = {
    "core_course_get_courses": ("moodle/course:view",),
    "core_course_get_contents": ("moodle/course:view",),
    "core_enrol_get_enrolled_users": ("moodle/course:viewparticipants",),
    "core_group_get_course_groups": ("moodle/course:managegroups",),
    "core_group_get_group_members": ("moodle/course:managegroups",),
    "gradereport_user_get_grade_items": ("gradereport/user:view", "moodle/grade:viewall"),
    "gradereport_overview_get_course_grades": ("moodle/grade:viewall",),
    "core_completion_get_activities_completion_status": ("report/progress:view",),
    "core_completion_get_course_completion_status": ("report/completion:view",),
    "mod_quiz_get_user_attempts": ("mod/quiz:viewreports",),
    "mod_quiz_get_user_quiz_attempts": ("mod/quiz:viewreports",),
    "mod_assign_get_submissions": ("mod/assign:grade",),
    "mod_forum_get_forum_discussions": ("mod/forum:viewdiscussion",),
    "core_badges_get_user_badges": ("moodle/badges:viewotherbadges",),
    "core_competency_list_course_competencies": ("moodle/competency:coursecompetencyview",),
    "report_competency_data_for_report": (
        "moodle/competency:coursecompetencyview",
        "moodle/competency:usercompetencyview",
    ),
}

# Refusals whose message names no capability: (function or None for any, errorcode) -> capability.
ERROR_CAPABILITIES: dict[tuple[str | None, str], str] = {
    ("core_completion_get_course_completion_status", "cannotviewreport"): "report/completion:view",
    ("gradereport_user_get_grade_items", "nopermissiontoviewgrades"): "moodle/grade:viewall",
    ("gradereport_overview_get_course_grades", "nopermissiontoviewgrades"): "moodle/grade:viewall",
    ("mod_forum_get_forum_discussions", "noviewdiscussionspermission"): "mod/forum:viewdiscussion",
    (None, "notingroup"): "moodle/site:accessallgroups",
    (None, "accessdenied"): "moodle/site:accessallgroups",
    (None, "coursehidden"): "moodle/course:viewhiddencourses",
    (None, "cannotviewprofile"): "moodle/user:viewdetails",
    (None, "nopermissiontoviewgrades"): "moodle/grade:viewall",
    (None, "requireloginerror"): "moodle/course:view",
    (None, "errorcoursecontextnotvalid"): "moodle/course:view",
}

# Refusals that come as a warning and an empty answer instead of an exception:
# (function, warningcode) -> capability.
WARNING_CAPABILITIES: dict[tuple[str, str], str] = {
    ("mod_assign_get_submissions", "1"): "mod/assign:grade",
    ("mod_assign_get_assignments", "2"): "moodle/course:view",
    ("mod_quiz_get_quizzes_by_courses", "1"): "moodle/course:view",
}
ACCESS_WARNING = re.compile(r"no access rights|not have (the )?(requested )?(capability|permission)", re.IGNORECASE)

# The client's permission codes, and two that only refuse a sample: a forum the role may not
# read, a course context the token's user cannot enter.
_PERMISSION_CODES = PERMISSION_ERRORCODES | {"noviewdiscussionspermission", "errorcoursecontextnotvalid"}
_CAPABILITY_RE = re.compile(
    r"\b((?:moodle|mod|report|gradereport|block|tool|local|enrol|qbank|quiz)"
    r"/[a-z0-9_]+:[a-z0-9_]+)\b"
)
_NAMED_RE = re.compile(r"permissions to do that \((.+)\)\.?\s*$", re.DOTALL)


@dataclass(frozen=True)
class Refusal:
    """What Moodle refused for: the capability (when it can be told) and Moodle's name of it."""

    capability: str | None
    name: str | None
    also: tuple[str, ...] = ()  # further capabilities the function checks after this one


def refusal_of(
    function: str, errorcode: str | None, exception: str | None, message: str, debuginfo: str | None = None
) -> Refusal | None:
    """The capability a Moodle error refuses for, or None when the error is not a refusal.

    Moodle names a missing capability by its title in the message ("... (Manage groups).");
    a site with debugging on may add the capability itself in ``debuginfo``. Some refusals
    name nothing (cannotviewreport, noviewdiscussionspermission): what the function's code
    checks says which capability it was.
    """
    code = (errorcode or "").strip()
    refused = (
        code in _PERMISSION_CODES
        or (exception or "").endswith(("required_capability_exception", "require_login_exception"))
        or (function, code) in ERROR_CAPABILITIES
    )
    if not refused:
        return None
    capability = None
    for text in (debuginfo or "", message or ""):
        if m := _CAPABILITY_RE.search(text):
            capability = m.group(1)
            break
    named = _NAMED_RE.search(message or "")
    name = named.group(1).strip() if named else None
    checked = FUNCTION_CAPABILITIES.get(function, ())
    if capability is None and name:
        by_function = [c for c in checked if CAPABILITY_NAMES.get(c) == name]
        anywhere = [c for c, title in CAPABILITY_NAMES.items() if title == name]
        capability = (by_function or (anywhere if len(anywhere) == 1 else [None]))[0]
    if capability is None and not name:
        capability = ERROR_CAPABILITIES.get((function, code)) or ERROR_CAPABILITIES.get((None, code))
    if name is None and capability:
        name = CAPABILITY_NAMES.get(capability)
    also = tuple(checked[checked.index(capability) + 1 :]) if capability in checked else ()
    return Refusal(capability, name, also)


def grant_fix(refusal: Refusal) -> str:
    """What to do about a refusal, in one sentence."""
    if refusal.capability:
        what = refusal.capability + (f" ({refusal.name})" if refusal.name else "")
        fix = f"grant {what} to the role of the token's user ({DEFINE_ROLES_PATH})"
        if refusal.also:
            fix += f"; this function also checks {', '.join(refusal.also)}"
        return fix
    if refusal.name:
        return (
            f'grant the capability Moodle calls "{refusal.name}" to the role of the token\'s user ({DEFINE_ROLES_PATH})'
        )
    return (
        f"find the capability the token's user lacks ({CHECK_PERMISSIONS_PATH}) and grant it to the "
        f"user's role ({DEFINE_ROLES_PATH})"
    )
