"""The project's one clock: what "now" is for everything that measures time on the site.

The demo dataset's moment, the endpoint macros ``{now}``/``{now-N}``, the incremental
cut-off, the ``test`` command, the analytics ``$now`` and the demo's calendar window all read
:func:`now`, so they agree with each other. By default it is the system clock. It can be set

- in-process, with :func:`set_now` or the :func:`frozen` context manager, and
- for every process started afterwards, with the environment variable ``MOODLE_ASSETS_NOW``
  (unix seconds, e.g. ``1795700000``, or an ISO date-time, e.g. ``2026-11-26T13:33:20Z``;
  a date-time without a zone is UTC), so a demo server process, Dagster step subprocesses
  and the CLI see the same moment.

The in-process setting wins over the environment. A set clock stands still. Bookkeeping of
when something really happened (``_loaded_at``, ``moodle._loads.loaded_at``, durations)
stays on the system clock.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

ENV = "MOODLE_ASSETS_NOW"

Moment = int | float | str | datetime

_override: datetime | None = None


def parse(value: Moment) -> datetime:
    """An aware UTC datetime from unix seconds, an ISO date(-time) or a datetime."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        text = value.strip()
        try:
            return datetime.fromtimestamp(float(text), UTC)
        except (ValueError, OverflowError, OSError):
            pass
        try:
            return parse(datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00")))
        except ValueError:
            pass
    raise ValueError(
        f"{value!r} is not a moment: use unix seconds (1795700000) or an ISO date-time (2026-11-26T13:33:20Z)"
    )


def now() -> datetime:
    """The current moment, an aware UTC datetime: the in-process setting, else ``MOODLE_ASSETS_NOW``,
    else the system clock."""
    if _override is not None:
        return _override
    text = os.environ.get(ENV, "").strip()
    if text:
        try:
            return parse(text)
        except ValueError as exc:
            raise ValueError(f"{ENV}: {exc}") from None
    return datetime.now(UTC)


def now_ts() -> int:
    """:func:`now` in whole unix seconds."""
    return int(now().timestamp())


def today() -> date:
    """:func:`now`'s UTC date."""
    return now().date()


def set_now(value: Moment | None) -> None:
    """Set this process's clock to ``value``; None returns it to the environment or system clock."""
    global _override
    _override = None if value is None else parse(value)


@contextmanager
def frozen(value: Moment, environment: bool = False) -> Iterator[datetime]:
    """The clock stands at ``value`` inside the block; with ``environment``, processes started
    inside it see the same moment through ``MOODLE_ASSETS_NOW``."""
    global _override
    moment = parse(value)
    previous, previous_env = _override, os.environ.get(ENV)
    _override = moment
    if environment:
        os.environ[ENV] = str(int(moment.timestamp())) if moment.microsecond == 0 else moment.isoformat()
    try:
        yield moment
    finally:
        _override = previous
        if environment:
            if previous_env is None:
                os.environ.pop(ENV, None)
            else:
                os.environ[ENV] = previous_env
