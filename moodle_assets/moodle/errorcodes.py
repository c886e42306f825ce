"""What Moodle's errorcodes mean: which refuse the token, a permission, the guest, the site or a record.

Knowledge only, no behaviour: :mod:`moodle_assets.moodle.errors` turns an error envelope
into the typed error its code means, from these sets.
"""

from __future__ import annotations

# Form fields the client adds to every call; they say nothing about the caller's params.
PROTOCOL_FIELDS = frozenset({"wstoken", "wsfunction", "moodlewsrestformat"})

# Codes raised by webservice::authenticate_user: the token or its user cannot be used.
TOKEN_ERRORCODES = frozenset(
    {
        "invalidtoken",
        "invalidtimedtoken",
        "invalidiptoken",
        "wsaccessuserdeleted",
        "wsaccessuserexpired",
        "wsaccessusernologin",
        "wsaccessusersuspended",
        "wsaccessuserunconfirmed",
        "wsaccessuserauthnotenabled",
    }
)

# Codes that say the token's user may not read this item (a missing capability, a hidden
# course, another group). Never "no data here": the data exists and this account cannot see
# it, so a fan-out records the item as failed (moodle._errors, the failed_items check) and a
# single call fails. An endpoint's ``empty_on`` may not list them.
PERMISSION_ERRORCODES = frozenset(
    {
        "nopermissions",
        "requireloginerror",
        "required_capability_exception",
        "accessdenied",
        "nopermissiontoviewgrades",
        "cannotviewprofile",
        "cannotviewreport",
        "notingroup",
        "coursehidden",
    }
)

# What to grant (or switch on) for the permission codes whose capability Moodle does not name.
PERMISSION_HINTS = {
    "cannotviewreport": (
        "Moodle answers cannotviewreport when the token's user lacks report/completion:view (or "
        "moodle/user:viewuseractivitiesreport) for this user, and also when completion tracking is "
        "off for the course or the site (course settings > Completion tracking; Site administration > "
        "Advanced features > Enable completion tracking)."
    ),
    "nopermissiontoviewgrades": "Grades of other users need moodle/grade:viewall.",
    "cannotviewprofile": "Profiles of other users need moodle/user:viewdetails.",
    "accessdenied": "Users of other groups need moodle/site:accessallgroups.",
    "notingroup": "Users of other groups need moodle/site:accessallgroups.",
    "coursehidden": "Hidden courses need moodle/course:viewhiddencourses.",
}

# The user a per-user call is about is the site's guest account (core_user::require_active_user
# refuses it): the guest has no grades, enrolments or badges, so there is nothing to read. The
# per-user templates list it in ``empty_on``; it says nothing about the token's permissions.
GUEST_USER_ERRORCODES = frozenset({"guestsarenotallowed"})

# Errors that are not about the call but about the site: every other call would fail too.
SITE_ERRORCODES = frozenset({"sitemaintenance", "enablewsdescription"})

# $DB->get_record(..., MUST_EXIST) found nothing. Moodle 4.5 names the table ("... database table
# course."); Moodle 5.0+ with debugging off names none: invalidrecordunknown, and answers so for
# an unknown id and an unknown *function* alike (its record in external_functions is missing).
# Only the site's function list (site info) tells them apart.
RECORD_NOT_FOUND_ERRORCODES = frozenset({"invalidrecord", "invalidrecordunknown"})
UNNAMED_RECORD_ERRORCODE = "invalidrecordunknown"
SITE_INFO_FUNCTION = "core_webservice_get_site_info"  # every token may call it
