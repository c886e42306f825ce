"""Moodle's REST web-service protocol: encoding, calls, typed errors and paging.

Knows HTTP and Moodle, nothing of Dagster or DuckDB, so it can be used (and tested) on
its own, from assets, the CLI and the demo alike.
"""

from .client import CallStats, ClientSettings, MoodleClient
from .encoding import encode_params
from .errors import (
    FunctionNotFoundError,
    FunctionNotInServiceError,
    InvalidParameterError,
    InvalidTokenError,
    MoodleAPIError,
    MoodleError,
    MoodleUnavailableError,
    NotMoodleResponseError,
    PermissionDeniedError,
    RecordNotFoundError,
    error_from_envelope,
    is_error_envelope,
    redact,
)
from .paging import chunked, limit_offset, page_perpage

__all__ = [
    "CallStats",
    "ClientSettings",
    "FunctionNotFoundError",
    "FunctionNotInServiceError",
    "InvalidParameterError",
    "InvalidTokenError",
    "MoodleAPIError",
    "MoodleClient",
    "MoodleError",
    "MoodleUnavailableError",
    "NotMoodleResponseError",
    "PermissionDeniedError",
    "RecordNotFoundError",
    "chunked",
    "encode_params",
    "error_from_envelope",
    "is_error_envelope",
    "limit_offset",
    "page_perpage",
    "redact",
]
