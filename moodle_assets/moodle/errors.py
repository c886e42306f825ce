"""Typed errors for Moodle's web-service protocol.

Moodle answers almost every failure with HTTP 200 and a JSON envelope
``{"exception", "errorcode", "message"[, "debuginfo"]}``; the errorcode alone decides
whether the whole endpoint is broken (bad token, function missing from the service:
``fatal``) or only one item of a fan-out is (a course the token may not read). Each
message says what went wrong *and* what to do about it, because the person reading it
is usually looking at a failed Dagster run, not at Moodle's source.

The token must never leak: messages are built from redacted form fields, and every
text that came from the wire goes through :func:`redact` before it is stored.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any
from urllib.parse import quote, quote_plus

from .errorcodes import (
    GUEST_USER_ERRORCODES,
    PERMISSION_ERRORCODES,
    PERMISSION_HINTS,
    PROTOCOL_FIELDS,
    RECORD_NOT_FOUND_ERRORCODES,
    SITE_ERRORCODES,
    SITE_INFO_FUNCTION,
    TOKEN_ERRORCODES,
    UNNAMED_RECORD_ERRORCODE,
)

__all__ = [
    "RECORD_NOT_FOUND_ERRORCODES",
    "REDACTED",
    "FunctionNotFoundError",
    "FunctionNotInServiceError",
    "InvalidParameterError",
    "InvalidTokenError",
    "MoodleAPIError",
    "MoodleError",
    "MoodleUnavailableError",
    "NotMoodleResponseError",
    "PermissionDeniedError",
    "RecordNotFoundError",
    "error_from_envelope",
    "is_error_envelope",
    "is_permission_error",
    "redact",
    "redact_fields",
]

REDACTED = "<redacted>"


def redact(text: str, token: str) -> str:
    """Replace every spelling of ``token`` in ``text`` (raw and URL-encoded) by a marker."""
    if not token:
        return text
    for spelling in {token, quote_plus(token), quote(token, safe="")}:
        text = text.replace(spelling, REDACTED)
    return text


def redact_fields(fields: Sequence[tuple[str, str]], token: str = "") -> list[tuple[str, str]]:
    """Form fields as safe to print: the ``wstoken`` value masked, the token gone elsewhere."""
    return [(name, REDACTED if name == "wstoken" else redact(str(value), token)) for name, value in fields]


def is_permission_error(errorcode: str | None, exception: str | None = None) -> bool:
    """True when Moodle refused because the token's user may not read the item."""
    return (errorcode or "").strip() in PERMISSION_ERRORCODES or (exception or "").endswith(
        ("required_capability_exception", "require_login_exception")
    )


def is_error_envelope(body: Any) -> bool:
    """True for Moodle's exception envelope (a dict with ``exception`` and ``message``)."""
    return isinstance(body, Mapping) and "exception" in body and "message" in body


class MoodleError(Exception):
    """Base of every error this package raises.

    ``fatal`` tells the caller whether to stop the whole endpoint (True) or to record
    the failure against one item of a fan-out and carry on (False).
    """

    fatal: bool = False

    def __init__(self, message: str, *, function: str | None = None, fatal: bool | None = None):
        super().__init__(message)
        self.function = function
        if fatal is not None:
            self.fatal = fatal

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only constructors do not survive the default pickling of exceptions,
        # and multi-process executors pickle them.
        return (_restore_error, (type(self), self.args, self.__dict__))


def _restore_error(cls: type[MoodleError], args: tuple[Any, ...], state: dict[str, Any]) -> MoodleError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class MoodleAPIError(MoodleError):
    """Moodle answered with its error envelope."""

    def __init__(
        self,
        message: str,
        *,
        function: str | None,
        errorcode: str | None,
        exception: str | None,
        moodle_message: str,
        debuginfo: str | None = None,
        params: list[tuple[str, str]] | None = None,
        fatal: bool | None = None,
    ):
        super().__init__(message, function=function, fatal=fatal)
        self.errorcode = errorcode
        self.exception = exception
        self.moodle_message = moodle_message
        self.debuginfo = debuginfo
        self.params = params

    @property
    def param_names(self) -> list[str]:
        """The names of the caller's form fields (protocol fields left out)."""
        return [name for name, _ in self.params or [] if name not in PROTOCOL_FIELDS]


class InvalidTokenError(MoodleAPIError):
    """The token is unknown, expired, IP-restricted, or its user may not log in."""

    fatal = True


class FunctionNotInServiceError(MoodleAPIError):
    """The function exists but is not in the external service this token belongs to."""

    fatal = True


class FunctionNotFoundError(MoodleAPIError):
    """No such web-service function on this Moodle (another version, or a typo)."""

    fatal = True


class InvalidParameterError(MoodleAPIError):
    """Missing, mistyped or unexpected parameter: the request itself is wrong, for every item."""

    fatal = True


class PermissionDeniedError(MoodleAPIError):
    """The token's user may not read this item; other items may still work."""

    fatal = False


class RecordNotFoundError(MoodleAPIError):
    """The item asked for does not exist (deleted course, wrong id)."""

    fatal = False


class NotMoodleResponseError(MoodleError):
    """The answer is not Moodle's JSON: wrong URL, login page, XML, or a broken body."""

    fatal = True

    def __init__(
        self,
        message: str,
        *,
        function: str | None = None,
        status_code: int | None = None,
        content_type: str | None = None,
    ):
        super().__init__(message, function=function)
        self.status_code = status_code
        self.content_type = content_type


class MoodleUnavailableError(MoodleError):
    """The site did not answer successfully, even after retries."""

    fatal = True

    def __init__(self, message: str, *, function: str | None = None, attempts: int, cause: str):
        super().__init__(message, function=function)
        self.attempts = attempts
        self.cause = cause


def _normalise_params(
    params: Sequence[tuple[str, str]] | Mapping[str, Any] | None, token: str
) -> list[tuple[str, str]] | None:
    if params is None:
        return None
    pairs = list(params.items()) if isinstance(params, Mapping) else list(params)
    return redact_fields([(str(name), str(value)) for name, value in pairs], token)


def _summarise(params: list[tuple[str, str]] | None, limit: int = 200) -> str:
    """``courseid=99999, userid=3`` for messages about one item (protocol fields left out)."""
    pairs = [f"{name}={value}" for name, value in params or [] if name not in PROTOCOL_FIELDS]
    text = ", ".join(pairs) if pairs else "no parameters"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _text(value: Any, token: str) -> str | None:
    return None if value is None else redact(str(value), token)


def _unlisted(function: str, code: str, site_functions: Collection[str] | None) -> bool:
    """The function is missing from the token's function list (a site-wide refusal aside)."""
    return (
        site_functions is not None
        and function != SITE_INFO_FUNCTION
        and function not in site_functions
        and code not in SITE_ERRORCODES
    )


def error_from_envelope(
    body: Mapping[str, Any],
    function: str,
    params: Sequence[tuple[str, str]] | Mapping[str, Any] | None = None,
    *,
    token: str = "",
    site_functions: Collection[str] | None = None,
) -> MoodleAPIError:
    """Turn Moodle's error envelope into the typed error its errorcode means.

    ``params`` are the form fields sent (redacted here again if ``token`` is given, and
    the ``wstoken`` field is always masked). ``site_functions`` is the function list of the
    token's service (site info's ``functions``), when known: a function not in it is not on
    this site, whatever the error says (a token that may not call a function existing on the
    site gets ``accessexception``), and ``invalidrecordunknown`` for a listed function is an
    item that does not exist.
    """
    errorcode = _text(body.get("errorcode"), token)
    exception = _text(body.get("exception"), token)
    moodle_message = _text(body.get("message"), token) or ""
    debuginfo = _text(body.get("debuginfo"), token)
    fields = _normalise_params(params, token)
    code = (errorcode or "").strip()
    said = f"Moodle said: {moodle_message} [{code or exception}]"
    debug = f" Debug info: {debuginfo.strip()}." if debuginfo else ""

    cls: type[MoodleAPIError] = MoodleAPIError
    fatal: bool | None = None
    if code in TOKEN_ERRORCODES:
        cls = InvalidTokenError
        message = (
            f"{function}: the web-service token was refused. {said}.{debug} "
            "Check MOODLE_TOKEN: it must be an existing, unexpired token of an enabled external "
            "service on this very site (Site administration > Server > Web services > Manage "
            "tokens), its user must be active, and the site's IP restriction must allow this host."
        )
    elif code == "accessexception":
        cls = FunctionNotInServiceError
        message = (
            f"{function}: this token may not call the function. {said}.{debug} "
            f"Add function {function} to the external service of this token (Site administration > "
            "Server > Web services > External services > Functions); if the service is restricted "
            "to authorised users, authorise the token's user."
        )
    elif (code == "invalidrecord" and "external_functions" in moodle_message) or _unlisted(
        function, code, site_functions
    ):
        cls = FunctionNotFoundError
        listed = ""
        if site_functions is not None:
            listed = (
                f" Site info lists {len(site_functions)} functions for this token and {function} is not one of them"
            )
            if code == UNNAMED_RECORD_ERRORCODE:
                listed += " (Moodle 5.0+ with debugging off answers a missing function with invalidrecordunknown)"
            listed += "."
        message = (
            f"function {function} does not exist on this Moodle (version?). {said}.{debug}{listed} "
            "Check the spelling, and the site's version (core_webservice_get_site_info 'release'): "
            "the function may belong to another Moodle version or to a plugin that is not installed."
        )
    elif code == "invalidparameter":
        cls = InvalidParameterError
        names = [name for name, _ in fields or [] if name not in PROTOCOL_FIELDS]
        sent = ", ".join(names) if names else "no parameters"
        hint = (
            debug
            if debuginfo
            else " Moodle gives the detail only with debugging on (Site administration > Development > Debugging)."
        )
        message = (
            f"{function}: Moodle rejected the parameters ({sent}). {said}.{hint} "
            "Send exactly the parameters the function declares, with the right types "
            "(Site administration > Server > Web services > API Documentation): a missing "
            "required key, a wrong type and an unexpected key all give this error."
        )
    elif is_permission_error(code, exception):
        cls = PermissionDeniedError
        hint = f" {PERMISSION_HINTS[code]}" if code in PERMISSION_HINTS else ""
        message = (
            f"{function}: permission denied for {_summarise(fields)}. {said}.{debug}{hint} "
            "Give the token's user the capability in a role on this context, or leave this item "
            "out; other items are not affected."
        )
    elif code in GUEST_USER_ERRORCODES:
        message = (
            f"{function}: Moodle refuses calls about the guest account ({_summarise(fields)}). {said}.{debug} "
            "The guest user has no grades, enrolments or badges of its own: list "
            f"{code} in the endpoint's empty_on (the built-in per-user templates do), or leave "
            "the guest out of the lookup."
        )
    elif code in RECORD_NOT_FOUND_ERRORCODES:
        cls = RecordNotFoundError
        ambiguous = (
            ""
            if site_functions is not None or code != UNNAMED_RECORD_ERRORCODE
            else (
                f" (Moodle 5.0+ without debugging answers the same for a function the site does not have: "
                f"if every item fails like this, check that core_webservice_get_site_info lists {function}.)"
            )
        )
        message = (
            f"{function}: nothing found for {_summarise(fields)}. {said}.{debug} "
            "The id probably does not exist on the site any more (deleted or never created); "
            f"refresh the asset the ids came from, or leave this item out.{ambiguous}"
        )
    elif code in SITE_ERRORCODES:
        fatal = True
        message = (
            f"{function}: the site refuses web-service calls right now. {said}.{debug} "
            "Wait for maintenance to end, or enable web services (Site administration > "
            "Advanced features > Enable web services), then run again."
        )
    else:
        message = (
            f"{function} failed inside Moodle for {_summarise(fields)}. {said}"
            f"{' (' + exception + ')' if exception and code else ''}.{debug} "
            "This concerns this call only; check the values sent, and the site's logs or "
            "debugging output if the message is not self-explanatory."
        )
    return cls(
        message,
        function=function,
        errorcode=errorcode,
        exception=exception,
        moodle_message=moodle_message,
        debuginfo=debuginfo,
        params=fields,
        fatal=fatal,
    )
