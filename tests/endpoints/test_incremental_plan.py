"""What an incremental run re-reads: signals, new and failed items, and the rotation.

Hand-built warehouse states, so each expectation is computed here from the rule it checks:
the rotation re-reads ceil(items / rotate) of the items read longest ago (ties by item key),
never counting those a signal already names; a failed item is not counted as read.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace

import duckdb
import pytest

from moodle_assets.endpoints import incremental
from moodle_assets.warehouse import Warehouse

DAY = 86400
NOW = 1_800_000_000
CUTOFF = NOW - DAY


def spec(changed: str = "SELECT id FROM moodle.signal WHERE t >= {cutoff}", rotate: int | None = None):
    return SimpleNamespace(
        name="things",
        table="moodle.things",
        incremental=SimpleNamespace(changed=changed, rotate=rotate, deps=("signal",)),
    )


@pytest.fixture()
def warehouse(tmp_path) -> Warehouse:
    return Warehouse(str(tmp_path / "w.duckdb"), snapshot_path=None)


def seed(warehouse: Warehouse, verified: dict[str, int | None], signal: dict[str, int], with_time: bool = True):
    """A table loaded before, the items it covered (with when each was read), a signal table."""
    with duckdb.connect(warehouse.path) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS moodle")
        con.execute("CREATE TABLE moodle.things (id VARCHAR, _item VARCHAR)")
        con.execute("INSERT INTO moodle.things SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[])", [list(verified)] * 2)
        con.execute("CREATE TABLE moodle._loads (table_name VARCHAR, meta JSON)")
        con.execute("INSERT INTO moodle._loads VALUES ('moodle.things', ?)", [json.dumps({"cutoff": CUTOFF})])
        if with_time:
            con.execute("CREATE TABLE moodle._items (table_name VARCHAR, item VARCHAR, verified_at BIGINT)")
            for item, at in verified.items():
                con.execute("INSERT INTO moodle._items VALUES ('moodle.things', ?, ?)", [item, at])
        else:  # a warehouse written before items carried their read time
            con.execute("CREATE TABLE moodle._items (table_name VARCHAR, item VARCHAR)")
            for item in verified:
                con.execute("INSERT INTO moodle._items VALUES ('moodle.things', ?)", [item])
        con.execute("CREATE TABLE moodle.signal (id VARCHAR, t BIGINT)")
        for item, t in signal.items():
            con.execute("INSERT INTO moodle.signal VALUES (?, ?)", [item, t])


def items(*names: str) -> list[dict]:
    return [{"id": n} for n in names]


def planned(plan) -> list[str]:
    return sorted(r["id"] for r in plan.rows)


def test_the_signal_names_what_to_read_and_the_rest_is_kept(warehouse):
    seed(warehouse, {"a": NOW - DAY, "b": NOW - DAY, "c": NOW - DAY}, {"b": CUTOFF + 5, "c": CUTOFF - 5})
    plan = incremental.plan(spec(), warehouse, items("a", "b", "c", "d"), ["id"], NOW)
    # b changed since the cut-off; c changed before it; d is new
    assert planned(plan) == ["b", "d"]
    assert (plan.changed, plan.rotated, plan.kept, plan.gone) == (1, 0, 2, 0)
    assert plan.oldest_verified == NOW - DAY


def test_rotation_reads_the_share_read_longest_ago_ties_by_key(warehouse):
    verified = {"a": NOW - 3 * DAY, "b": NOW - DAY, "c": NOW - 5 * DAY, "d": NOW - DAY, "e": NOW - DAY}
    verified |= {"f": NOW - 2 * DAY, "g": NOW - DAY, "h": NOW - DAY, "i": NOW - DAY, "j": NOW - DAY}
    seed(warehouse, verified, {})
    plan = incremental.plan(spec(rotate=3), warehouse, items(*verified), ["id"], NOW)
    # ceil(10 / 3) = 4: c (5 days), a (3), f (2), then of the seven read a day ago the first key: b
    assert planned(plan) == ["a", "b", "c", "f"]
    assert (plan.rotated, plan.changed, plan.kept) == (4, 0, 6)
    assert plan.oldest_verified == NOW - DAY


def test_rotation_quota_is_a_share_of_all_items_and_skips_those_read_anyway(warehouse):
    verified = {k: NOW - (10 - i) * DAY for i, k in enumerate("abcdef")}  # a oldest ... f newest
    seed(warehouse, verified, {"a": NOW, "b": NOW})
    plan = incremental.plan(spec(rotate=3), warehouse, items(*verified), ["id"], NOW)
    # a and b by the signal; ceil(6 / 3) = 2 more, the oldest of the rest: c, d
    assert planned(plan) == ["a", "b", "c", "d"]
    assert (plan.changed, plan.rotated) == (2, 2)
    assert plan.oldest_verified == verified["e"]


def test_items_without_a_read_time_are_read_first(warehouse):
    seed(warehouse, {"a": None, "b": None, "c": None}, {}, with_time=False)
    plan = incremental.plan(spec(rotate=2), warehouse, items("a", "b", "c"), ["id"], NOW)
    assert planned(plan) == ["a", "b"]
    assert plan.oldest_verified == 0


def test_a_missing_signal_table_reads_everything_and_says_so(warehouse):
    seed(warehouse, {"a": NOW}, {})
    said = []
    plan = incremental.plan(
        spec("SELECT id FROM moodle.nowhere WHERE t >= {cutoff}"), warehouse, items("a"), ["id"], NOW, said.append
    )
    assert plan is None
    assert said and "not in the warehouse yet" in said[0] and "signal" in said[0]


def test_a_wrong_changed_query_is_an_error_naming_the_asset(warehouse):
    seed(warehouse, {"a": NOW}, {})
    with pytest.raises(incremental.ChangedQueryError, match="things: the incremental changed query failed"):
        incremental.plan(spec("SELECT nope FROM moodle.signal WHERE t >= {cutoff}"), warehouse, items("a"), ["id"], NOW)


def test_a_changed_query_naming_other_columns_is_an_error_saying_which(warehouse):
    seed(warehouse, {"a": NOW}, {"a": NOW})
    with pytest.raises(incremental.ChangedQueryError, match="returns the columns userid, not the lookup's id"):
        incremental.plan(
            spec("SELECT id AS userid FROM moodle.signal WHERE t >= {cutoff}"), warehouse, items("a"), ["id"], NOW
        )


def test_a_changed_query_without_cutoff_compares_tables(warehouse):
    # e.g. rows whose value differs from another table's: no time involved
    seed(warehouse, {"a": NOW, "b": NOW}, {"b": 1})
    plan = incremental.plan(spec("SELECT id FROM moodle.signal WHERE t = 1"), warehouse, items("a", "b"), ["id"], NOW)
    assert planned(plan) == ["b"]


def test_remember_items_stamps_what_was_read_but_not_what_failed(warehouse):
    seed(warehouse, {"a": NOW - 9 * DAY, "b": NOW - 9 * DAY, "c": NOW - 9 * DAY}, {}, with_time=False)
    failed = SimpleNamespace(errors=[{"partition_key": "b"}])
    moment = datetime.fromtimestamp(NOW, UTC)
    incremental.remember_items(
        warehouse, "moodle.things", items("a", "b", "c", "d"), ["id"], moment, items("a", "b", "d"), failed
    )
    stored = dict(warehouse.query("SELECT item, verified_at FROM moodle._items ORDER BY item"))
    # a and d read now; b failed (never read: the old table had no time, so 0); c kept
    assert stored == {"a": NOW, "b": 0, "c": 0, "d": NOW}
