"""The fan-out progress log: a line every few seconds, none for a load that ends before the first.

Every log line is an event the run writes to its event log, so a one-call asset logging
"1/1 items" cost each step one more write; its materialisation carries the same figures.
"""

from types import SimpleNamespace

import pytest

from moodle_assets.assets import reporting
from moodle_assets.assets.reporting import Progress
from moodle_assets.endpoints.runner import HarvestOutcome


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(reporting.time, "monotonic", clock)
    return clock


def progress(total: int) -> tuple[Progress, list[str]]:
    lines: list[str] = []
    context = SimpleNamespace(log=SimpleNamespace(info=lines.append))
    client = SimpleNamespace(stats=SimpleNamespace(total_calls=lambda: 7))
    return Progress(context, total, client), lines


def test_a_load_done_within_the_first_interval_logs_nothing(clock):
    report, lines = progress(total=3)
    for done in (1, 2, 3):
        clock.now += 1
        report(HarvestOutcome(records=10 * done), done)
    assert lines == []


def test_a_long_load_logs_every_interval_and_its_end(clock):
    report, lines = progress(total=4)
    for done, seconds in ((1, 2), (2, 4), (3, 1), (4, 1)):  # 2 s, 6 s, 7 s, 8 s after the start
        clock.now += seconds
        report(HarvestOutcome(records=10 * done), done)
    assert lines == [
        "2/4 items, 7 calls, 20 rows, 6s elapsed, ~6s left",
        "4/4 items, 7 calls, 40 rows, 8s elapsed, ~0s left",
    ]


def test_a_one_item_load_past_the_interval_says_it_is_done(clock):
    report, lines = progress(total=1)
    clock.now += 6
    report(HarvestOutcome(records=5), 1)
    assert lines == ["1/1 items, 7 calls, 5 rows, 6s elapsed, ~0s left"]
