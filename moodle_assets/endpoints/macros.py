"""Macros inside endpoint params: date/time, partition window and lookups.

``{now}``, ``{now-30}``, ``{now+1}`` count in the spec's ``time_unit`` and render in its
``date_format`` (unix seconds by default, else a strftime pattern, always UTC); "now" is
the project clock (:mod:`moodle_assets.clock`: the system clock unless ``MOODLE_ASSETS_NOW``
sets it), read once per load so every call of a load sends the same moment.
``{partition_start}``/``{partition_end}`` are the bounds of the partition being loaded.
``{ASSET.COLUMN}`` fans out one call per value of a column of another asset's table;
``{ASSET.COLUMN[]}`` sends the values as an array parameter, ``batch`` values per call.
A string that is exactly one macro takes the macro's type (an int stays an int); a macro
inside longer text is substituted as text.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Iterator, Mapping

from moodle_assets import clock

if TYPE_CHECKING:
    from moodle_assets.endpoints.spec import EndpointSpec

MACRO_RE = re.compile(r"\{([^{}]*)\}")
NOW_RE = re.compile(r"^now(?:([+-])(\d+))?$")
LOOKUP_RE = re.compile(r"^([a-z][a-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)(\[\])?$")
WINDOW_MACROS = ("partition_start", "partition_end")


class MacroError(ValueError):
    """A macro that cannot be resolved at run time (e.g. a partition macro outside a partition)."""


@dataclass(frozen=True)
class LookupRef:
    asset: str
    column: str
    array: bool
    path: tuple[str, ...]  # where in params the macro sits

    @property
    def key(self) -> str:
        return f"{self.asset}.{self.column}"


def context_column(ref: LookupRef) -> str | None:
    """The column a per-value lookup's value is kept in on every row of that call.

    It is the parameter's name; a value sent as ``id`` (core_competency_list_course_competencies)
    is named after its asset (courses -> courseid) so it cannot clash with the record's ``id``.
    Array lookups have no single value per row: None.
    """
    if ref.array or not ref.path:
        return None
    leaf = ref.path[-1] if not ref.path[-1].isdigit() else ref.path[-2]
    if leaf == "id":
        return (ref.asset[:-1] if ref.asset.endswith("s") else ref.asset) + "id"
    return leaf


def iter_strings(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    """Yield (path, string) for every string leaf of a nested params structure."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from iter_strings(v, path + (str(k),))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from iter_strings(v, path + (str(i),))


def lookup_refs(params: Mapping[str, Any]) -> list[LookupRef]:
    refs = []
    for path, text in iter_strings(params):
        for body in MACRO_RE.findall(text):
            m = LOOKUP_RE.match(body.strip())
            if m:
                refs.append(LookupRef(m.group(1), m.group(2), bool(m.group(3)), path))
    return refs


def check_macros(spec: "EndpointSpec") -> list[tuple[str, str]]:
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
                problems.append((
                    fieldname,
                    f"unknown macro {{{body}}}; use {{now}}, {{now-N}}, {{now+N}}, {{partition_start}}, "
                    "{partition_end}, {ASSET.COLUMN} or {ASSET.COLUMN[]}",
                ))
    refs = lookup_refs(spec.params)
    assets = {r.asset for r in refs}
    if "lookup" in assets and spec.lookup is None:
        problems.append(("params", "{lookup.COLUMN} needs a 'lookup' query on the endpoint"))
    if len(assets - {"lookup"}) > 1 or (spec.lookup and assets - {"lookup"}):
        problems.append((
            "params",
            f"lookups on several assets ({', '.join(sorted(assets))}) would multiply; "
            "join them in a 'lookup' query and use {lookup.COLUMN}",
        ))
    if len({r.array for r in refs}) > 1:
        problems.append(("params", "mix of per-value {A.c} and array {A.c[]} lookups; use one kind per endpoint"))
    if spec.incremental and (not refs or any(r.array for r in refs)):
        problems.append(("incremental", "needs a per-value lookup ({ASSET.COLUMN} or {lookup.COLUMN}) to refresh items"))
    if spec.batch is not None and not any(r.array for r in refs):
        problems.append(("batch", "is only used with an array lookup {ASSET.COLUMN[]}"))
    keys = {r.key for r in refs}
    for s in spec.settings.values():
        if s.filters and s.filters not in keys:
            problems.append((f"settings.{s.name}", f"filters {s.filters!r}, which is not a lookup of this endpoint"))
    return problems


def shift(now: datetime, amount: int, unit: str) -> datetime:
    """``now`` moved by ``amount`` time units; months move on the calendar, clamping the day."""
    if unit == "month":
        month0 = now.month - 1 + amount
        year, month = now.year + month0 // 12, month0 % 12 + 1
        day = min(now.day, calendar.monthrange(year, month)[1])
        return now.replace(year=year, month=month, day=day)
    return now + timedelta(**{f"{unit}s": amount})


def format_time(moment: datetime, date_format: str) -> int | str:
    moment = moment.astimezone(timezone.utc)
    if date_format == "unix":
        return int(moment.timestamp())
    return moment.strftime(date_format)


@dataclass(frozen=True)
class MacroContext:
    """What macros resolve against for one call (``now`` defaults to the project clock)."""

    now: datetime = field(default_factory=clock.now)
    time_unit: str = "day"
    date_format: str = "unix"
    window: tuple[datetime, datetime] | None = None
    row: Mapping[str, Any] | None = None  # lookup values: "asset.column" -> value (or list of values)

    def value(self, body: str) -> Any:
        body = body.strip()
        m = NOW_RE.match(body)
        if m:
            amount = int(m.group(2) or 0) * (-1 if m.group(1) == "-" else 1)
            return format_time(shift(self.now, amount, self.time_unit), self.date_format)
        if body in WINDOW_MACROS:
            if self.window is None:
                raise MacroError(f"{{{body}}} is only available when a partition is materialised")
            return format_time(self.window[0 if body == "partition_start" else 1], self.date_format)
        m = LOOKUP_RE.match(body)
        if m and self.row is not None:
            key = f"{m.group(1)}.{m.group(2)}"
            if key in self.row:
                return self.row[key]
        raise MacroError(f"no value for macro {{{body}}}")


def render(value: Any, ctx: MacroContext) -> Any:
    """Resolve every macro in a nested params structure."""
    if isinstance(value, str):
        bodies = MACRO_RE.findall(value)
        if not bodies:
            return value
        if len(bodies) == 1 and value == "{" + bodies[0] + "}":
            return ctx.value(bodies[0])
        return MACRO_RE.sub(lambda m: str(ctx.value(m.group(1))), value)
    if isinstance(value, Mapping):
        return {k: render(v, ctx) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, ctx) for v in value]
    return value
