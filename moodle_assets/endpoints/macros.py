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
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from moodle_assets import clock

MACRO_RE = re.compile(r"\{([^{}]*)\}")
NOW_RE = re.compile(r"^now(?:([+-])(\d+))?$")
LOOKUP_RE = re.compile(r"^([a-z][a-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)(\[\])?$")
WINDOW_MACROS = ("partition_start", "partition_end")


class MacroError(ValueError):
    """A macro that cannot be resolved at run time (e.g. a partition macro outside a partition)."""


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


def shift(now: datetime, amount: int, unit: str) -> datetime:
    """``now`` moved by ``amount`` time units; months move on the calendar, clamping the day."""
    if unit == "month":
        month0 = now.month - 1 + amount
        year, month = now.year + month0 // 12, month0 % 12 + 1
        day = min(now.day, calendar.monthrange(year, month)[1])
        return now.replace(year=year, month=month, day=day)
    return now + timedelta(**{f"{unit}s": amount})


def format_time(moment: datetime, date_format: str) -> int | str:
    moment = moment.astimezone(UTC)
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
