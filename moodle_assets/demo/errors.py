"""Moodle's error envelope, as the real site writes it.

Every failure of a real Moodle web-service call is an HTTP 200 whose body names the PHP
exception class, an error code and a message. Handlers raise :class:`MoodleException` and the
server turns it into that envelope, so the shapes stay in one place.
"""

from __future__ import annotations

MOODLE_EXCEPTION = "core\\exception\\moodle_exception"
INVALID_PARAMETER = "core\\exception\\invalid_parameter_exception"
MISSING_RECORD = "dml_missing_record_exception"
ACCESS_EXCEPTION = "webservice_access_exception"
REQUIRED_CAPABILITY = "core\\exception\\required_capability_exception"


class MoodleException(Exception):
    """A failure a Moodle function reports to its caller.

    ``errorcode`` may be ``None``: some PHP errors inside Moodle reach the client as
    ``{"exception": "Error", "message": ...}`` with no error code at all. ``debug_errorcode``
    and ``debug_message`` are what a site with debugging on says instead (Moodle 5.0 names the
    missing record's table only then).
    """

    def __init__(
        self,
        errorcode: str | None,
        message: str,
        exception_class: str = MOODLE_EXCEPTION,
        debuginfo: str | None = None,
        *,
        debug_errorcode: str | None = None,
        debug_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.errorcode = errorcode
        self.message = message
        self.exception_class = exception_class
        self.debuginfo = debuginfo
        self.debug_errorcode = debug_errorcode or errorcode
        self.debug_message = debug_message or message

    def said(self, debug: bool = False) -> tuple[str | None, str]:
        """(errorcode, message) as a site with debugging off, or on, sends them."""
        return (self.debug_errorcode, self.debug_message) if debug else (self.errorcode, self.message)

    def envelope(self, debug: bool = False) -> dict[str, str]:
        """The JSON body Moodle answers with: ``debuginfo`` only from a site with debugging on."""
        errorcode, message = self.said(debug)
        body = {"exception": self.exception_class}
        if errorcode is not None:
            body["errorcode"] = errorcode
        body["message"] = message
        if debug and self.debuginfo:
            body["debuginfo"] = self.debuginfo
        return body


def invalid_token() -> MoodleException:
    return MoodleException("invalidtoken", "Invalid token - token not found")


def invalid_parameter(detail: str) -> MoodleException:
    """The detail is only ever in ``debuginfo``; a production site hides it."""
    return MoodleException("invalidparameter", "Invalid parameter value detected", INVALID_PARAMETER, detail)


def missing_record(table: str, value: int | str | None = None, column: str = "id") -> MoodleException:
    """``$DB->get_record(..., MUST_EXIST)`` finding nothing; ``debuginfo`` is its query."""
    debuginfo = None
    if value is not None:
        shown = value if isinstance(value, int) else "'" + str(value).replace("'", "\\'") + "'"
        debuginfo = f"SELECT * FROM {{{table}}} WHERE {column} = ?\n[array (\n  0 => {shown},\n)]"
    return MoodleException(
        "invalidrecord", f"Can't find data record in database table {table}.", MISSING_RECORD, debuginfo
    )


# The reasons webservice_access_exception lists in its debuginfo (Moodle 4.5 wording and indent).
_ACCESS_REASONS = """
                     There could be multiple reasons for this:
                     1. The service linked to the user token does not contain the function.
                     2. The service is user-restricted and the user is not listed.
                     3. The service is IP-restricted and the user IP is not listed.
                     4. The service is time-restricted and the time has expired.
                     5. The token is time-restricted and the time has expired.
                     6. The service requires a specific capability which the user does not have.
                     7. The function is called with username/password (no user token is sent)
                     and none of the services has the function to allow the user.
                     These settings can be found in Administration > Site administration
                     > Server > Web services > External services and Manage tokens."""


def access_exception(function: str) -> MoodleException:
    return MoodleException(
        "accessexception",
        "Access control exception",
        ACCESS_EXCEPTION,
        f"Access to the function {function}() is not allowed.{_ACCESS_REASONS}",
    )


def no_permission(capability: str, action: str = "view") -> MoodleException:
    return MoodleException(
        "nopermissions",
        f"Sorry, but you do not currently have permissions to do that ({action}).",
        REQUIRED_CAPABILITY,
        capability,
    )


def not_enrolled() -> MoodleException:
    return MoodleException("usernotenroled", "User is not enrolled in this course")
