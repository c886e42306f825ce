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
    ``{"exception": "Error", "message": ...}`` with no error code at all.
    """

    def __init__(
        self,
        errorcode: str | None,
        message: str,
        exception_class: str = MOODLE_EXCEPTION,
        debuginfo: str | None = None,
    ) -> None:
        super().__init__(message)
        self.errorcode = errorcode
        self.message = message
        self.exception_class = exception_class
        self.debuginfo = debuginfo

    def envelope(self) -> dict[str, str]:
        """The JSON body Moodle answers with (debug off: no ``debuginfo``)."""
        body = {"exception": self.exception_class}
        if self.errorcode is not None:
            body["errorcode"] = self.errorcode
        body["message"] = self.message
        return body


def invalid_token() -> MoodleException:
    return MoodleException("invalidtoken", "Invalid token - token not found")


def invalid_parameter(detail: str) -> MoodleException:
    """The detail is only ever in ``debuginfo``; a production site hides it."""
    return MoodleException("invalidparameter", "Invalid parameter value detected", INVALID_PARAMETER, detail)


def missing_record(table: str) -> MoodleException:
    return MoodleException("invalidrecord", f"Can't find data record in database table {table}.", MISSING_RECORD)


def access_exception(function: str) -> MoodleException:
    return MoodleException(
        "accessexception",
        "Access control exception",
        ACCESS_EXCEPTION,
        f"Access to the function {function}() is not allowed.",
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
