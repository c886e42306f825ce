"""User look-ups (core_user_*)."""

from __future__ import annotations

import re
from typing import Any

from ..dataset import Dataset, Record
from ..errors import invalid_parameter
from .common import picture_urls, user_identity, warning

_SEARCHABLE = ("id", "lastname", "firstname", "idnumber", "username", "email", "auth")
_EXACT = {"id", "idnumber", "username", "auth"}


def user_details(data: Dataset, user: Record, caller: int, *, displayvalue: bool = True) -> Record:
    """``user_get_user_details`` as an admin sees it: empty optional fields are left out."""
    record = user_identity(user)
    record.update(
        {
            "firstaccess": user["firstaccess"],
            "lastaccess": user["lastaccess"],
            "auth": user["auth"],
            "suspended": user["suspended"],
            "confirmed": user["confirmed"],
            "lang": user["lang"],
            "theme": "",
            "timezone": user["timezone"],
            "mailformat": 1,
            "trackforums": 0,
        }
    )
    for key in ("city", "country"):
        if user[key]:
            record[key] = user[key]
    if user["description"]:
        record["description"] = user["description"]
        record["descriptionformat"] = 1
    record.update(picture_urls(data))
    fields = profile_fields(user, displayvalue=displayvalue)
    if fields:
        record["customfields"] = fields
    if user["id"] == caller:  # only the token's own user gets their preferences
        record["preferences"] = [
            {"name": "last_time_enrolments_synced", "value": str(user["lastaccess"])},
            {"name": "_lastloaded", "value": data.now},
        ]
    return record


# The site's custom profile fields, in their sort order. A menu field with a default shows
# that default for every user who never chose (the recorded site: every user, the guest too).
_PROFILE_FIELDS = [("department", "text", "Department", None), ("cohortyear", "menu", "Cohort year", "No")]


def profile_fields(user: Record, *, displayvalue: bool) -> list[Record]:
    """``customfields`` as ``user_get_user_details`` lists them."""
    chosen = {custom["shortname"]: custom["value"] for custom in user["customfields"]}
    fields = []
    for shortname, kind, name, default in _PROFILE_FIELDS:
        value = chosen.get(shortname, default)
        if value is None:
            continue
        entry: Record = {"type": kind, "value": value}
        if displayvalue:
            entry["displayvalue"] = value
        entry.update({"name": name, "shortname": shortname})
        fields.append(entry)
    return fields


def _like(pattern: str, text: str) -> bool:
    """SQL LIKE, case-insensitive, as Moodle's ``sql_like`` does for these fields."""
    regex = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, text, flags=re.IGNORECASE | re.DOTALL) is not None


def get_users(data: Dataset, caller: int, params: dict[str, Any]) -> Record:
    """Criteria are ANDed; an unsupported key is dropped with a warning (and so may match all)."""
    warnings: list[Record] = []
    users = list(data.users)
    for criterion in params["criteria"]:
        key, value = criterion["key"], criterion["value"]
        if key not in _SEARCHABLE:
            warnings.append(
                warning(
                    key,
                    None,
                    "invalidfieldparameter",
                    f"The search key '{key}' is not supported, look at the web service documentation",
                )
            )
            continue
        if key == "id":
            if not value.strip().lstrip("-").isdigit():
                raise invalid_parameter(f"Invalid parameter value for id: {value}")
            users = [u for u in users if u["id"] == int(value)]
        elif key in _EXACT:
            users = [u for u in users if str(u[key]) == value]
        else:
            users = [u for u in users if _like(value, str(u[key]))]
    return {"users": [user_details(data, u, caller) for u in users], "warnings": warnings}


def get_users_by_field(data: Dataset, caller: int, params: dict[str, Any]) -> list[Record]:
    field = params["field"]
    if field not in ("id", "idnumber", "username", "email"):
        raise invalid_parameter(f"The search field '{field}' is not supported, look at the web service documentation")
    wanted = [str(v) for v in params["values"]]
    found = [u for u in data.users if str(u[field]) in wanted]
    return [user_details(data, u, caller) for u in found]


HANDLERS = {"core_user_get_users": get_users, "core_user_get_users_by_field": get_users_by_field}
