"""One Moodle site of the sites file, as a pydantic model: the format in one place.

The fields, their types and their docs live here, so the loader's validation, the field
table of docs/sites.md and ``moodle-assets sites list`` cannot drift apart. Types are strict
(``max_concurrency: "4"`` is a mistake, not a 4) and unknown keys are refused: a typo must
not silently become a default. The token is never a field: the file names the environment
variable that holds it (``token_env``), so the file can be committed and shared.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt, field_validator

from moodle_assets.endpoints.problems import Says, problem

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
ENV_RE = re.compile(r"^[A-Z_][A-Z0-9_]*$")
# Keys that would hold a secret: refused with a message saying where the secret belongs.
SECRET_KEY_RE = re.compile(r"token|secret|password|passwd|wstoken|credential|api_?key", re.IGNORECASE)
SECRET_KEY_MESSAGE = (
    "a token (or any secret) does not belong in the sites file: put it in an environment variable "
    "and name that variable in 'token_env', e.g. token_env: MOODLE_SITE_{NAME}_TOKEN"
)


def _iso_date(value: Any) -> Any:
    """A calendar day: YAML's unquoted 2025-01-01 (a date) or the same text quoted; never a number."""
    if isinstance(value, datetime):
        raise problem(f"must be a day (YYYY-MM-DD), not a time: {value.isoformat()!r}")
    if isinstance(value, date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise problem(f"must be an ISO date YYYY-MM-DD, e.g. 2025-01-01, not {value!r}")


class Site(BaseModel):
    """One Moodle site to harvest: where it is, which variable holds its token, its own settings."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    name: Annotated[
        str,
        Field(
            description="Lower-case identifier, unique in the file (letters, digits, `_`; starts with a letter; "
            "at most 40). It will be the site's partition key and the value of its `site` column, so "
            "choose it once: e.g. `main`, `north_campus`."
        ),
        Says(
            "must be a lower-case identifier (a letter, then letters, digits or _; at most 40), "
            "e.g. north_campus, not {value!r}"
        ),
    ]
    url: Annotated[
        str,
        Field(
            description="The site root, `https://moodle.example.edu` (not `.../webservice/rest/server.php`, "
            "though that is accepted too)."
        ),
        Says("must be the site root, https://... (or http:// for a test site), not {value!r}"),
    ]
    token_env: Annotated[
        str,
        Field(
            description="The NAME of the environment variable holding this site's web-service token, e.g. "
            "`MOODLE_SITE_NORTH_TOKEN`. Never the token itself: the file holds no secret. A token "
            "is only ever sent to its own site."
        ),
        Says(
            "must be the NAME of an environment variable (upper-case letters, digits, _), "
            "e.g. MOODLE_SITE_NORTH_TOKEN, not the token itself"
        ),
    ]
    max_concurrency: Annotated[
        StrictInt | None,
        Field(
            default=None,
            description="Optional. At most this many calls in flight to this site at once (a positive "
            "whole number); `sites check` keeps to it. Unset: the command's default (4).",
        ),
        Says("must be a positive whole number, e.g. 4, not {value!r}"),
    ] = None
    calendar_start: Annotated[
        date | None,
        BeforeValidator(_iso_date),
        Field(
            default=None,
            description="Optional. The first day of this site's calendar (ISO date, `2025-01-01`): its "
            "calendar partitions before that day load nothing (the run says so); unset: every day of the "
            "endpoint spec's partitions. The day dimension is shared by all sites, so its start stays the "
            "spec's.",
        ),
    ] = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME_RE.match(value):
            raise problem(
                "must be a lower-case identifier (a letter, then letters, digits or _; at most 40), "
                f"e.g. north_campus, not {value!r}"
            )
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        # First, and without echoing the value: it may hold the very secret it must not.
        if parts.username or parts.password or any(SECRET_KEY_RE.search(k) for k, _ in parse_qsl(parts.query)):
            raise problem("must not carry a token, password or user: " + SECRET_KEY_MESSAGE.replace("{NAME}", "<NAME>"))
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
            raise problem(f"must be the site root, https://... (or http:// for a test site), not {value!r}")
        return value.strip()

    @field_validator("token_env")
    @classmethod
    def _token_env(cls, value: str) -> str:
        if not ENV_RE.match(value):
            raise problem(
                "must be the NAME of an environment variable (upper-case letters, digits, _), "
                "e.g. MOODLE_SITE_NORTH_TOKEN, not the token itself"
            )
        return value

    @field_validator("max_concurrency")
    @classmethod
    def _positive(cls, value: int | None) -> int | None:
        if value is not None and value < 1:
            raise problem(f"must be a positive whole number, e.g. 4, not {value!r}")
        return value


__all__ = ["NAME_RE", "SECRET_KEY_MESSAGE", "SECRET_KEY_RE", "Site"]
