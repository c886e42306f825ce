"""Time partitions for endpoints with a ``partition`` section.

Where the partitions start is fixed, never computed from today, so a partition that exists
today exists every later day (nothing rolls off at New Year) and a partition key written in a
test, a backfill or a schedule stays valid. The start is, first found:

1. the environment variable the spec names in ``env_start`` (e.g. ``MOODLE_CALENDAR_START`` for
   ``calendar_events``), for one site's history without editing a spec;
2. the spec's ``start``;
3. :data:`DEFAULT_START`, 2025-01-01.

Each is an ISO date (``YYYY-MM-DD``). 2025-01-01 is the start every installation had when the
project was first released (the default was then "1 January of last year"), so a warehouse
loaded back then keeps every partition it has; it covers the current and the previous
academic year, and keeps the partition list (and the UI's partition bar) short. Moving the
start later drops the partitions before it from Dagster's view (not from DuckDB); set an
earlier one to backfill older history. Partitions end ``end_offset`` periods after today
(Dagster's clock).
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Sequence
from datetime import UTC, datetime

from dagster import (
    DailyPartitionsDefinition,
    MonthlyPartitionsDefinition,
    TimeWindowPartitionsDefinition,
    WeeklyPartitionsDefinition,
)

from moodle_assets.endpoints.spec import Partition

_KINDS = {
    "daily": DailyPartitionsDefinition,
    "weekly": WeeklyPartitionsDefinition,
    "monthly": MonthlyPartitionsDefinition,
}

DEFAULT_START = "2025-01-01"


def partition_start(partition: Partition) -> str:
    """The first day of ``partition``'s partitions: ``env_start``'s variable, else ``start``, else
    :data:`DEFAULT_START`. Raises ValueError naming the setting when it is not an ISO date."""
    from_env = partition.env_start and os.environ.get(partition.env_start, "").strip()
    if from_env:
        where, start = f"environment variable {partition.env_start}", from_env
    elif partition.start:
        where, start = "partition.start", str(partition.start)
    else:
        return DEFAULT_START
    try:
        datetime.strptime(start, "%Y-%m-%d")
    except ValueError:
        raise ValueError(f"{where} is {start!r}: use an ISO date such as {DEFAULT_START}") from None
    return start


def partitions_for(partition: Partition) -> TimeWindowPartitionsDefinition:
    return _KINDS[partition.type](
        start_date=partition_start(partition), end_offset=partition.end_offset, timezone="UTC"
    )


class PartitionPlacer:
    """Places a record in one of the partitions being loaded by a unix timestamp field."""

    def __init__(self, partitions_def: TimeWindowPartitionsDefinition, keys: Sequence[str]):
        windows = sorted((partitions_def.time_window_for_partition_key(key), key) for key in keys)
        self._starts = [w.start.timestamp() for w, _ in windows]
        self._ends = [w.end.timestamp() for w, _ in windows]
        self._keys = [k for _, k in windows]

    def key_for(self, timestamp: float | None) -> str | None:
        """The partition key holding ``timestamp``, or None if outside every loaded window."""
        if timestamp is None:
            return None
        i = bisect.bisect_right(self._starts, float(timestamp)) - 1
        if i >= 0 and timestamp < self._ends[i]:
            return self._keys[i]
        return None

    @property
    def keys(self) -> list[str]:
        return list(self._keys)

    def window(self) -> tuple[datetime, datetime]:
        return (datetime.fromtimestamp(self._starts[0], UTC), datetime.fromtimestamp(self._ends[-1], UTC))
