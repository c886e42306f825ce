"""Incremental refresh after a realistic day: every table a full harvest would give, where a signal
sees the change; what none sees is bounded by a rotation (the quiet nights here run one; by
default the nightly schedule's weekly full refresh bounds it); a fraction of the calls.

The day (moodle_assets/demo/activity.py) has learners' visits and everything a site sees
without them: grading, gradebook overrides, completion overrides, badges, enrolments, a
renamed and a hidden course, events, due dates, groups, suspended and edited users, and the
overdue task closing an attempt. The nightly file is compared with a full harvest of the
changed site, table by table, on every column but load bookkeeping
(moodle_assets/warehouse/compare.py). docs/incremental.md says which signal catches what.
"""

from __future__ import annotations

import math

import pytest

from moodle_assets import clock
from moodle_assets.demo.activity import simulate_day
from moodle_assets.demo.dataset import DAY, DemoConfig, generate
from moodle_assets.demo.server import DEMO_TOKEN, DemoServer
from moodle_assets.endpoints import load_specs
from moodle_assets.warehouse.compare import compare
from tests.assets.helpers import endpoint_assets, materialization_metadata, resources, rows, run

SPECS = {s.name: s for s in load_specs(include_user=False)}
ROTATED = [name for name, s in SPECS.items() if s.incremental]
# The tables a change no signal shows may leave behind for a while, and the key of the rows it touches.
UNSIGNALLED_TABLES = {
    "activity_completion": ("courseid", "userid"),
    "course_completion": ("courseid", "userid"),
    "course_completion_criteria": ("courseid", "userid"),
    "user_courses": ("id", "userid"),
    "user_badges": (None, "userid"),
}
# The quiet nights rotate a third of the items each (run config, as a schedule could): three
# nights bring every item round once.
QUIET_ROTATE = 3


def harvest(assets, url: str, db: str, at: int, rotate: int | None = None):
    """One night's run with the project's clock at ``at`` (and every incremental asset's rotation)."""
    ops = {f"moodle__{name}": {"config": {"rotate": rotate}} for name in ROTATED} if rotate else {}
    with clock.frozen(at):
        result = run(assets, resources(url, DEMO_TOKEN, db), run_config={"ops": ops})
    assert result.success
    return result


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    """A full harvest; the day; the next night's incremental run and a full harvest of the changed
    site; then quiet nights (nothing changes on the site) until the rotation has come round."""
    start = clock.now_ts()
    dataset = generate(DemoConfig(now=start, scale=0.3))
    assets = [a for a in endpoint_assets() if a.partitions_def is None]
    folder = tmp_path_factory.mktemp("incremental")
    nightly, full = str(folder / "nightly.duckdb"), str(folder / "full.duckdb")
    with DemoServer(dataset) as server:
        harvest(assets, server.url, nightly, start)
        report = simulate_day(dataset)
        server.reset_calls()
        second = harvest(assets, server.url, nightly, dataset.now)
        incremental_calls = [c.function for c in server.calls]
        server.reset_calls()
        harvest(assets, server.url, full, dataset.now)
        full_calls = [c.function for c in server.calls]
        after_one = compare(nightly, full)
        quiet = []
        for night in range(1, QUIET_ROTATE + 1):
            at = dataset.now + night * DAY
            quiet.append(materialization_metadata(harvest(assets, server.url, nightly, at, QUIET_ROTATE)))
        after_all = compare(nightly, full)
    return {
        "report": report,
        "nightly": nightly,
        "incremental_calls": incremental_calls,
        "full_calls": full_calls,
        "meta": materialization_metadata(second),
        "after_one": after_one,
        "quiet": quiet,
        "after_all": after_all,
    }


def unsignalled_keys(report) -> set[tuple[int, int]]:
    """(course, user) of the changes no signal shows; 0 for the course of a site badge."""
    changes = report.completions_overridden + report.courses_completed + report.badges_issued
    return {(c.courseid, c.userid) for c in changes}


def test_the_day_had_every_kind_of_change(nights):
    report = nights["report"]
    assert report.attempts and report.submissions and report.completions and report.discussions
    assert report.enrolled and report.unenrolled
    kinds = [
        "graded",
        "grades_overridden",
        "completions_overridden",
        "badges_issued",
        "events_added",
        "due_dates_moved",
        "group_changes",
        "courses_hidden",
        "courses_renamed",
        "users_suspended",
        "users_edited",
        "attempts_closed",
    ]
    assert [k for k in kinds if not getattr(report, k)] == []


def test_the_next_night_every_table_a_signal_covers_equals_a_full_harvest(nights):
    differ = {t: d for t, d in nights["after_one"].items() if d and t not in UNSIGNALLED_TABLES}
    assert differ == {}, {t: (d.columns, d.only_left[:2], d.only_right[:2]) for t, d in differ.items()}


def test_what_differs_the_next_night_is_only_what_no_signal_shows(nights):
    allowed = unsignalled_keys(nights["report"])
    users = {user for _, user in allowed}
    for table, (course_column, user_column) in UNSIGNALLED_TABLES.items():
        difference = nights["after_one"].get(table)
        for row in (difference.only_left + difference.only_right) if difference else []:
            user = int(row[user_column])
            if course_column is None:
                assert user in users, (table, row)
            else:
                assert (int(row[course_column]), user) in allowed, (table, row)


@pytest.mark.parametrize("table", sorted(UNSIGNALLED_TABLES))
def test_after_a_rotation_every_table_equals_a_full_harvest(nights, table):
    difference = nights["after_all"][table]
    assert not difference, (difference.columns, difference.only_left[:2], difference.only_right[:2])


def test_no_item_goes_unread_longer_than_its_rotation(nights):
    for night, meta in enumerate(nights["quiet"], start=1):
        for name in ROTATED:
            assert meta[name]["oldest_item_age_days"] <= QUIET_ROTATE, (night, name)
            assert meta[name]["rotated_items"] <= math.ceil(len_items(nights, name) / QUIET_ROTATE), (night, name)
    # by the last quiet night every item was read within the rotation
    assert all(nights["quiet"][-1][name]["oldest_item_age_days"] < QUIET_ROTATE for name in ROTATED)


def test_the_quiet_nights_rotate_their_share_of_the_items(nights):
    for name in ROTATED:
        meta = nights["quiet"][0][name]
        # the share of all items, unless fewer were left to rotate after the signals' and the new ones
        candidates = meta["rotated_items"] + meta["kept_items"]
        assert meta["rotated_items"] == min(math.ceil(len_items(nights, name) / QUIET_ROTATE), candidates), name


def test_the_nightly_run_reads_signals_only_and_says_how_old_the_oldest_item_is(nights):
    meta = nights["meta"]
    for name in ROTATED:
        assert meta[name]["refresh_mode"] == "incremental"
        assert meta[name]["rotated_items"] == 0, name  # by default the weekly full refresh bounds staleness
        # what was not read tonight was read by the first harvest, a day before
        assert meta[name]["oldest_item_age_days"] == (1.0 if meta[name]["kept_items"] else 0.0), name


def len_items(nights, name: str) -> int:
    [(count,)] = rows(nights["nightly"], "SELECT count(*) FROM moodle._items WHERE table_name = ?", [f"moodle.{name}"])
    return count


def test_the_incremental_run_keeps_most_items_and_costs_a_fraction_of_a_full_harvest(nights):
    """A fallback to reading everything would fail this. On this small site (a few courses)
    one day's changes touch a large share of it; bench/run.py measures the 1x site model."""
    for name in ROTATED:
        assert nights["meta"][name]["refresh_mode"] == "incremental", name
    # the per-pair and per-user tables no course-wide signal touches (a renamed or hidden course
    # re-reads every user of it in user_competencies; user_courses follows the courses table)
    for name in (
        "activity_completion",
        "course_completion",
        "quiz_attempts",
        "course_grades",
        "user_badges",
        "user_courses",
    ):
        assert nights["meta"][name]["kept_items"] > len_items(nights, name) / 2, name
    assert len(nights["incremental_calls"]) <= 0.5 * len(nights["full_calls"])


def test_unenrolled_pair_is_gone_and_new_enrolment_is_read(nights):
    course, user = nights["report"].unenrolled
    db = nights["nightly"]
    assert rows(
        db, "SELECT count(*) FROM moodle.activity_completion WHERE courseid = ? AND userid = ?", [course, user]
    ) == [(0,)]
    course, user = nights["report"].enrolled
    assert rows(db, "SELECT count(*) FROM moodle.user_courses WHERE userid = ? AND id = ?", [user, course]) == [(1,)]
