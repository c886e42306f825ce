"""What a materialisation tells the user: column descriptions, a preview, progress logs."""

import time
from collections.abc import Mapping, Sequence

from dagster import AssetExecutionContext

from moodle_assets.endpoints.columns import (  # noqa: F401 (Field, field_history: re-exported)
    PARTITION_COLUMN,
    TIME_SCHEMA,
    Field,
    column_descriptions,
    declared_columns,
    field_history,
    table_description,
    unix_time_columns,
)
from moodle_assets.endpoints.runner import HarvestOutcome
from moodle_assets.endpoints.spec import EndpointSpec
from moodle_assets.moodle import MoodleClient


def describe_columns(
    spec: EndpointSpec, columns: Mapping[str, str], function: str, catalog: Sequence[EndpointSpec] = ()
) -> list[tuple[str, str, str]]:
    """(name, type, description) of every column: Moodle's own description of its fields, with
    what the project knows (JSON, unix time, the release that added or removed it), and what the
    columns the project adds mean. An exploded list's fields are those of its parent's function
    (from ``catalog``). See :mod:`moodle_assets.endpoints.columns`."""
    texts = column_descriptions(spec, list(columns), function, catalog)
    return [(name, type_, texts[name]) for name, type_ in columns.items()]


class Progress:
    """Logs fan-out progress every few seconds: items done, calls, rows, time left.

    A load done before the first line is due logs nothing: its materialisation says the same,
    and every log line is one more event the run writes to its event log (a one-call asset
    used to log a "1/1 items" line)."""

    EVERY = 5  # seconds

    def __init__(self, context: AssetExecutionContext, total: int, client: MoodleClient):
        self.context, self.total, self.client = context, total, client
        self.started = self.last = time.monotonic()
        self.logged = False

    def __call__(self, outcome: HarvestOutcome, done: int) -> None:
        now = time.monotonic()
        if now - self.last < self.EVERY and (done < self.total or not self.logged):
            return
        self.last, self.logged = now, True
        elapsed = now - self.started
        left = elapsed / done * (self.total - done) if done else 0
        self.context.log.info(
            f"{done}/{self.total} items, {self.client.stats.total_calls()} calls, "
            f"{outcome.records} rows, {elapsed:.0f}s elapsed, ~{left:.0f}s left"
        )
