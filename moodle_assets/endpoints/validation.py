"""Endpoint specs from YAML mappings, with every problem in words that name where it is.

The format itself is the pydantic model in :mod:`moodle_assets.endpoints.spec`; this module
reads YAML keeping the line of every key, turns pydantic's errors into the model's ``Says``
messages (file, line, endpoint and field), and adds what one field cannot know alone: the
macros, the lookups and settings that refer to other fields. Every problem of an endpoint is
listed at once, so one edit-and-reload fixes them all.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from moodle_assets.endpoints.lookups import QUERY
from moodle_assets.endpoints.macros import LOOKUP_RE, MACRO_RE, NOW_RE, WINDOW_MACROS, iter_strings
from moodle_assets.endpoints.spec import NAME_RE, EndpointSpec, Says
from moodle_assets.moodle.errors import is_permission_error

Path = tuple[Any, ...]


class _Marked(dict):
    """A YAML mapping that remembers the line of each key."""

    lines: dict[str, int]
    line: int


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode):
    data = _Marked()
    data.line = node.start_mark.line + 1
    data.lines = {}
    yield data
    data.update(loader.construct_mapping(node))
    for key_node, _ in node.value:
        data.lines.setdefault(str(key_node.value), key_node.start_mark.line + 1)


class MarkedLoader(yaml.SafeLoader):
    """yaml.safe_load, with the line of every mapping key kept (for messages)."""


MarkedLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=MarkedLoader)  # noqa: S506 - a SafeLoader


def line_of(raw: Any, path: Path) -> int | None:
    """The line of the deepest key of ``path`` that the YAML had (None: not read from YAML)."""
    line = getattr(raw, "line", None)
    node = raw
    for part in path:
        if isinstance(node, _Marked) and str(part) in node.lines:
            line = node.lines[str(part)]
        if isinstance(node, Mapping):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            break
    return line


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _value_at(raw: Any, path: Path) -> Any:
    for part in path:
        if isinstance(raw, Mapping):
            raw = raw.get(part)
        elif isinstance(raw, list) and isinstance(part, int) and part < len(raw):
            raw = raw[part]
        else:
            return None
    return raw


def _inner(annotation: Any) -> tuple[type[BaseModel] | None, int]:
    """The model a field's value holds and how many keys (a dict key, a list index) lead to it."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _inner(typing.get_args(annotation)[0])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, 0
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin in (dict, tuple, list):
        model, _ = _inner(args[-1]) if args and args[-1] is not Ellipsis else _inner(args[0]) if args else (None, 0)
        return model, 1
    if len(args) == 1:  # X | None
        return _inner(args[0])
    return None, 0


def _says(field: Any) -> Says | None:
    return next((m for m in field.metadata if isinstance(m, Says)), None)


def _translate(error: Mapping[str, Any], raw: Any) -> tuple[Path, str]:
    """(field path, message) of one pydantic error, in the words of the model's ``Says``."""
    model: type[BaseModel] | None = EndpointSpec
    skip, path, best = 0, [], None
    for part in error["loc"]:
        if skip:
            path.append(part)
            skip -= 1
        elif model is not None and isinstance(part, str) and part in model.model_fields:
            field = model.model_fields[part]
            path.append(part)
            if (says := _says(field)) is not None:
                best = (len(path), says)
            model, skip = _inner(field.annotation)
        elif model is not None and error["type"] == "extra_forbidden":
            path.append(part)
            return tuple(path), f"unknown field; known fields are {', '.join(sorted(model.model_fields))}"
        # else: a union member's tag (str, int, ...), not a place in the YAML
    if error["type"] == "spec":
        return tuple(path), error["msg"]
    if best is not None:
        at = tuple(path[: best[0]])
        return at, best[1](_value_at(raw, at))
    msg = error["msg"]
    return tuple(path), msg[:1].lower() + msg[1:]


def build_spec(raw: Any, source: str, index: int, partial: bool = False) -> tuple[EndpointSpec | None, list[str]]:
    """Validate one YAML mapping and build its spec; returns (spec or None, problems).

    With ``partial`` a spec with problems is still returned (built from the fields that are
    right), so the loader can check its macros and lookups too and list every problem of
    an endpoint at once.
    """
    if not isinstance(raw, Mapping):
        return None, [f"{source}: entry #{index + 1} must be a mapping with at least 'name' and 'function'"]
    name = raw.get("name") if isinstance(raw.get("name"), str) and NAME_RE.match(raw["name"]) else None
    found: dict[tuple[Path, str], None] = {}
    plain = _plain(raw)
    spec = None
    try:
        spec = EndpointSpec.model_validate(plain)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            found.setdefault(_translate(error, raw), None)
        # The fields that are right still make a spec, to check its macros and lookups too.
        bad = {path[:2] if path[:1] == ("settings",) else path[:1] for path, _ in found}
        kept = {k: v for k, v in plain.items() if (k,) not in bad}
        if isinstance(kept.get("settings"), dict):
            kept["settings"] = {k: v for k, v in kept["settings"].items() if ("settings", k) not in bad}
        if name is not None and ("name",) not in bad:
            try:
                spec = EndpointSpec.model_validate(kept)
            except ValidationError:
                spec = None
    if spec is not None:
        spec._source = source
        for where, message in (*cross_problems(spec, raw), *check_macros(spec)):
            found.setdefault((tuple(where.split(".")), message), None)
    problems = [_say(source, name, index, path, message, line_of(raw, path)) for path, message in found]
    if spec is None or (problems and not partial):
        return None, problems
    return spec, problems


def _say(source: str, name: str | None, index: int, path: Path, message: str, line: int | None) -> str:
    fieldname = ".".join(map(str, path))
    if name:
        where = f"{source}: endpoint '{name}'" + (f", field '{fieldname}'" if fieldname else "")
    elif fieldname == "name":
        where = f"{source}, field 'name' (entry #{index + 1})"
    else:
        where = f"{source}" + (f", field '{fieldname}'" if fieldname else "")
    return f"{where}: {message}" + (f" (line {line})" if line else "")


def cross_problems(spec: EndpointSpec, raw: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Problems of fields that refer to each other; (field, message) pairs."""
    problems: list[tuple[str, str]] = []
    if spec.explode is not None:
        if raw.get("function") is not None:
            problems.append(("function", "an 'explode' endpoint makes no Moodle call; remove 'function'"))
    elif not spec.function:
        problems.append(
            (
                "function",
                f"{raw.get('function')!r} is not a Moodle web-service function name (e.g. core_course_get_courses)",
            )
        )
    for setting in spec.settings.values():
        if setting.sets == "paginate.page_size" and spec.paginate is None:
            problems.append((f"settings.{setting.name}", "sets paginate.page_size but the endpoint has no 'paginate'"))
    for code in spec.empty_on:
        if is_permission_error(code):
            problems.append(
                (
                    "empty_on",
                    f"{code!r} says the token's user may not read the item, not that there is "
                    "no data: it is recorded as a failed item (moodle._errors, the failed_items check); "
                    "grant the capability instead",
                )
            )
    return problems


def check_macros(spec: EndpointSpec) -> list[tuple[str, str]]:
    """Validate every macro of a spec; returns (field, message) pairs."""
    problems: list[tuple[str, str]] = []
    for container, values in (("params", spec.params), ("headers", spec.headers)):
        for path, text in iter_strings(values):
            fieldname = ".".join((container,) + path)
            for body in MACRO_RE.findall(text):
                body = body.strip()
                if NOW_RE.match(body):
                    continue
                if body in WINDOW_MACROS:
                    if spec.partition is None:
                        problems.append((fieldname, f"{{{body}}} needs a 'partition' on the endpoint"))
                    continue
                m = LOOKUP_RE.match(body)
                if m and container == "params":
                    if m.group(3) and text != "{" + body + "}":
                        problems.append((fieldname, f"{{{body}}} is an array lookup and must be the whole value"))
                    continue
                problems.append(
                    (
                        fieldname,
                        f"unknown macro {{{body}}}; use {{now}}, {{now-N}}, {{now+N}}, {{partition_start}}, "
                        "{partition_end}, {ASSET.COLUMN} or {ASSET.COLUMN[]}",
                    )
                )
    fan_out = spec.fan_out
    refs = fan_out.refs if fan_out else ()
    assets = set(fan_out.assets) if fan_out else set()
    if QUERY in assets and spec.lookup is None:
        problems.append(("params", "{lookup.COLUMN} needs a 'lookup' query on the endpoint"))
    if len(assets - {QUERY}) > 1 or (spec.lookup and assets - {QUERY}):
        problems.append(
            (
                "params",
                f"lookups on several assets ({', '.join(sorted(assets))}) would multiply; "
                "join them in a 'lookup' query and use {lookup.COLUMN}",
            )
        )
    if len({r.array for r in refs}) > 1:
        problems.append(("params", "mix of per-value {A.c} and array {A.c[]} lookups; use one kind per endpoint"))
    if spec.incremental and (not refs or any(r.array for r in refs)):
        problems.append(
            ("incremental", "needs a per-value lookup ({ASSET.COLUMN} or {lookup.COLUMN}) to refresh items")
        )
    if spec.batch is not None and not any(r.array for r in refs):
        problems.append(("batch", "is only used with an array lookup {ASSET.COLUMN[]}"))
    keys = fan_out.keys if fan_out else frozenset()
    for s in spec.settings.values():
        if s.filters and s.filters not in keys:
            problems.append((f"settings.{s.name}", f"filters {s.filters!r}, which is not a lookup of this endpoint"))
    return problems
