"""Time partitions for endpoints with a ``partition`` section.

The start date is a project setting (the spec's ``env_start`` variable, else its ``start``,
else 1 January of last year), so the set of partitions is stable from day to day.
"""

from __future__ import annotations

import bisect
import os
from datetime import date, datetime, timezone
from typing import Sequence

from dagster import (
    DailyPartitionsDefinition,
    MonthlyPartitionsDefinition,
    TimeWindowPartitionsDefinition,
    WeeklyPartitionsDefinition,
)

from moodle_assets.endpoints.spec import Partition

_KINDS = {"daily": DailyPartitionsDefinition, "weekly": WeeklyPartitionsDefinition, "monthly": MonthlyPartitionsDefinition}


def default_start(today: date | None = None) -> str:
    today = today or datetime.now(timezone.utc).date()
    return date(today.year - 1, 1, 1).isoformat()


def partitions_for(partition: Partition) -> TimeWindowPartitionsDefinition:
    start = (partition.env_start and os.environ.get(partition.env_start)) or partition.start or default_start()
    return _KINDS[partition.type](start_date=start, end_offset=partition.end_offset, timezone="UTC")


class PartitionPlacer:
    """Places a record in one of the partitions being loaded by a unix timestamp field."""

    def __init__(self, partitions_def: TimeWindowPartitionsDefinition, keys: Sequence[str]):
        windows = sorted(
            (partitions_def.time_window_for_partition_key(key), key) for key in keys
        )
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
        return (
            datetime.fromtimestamp(self._starts[0], timezone.utc),
            datetime.fromtimestamp(self._ends[-1], timezone.utc),
        )
