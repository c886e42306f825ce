"""A fan-out item's pages past the first few wait on disk, and come back exactly.

One course can be the whole site (22,600 students, 227 pages at the demo's 100x); holding all
its parsed pages until the walk ends grew a run's memory with the largest course.
"""

from __future__ import annotations

from moodle_assets.endpoints import held as held_module
from moodle_assets.endpoints.held import HeldPages
from tests.endpoints.test_runner_failures import USERS, envelope, loaded, on, run, spec_of

FAN_OUT = {"params": {"courseid": "{courses.id}"}, "paginate": {"style": "limit_offset", "page_size": 1}}


def test_pages_past_the_memory_bound_go_to_disk_and_come_back_in_order_and_exact():
    pages = [
        ([{"id": i, "big": 2**70 + i, "name": "Zoë ✓", "nested": {"list": [1.5, None, True]}}], [{"page": i}])
        for i in range(7)
    ]
    held = HeldPages(in_memory=3)
    for records, metadata in pages:
        held.append(records, metadata)
    assert len(held) == 7 and len(held._pages) == 3  # four on disk
    spill = held._spill
    assert spill is not None and spill.tell() > 0
    assert list(held) == pages
    assert list(held) == pages  # read twice: the file is read from its start each time
    held.close()
    assert spill.closed and len(held) == 0 and list(held) == []


def test_a_small_item_never_touches_the_disk():
    held = HeldPages(in_memory=3)
    held.append([{"id": 1}], [])
    assert held._spill is None and list(held) == [([{"id": 1}], [])]


def spills(monkeypatch) -> list[int]:
    """Every page after an item's first is spilled; returns the pages each item had on disk."""
    monkeypatch.setattr(held_module, "IN_MEMORY_PAGES", 1)
    seen: list[int] = []
    close = HeldPages.close

    def counting_close(self):
        seen.append(self._spilled)
        close(self)

    monkeypatch.setattr(HeldPages, "close", counting_close)
    return seen


def test_a_walk_longer_than_the_memory_bound_loads_every_page(monkeypatch):
    spilled = spills(monkeypatch)
    outcome, sunk = run(spec_of(**FAN_OUT), [{"id": 2}, {"id": 3}], lambda form: None)
    assert loaded(sunk) == [(c, u["id"]) for c in (2, 3) for u in USERS[c]]
    assert outcome.errors == []
    assert sorted(spilled) == [2, 2]  # three pages per course: one in memory, two on disk


def test_an_error_after_spilled_pages_still_loads_none_of_the_item(monkeypatch):
    spilled = spills(monkeypatch)
    outcome, sunk = run(spec_of(**FAN_OUT), [{"id": 2}, {"id": 3}], on(3, 2, envelope("nopermissions")))
    assert loaded(sunk) == [(2, 3), (2, 4), (2, 5)]
    [error] = outcome.errors
    assert error["message"].endswith(
        "It failed on page 3 after 2 page(s) had been read; none of this item's records are loaded."
    )
    assert sorted(spilled) == [1, 2]  # course 3 had one page on disk when its walk failed
