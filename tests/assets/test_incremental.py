"""Incremental refresh: after a day of activity, tables equal a full harvest, for fewer calls."""

from __future__ import annotations

import pytest

from moodle_assets import clock
from moodle_assets.demo.activity import simulate_day
from moodle_assets.demo.dataset import DemoConfig, generate
from moodle_assets.demo.server import DEMO_TOKEN, DemoServer
from moodle_assets.endpoints import load_specs
from tests.assets.helpers import endpoint_assets, materialization_metadata, resources, rows, run

INCREMENTAL = sorted(s.name for s in load_specs(include_user=False) if s.incremental)
UPSTREAM = ["users", "course_index", "courses", "enrolled_users", "quizzes", "forums"]


def table_rows(db: str, table: str) -> list[dict]:
    columns = [r[0] for r in rows(db, f"DESCRIBE moodle.{table}") if r[0] not in ("_loaded_at", "_item")]
    select = ", ".join(f'CAST("{c}" AS VARCHAR)' for c in columns)
    return sorted(
        (dict(zip(columns, r, strict=False)) for r in rows(db, f"SELECT {select} FROM moodle.{table}")), key=repr
    )


def differences(left: list[dict], right: list[dict]) -> list:
    """Rows only on one side, with the columns that differ from the nearest row on the other."""
    only_left = [r for r in left if r not in right]
    only_right = [r for r in right if r not in left]
    out = []
    for row in only_left[:3]:
        near = min(only_right, key=lambda o: sum(o.get(k) != v for k, v in row.items()), default={})
        out.append({k: (v, near.get(k)) for k, v in row.items() if near.get(k) != v})
    return out + [("only in full", r) for r in only_right[len(only_left) :][:3]]


@pytest.fixture(scope="module")
def day_after(tmp_path_factory):
    # The cut-off is taken from the project clock, as against a real site whose clock agrees
    # with it: anchor the simulated site to that clock, so the day's visits fall after it.
    dataset = generate(DemoConfig(now=clock.now_ts(), scale=0.2))
    assets = endpoint_assets(UPSTREAM + INCREMENTAL)
    folder = tmp_path_factory.mktemp("incremental")
    with DemoServer(dataset) as server:
        nightly = resources(server.url, DEMO_TOKEN, str(folder / "nightly.duckdb"))
        assert run(assets, nightly).success
        report = simulate_day(dataset)
        server.reset_calls()
        second = run(assets, nightly)
        assert second.success
        incremental_calls = [c.function for c in server.calls]
        server.reset_calls()
        full = resources(server.url, DEMO_TOKEN, str(folder / "full.duckdb"))
        assert run(assets, full).success
        full_calls = [c.function for c in server.calls]
    return {
        "report": report,
        "nightly": str(folder / "nightly.duckdb"),
        "full": str(folder / "full.duckdb"),
        "incremental_calls": incremental_calls,
        "full_calls": full_calls,
        "meta": materialization_metadata(second),
    }


def test_the_day_had_every_kind_of_change(day_after):
    report = day_after["report"]
    assert report.attempts and report.submissions and report.completions and report.discussions
    assert report.enrolled and report.unenrolled


@pytest.mark.parametrize("table", INCREMENTAL + UPSTREAM)
def test_incremental_tables_equal_a_full_harvest(day_after, table):
    nightly, full = table_rows(day_after["nightly"], table), table_rows(day_after["full"], table)
    assert nightly == full, differences(nightly, full)


def test_incremental_run_reads_a_fraction_of_the_pairs(day_after):
    meta = day_after["meta"]
    assert meta["activity_completion"]["refresh_mode"] == "incremental"
    pairs = [f for f in day_after["full_calls"] if f == "core_completion_get_activities_completion_status"]
    fetched = [f for f in day_after["incremental_calls"] if f == "core_completion_get_activities_completion_status"]
    assert 0 < len(fetched) <= 0.15 * len(pairs)
    assert len(day_after["incremental_calls"]) <= 0.3 * len(day_after["full_calls"])


def test_unenrolled_pair_is_gone_and_new_enrolment_is_read(day_after):
    course, user = day_after["report"].unenrolled
    db = day_after["nightly"]
    assert rows(
        db, "SELECT count(*) FROM moodle.activity_completion WHERE courseid = ? AND userid = ?", [course, user]
    ) == [(0,)]
    course, user = day_after["report"].enrolled
    assert rows(db, "SELECT count(*) FROM moodle.user_courses WHERE userid = ? AND id = ?", [user, course]) == [(1,)]
