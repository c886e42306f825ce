"""Partitions start on a fixed day, never computed from today: a partition that exists once
exists every later day, and the keys tests and backfills name stay valid."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from moodle_assets import clock
from moodle_assets.assets.partitions import DEFAULT_START, partition_start, partitions_for
from moodle_assets.endpoints import load_specs
from moodle_assets.endpoints.spec import Partition

# Days the suite materialises (the demo site's events run around 2026-11-26).
USED_KEYS = ["2026-03-01", "2026-10-01", "2026-10-15", "2026-10-31", "2026-11-26", "2026-12-20"]
YEARS_AHEAD = [datetime(year, month, 2, 3, tzinfo=UTC) for year in (2026, 2027, 2028, 2031, 2036) for month in (1, 12)]


def calendar_partition() -> Partition:
    return {s.name: s for s in load_specs(include_user=False)}["calendar_events"].partition


def test_the_default_start_is_a_fixed_day():
    assert DEFAULT_START == "2025-01-01"
    assert partition_start(Partition(type="daily")) == DEFAULT_START


@pytest.mark.parametrize("kind, first", [("daily", "2025-01-01"), ("weekly", "2025-01-05"), ("monthly", "2025-01-01")])
def test_partitions_never_disappear_as_years_pass(monkeypatch, kind, first):
    """Whatever day Dagster and the project clock say it is, the first partition stays put and
    every key of an earlier day is still there."""
    monkeypatch.delenv("MOODLE_CALENDAR_START", raising=False)
    seen: list[str] = []
    for moment in YEARS_AHEAD:
        with clock.frozen(moment):
            definition = partitions_for(Partition(type=kind, end_offset=30))
        keys = definition.get_partition_keys(current_time=moment)
        assert keys[0] == first
        assert keys[: len(seen)] == seen
        seen = keys


def test_the_calendar_keys_the_suite_uses_exist_in_any_year(monkeypatch):
    monkeypatch.delenv("MOODLE_CALENDAR_START", raising=False)
    definition = partitions_for(calendar_partition())
    for moment in YEARS_AHEAD[2:]:
        keys = set(definition.get_partition_keys(current_time=moment))
        assert set(USED_KEYS) <= keys, moment


def test_spec_start_then_environment_override_the_default(monkeypatch):
    monkeypatch.delenv("MY_START", raising=False)
    assert partition_start(Partition(type="daily", start="2023-09-01")) == "2023-09-01"
    # YAML reads an unquoted 2023-09-01 as a date.
    assert partition_start(Partition(type="daily", start=date(2023, 9, 1))) == "2023-09-01"
    spec = Partition(type="daily", start="2023-09-01", env_start="MY_START")
    assert partition_start(spec) == "2023-09-01"
    monkeypatch.setenv("MY_START", "  ")
    assert partition_start(spec) == "2023-09-01"  # empty: not set
    monkeypatch.setenv("MY_START", "2020-02-29")
    assert partition_start(spec) == "2020-02-29"
    assert partitions_for(spec).get_first_partition_key() == "2020-02-29"
    assert partition_start(Partition(type="daily", env_start="MY_START")) == "2020-02-29"


def test_the_calendar_start_comes_from_its_environment_variable(monkeypatch):
    monkeypatch.delenv("MOODLE_CALENDAR_START", raising=False)
    assert partitions_for(calendar_partition()).get_first_partition_key() == DEFAULT_START
    monkeypatch.setenv("MOODLE_CALENDAR_START", "2022-08-15")
    assert partitions_for(calendar_partition()).get_first_partition_key() == "2022-08-15"


@pytest.mark.parametrize(
    "partition, message",
    [
        (
            Partition(type="daily", start="01/09/2023"),
            "partition.start is '01/09/2023': use an ISO date such as 2025-01-01",
        ),
        (Partition(type="daily", start="20230901"), "partition.start is '20230901'"),
        (Partition(type="daily", env_start="MY_START"), "environment variable MY_START is 'last year'"),
    ],
)
def test_a_start_that_is_not_a_date_is_refused_by_name(monkeypatch, partition, message):
    monkeypatch.setenv("MY_START", "last year")
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        partitions_for(partition)
