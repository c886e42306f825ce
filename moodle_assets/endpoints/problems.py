"""How a spec problem is said: one error listing them all, and the words of each field."""

from __future__ import annotations

from typing import Any

from jsonpath_ng.exceptions import JsonPathParserError
from jsonpath_ng.ext import parse as parse_jsonpath
from pydantic_core import PydanticCustomError


class SpecError(ValueError):
    """One or more problems in endpoint specs; each line names file, endpoint and field."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("Invalid endpoint spec:\n" + "\n".join(f"  - {p}" for p in problems))


class Says:
    """What a user is told when a field's value is wrong; ``{value!r}`` is the value written.

    A problem anywhere inside the field (a wrong type, a missing key of a nested mapping) is
    said in these words, unless a field nested deeper says it more precisely.
    """

    def __init__(self, message: str):
        self.message = message

    def __call__(self, value: Any) -> str:
        return self.message.replace("{value!r}", repr(value))


def problem(message: str) -> PydanticCustomError:
    """An error whose message is shown as it is (pydantic's own wording is replaced by ``Says``)."""
    return PydanticCustomError("spec", message)


def check_jsonpath(expr: str) -> str | None:
    """Return a parse error message for a JSONPath expression, or None if it is valid."""
    try:
        parse_jsonpath(expr)
    except (JsonPathParserError, Exception) as exc:  # jsonpath-ng raises several types
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return None


def _jsonpath(expr: str | None) -> str | None:
    if expr is not None and (err := check_jsonpath(expr)) is not None:
        raise problem(f"invalid JSONPath {expr!r}: {err}")
    return expr
