"""Records and metadata out of a Moodle response, by JSONPath.

Simple paths (``$``, ``$[*]``, ``$.courses[*].assignments[*]``) — all the templates use —
take a hand-written walk that is an order of magnitude cheaper than jsonpath-ng and also
knows each record's enclosing objects, so a submission can carry its ``assignmentid``.
Anything else goes through jsonpath-ng (extended syntax: filters, slices).

Every record passes through :func:`redact_secrets` here, before it is staged, previewed,
logged or printed by ``moodle-assets test``: a few fields Moodle returns are credentials,
and they must not land in the warehouse. :data:`SECRET_FIELDS` lists them (read from the
``desc`` of every field the template functions return); a non-empty value is replaced by
``<redacted>`` at any depth of a record, so a column still says whether there was one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Any

from jsonpath_ng.ext import parse as parse_jsonpath

REDACTED = "<redacted>"

# Fields whose values are credentials, by name, wherever they occur in a record:
SECRET_FIELDS = frozenset(
    {
        # core_webservice_get_site_info: "Private user access key for fetching files" -- it opens
        # the harvesting account's files on tokenpluginfile.php without the token.
        "userprivateaccesskey",
        # core_group_get_course_groups: "group enrol secret phrase" (self-enrolment into the group).
        "enrolmentkey",
        # mod_quiz_get_quizzes_by_courses: "A password that the student must enter before starting
        # or continuing a quiz attempt".
        "password",
        # Never returned by the functions the templates call, but a credential wherever it appears.
        "wstoken",
        "token",
        "privatetoken",
        "sesskey",
    }
)


def _secret(key: Any, value: Any) -> bool:
    return key in SECRET_FIELDS and value not in (None, "")


def redact_secrets(value: Any) -> Any:
    """``value`` with every :data:`SECRET_FIELDS` value replaced by ``<redacted>``, at any depth.

    Objects that hold no secret are returned as they are (no copy); the others are copied,
    so the answer Moodle sent is never changed in place.
    """
    kind = type(value)
    if kind is dict:
        changed = None
        if not SECRET_FIELDS.isdisjoint(value):
            changed = {k: REDACTED if _secret(k, v) else v for k, v in value.items()}
        for key, item in value.items():
            if (type(item) is dict or type(item) is list) and not _secret(key, item):
                new = redact_secrets(item)
                if new is not item:
                    if changed is None:
                        changed = dict(value)
                    changed[key] = new
        return value if changed is None else changed
    if kind is list:
        changed_list = None
        for index, item in enumerate(value):
            if type(item) is dict or type(item) is list:
                new = redact_secrets(item)
                if new is not item:
                    if changed_list is None:
                        changed_list = list(value)
                    changed_list[index] = new
        return value if changed_list is None else changed_list
    return value


_SIMPLE_RE = re.compile(r"^\$((?:\.[A-Za-z_][A-Za-z0-9_]*|\[\*\])*)$")
_STEP_RE = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[\*\]")


@lru_cache(maxsize=256)
def _simple_steps(path: str) -> tuple[str | None, ...] | None:
    """Steps of a simple path (a key, or None for [*]); None if the path is not simple."""
    m = _SIMPLE_RE.match(path.replace(" ", ""))
    if not m:
        return None
    return tuple(step.group(1) for step in _STEP_RE.finditer(m.group(1)))


@lru_cache(maxsize=256)
def _compiled(path: str):
    return parse_jsonpath(path)


def _walk(value: Any, steps: Sequence[str | None], parents: tuple) -> Iterator[tuple[Any, tuple]]:
    if not steps:
        yield value, parents
        return
    step, rest = steps[0], steps[1:]
    if step is None:
        if isinstance(value, list):
            for item in value:
                yield from _walk(item, rest, parents)
        elif isinstance(value, Mapping):  # [*] on an object walks its values, as JSONPath does
            for item in value.values():
                yield from _walk(item, rest, parents)
    elif isinstance(value, Mapping) and step in value:
        yield from _walk(value[step], rest, parents + (value,))


def find(document: Any, path: str) -> Iterator[tuple[Any, tuple]]:
    """Yield (value, enclosing objects outermost first) for every match of ``path``."""
    steps = _simple_steps(path)
    if steps is not None:
        yield from _walk(document, steps, ())
        return
    for match in _compiled(path).find(document):
        parents = []
        ctx = match.context
        while ctx is not None:
            if isinstance(ctx.value, Mapping):
                parents.append(ctx.value)
            ctx = ctx.context
        yield match.value, tuple(reversed(parents))


def extract_records(
    document: Any,
    data_path: str | None = None,
    parent_fields: Mapping[str, str] | None = None,
    scalar_column: str | None = None,
) -> list[dict]:
    """The rows of one response.

    Without a data path a bare list is rows and an object is one row. ``parent_fields``
    copies keys of enclosing objects onto each row (column -> key of the nearest enclosing
    object that has it); ``scalar_column`` turns scalar matches (a list of user ids) into
    rows with that one column. Credentials (:data:`SECRET_FIELDS`) are redacted.
    """
    if data_path is None:
        matches = [(item, ()) for item in document] if isinstance(document, list) else [(document, ())]
    else:
        matches = find(document, data_path)
    rows: list[dict] = []
    for value, parents in matches:
        if value is None:
            continue
        if isinstance(value, Mapping):
            row = dict(value)
        else:
            row = {scalar_column or "value": value}
        if parent_fields:
            for column, key in parent_fields.items():
                if column in row:
                    continue
                for parent in reversed(parents):
                    if key in parent:
                        row[column] = REDACTED if _secret(key, parent[key]) else parent[key]
                        break
        rows.append(redact_secrets(row))
    return rows


def extract_metadata(document: Any, metadata_path: str | None) -> list:
    """Values at the metadata path (lists are flattened), e.g. Moodle's ``warnings``."""
    if not metadata_path:
        return []
    out: list = []
    for value, _ in find(document, metadata_path):
        if isinstance(value, list):
            out.extend(value)
        elif value is not None:
            out.append(value)
    return redact_secrets(out)


def first(document: Any, path: str) -> Any:
    """The first value at ``path`` or None (e.g. a paged answer's ``total``)."""
    for value, _ in find(document, path):
        return value
    return None
