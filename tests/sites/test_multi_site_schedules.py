"""Several sites, one warehouse: the calendar's site x day partitions and the nightly schedules.

The calendar is the one asset partitioned by day as well as by site, and a site may start its
calendar later than the others; the nightly schedules must ask for one run per site (and per
site and day). Expectations are the dataset's own event days and dates written here. The two
sites and their harvest are tests/sites/conftest.py's.
"""

from __future__ import annotations

from pathlib import Path

from dagster import MultiPartitionKey, instance_for_test

from moodle_assets.definitions import build_definitions
from moodle_assets.sites import load_sites
from tests.sites.conftest import SPECS, query, run_site


def test_the_calendar_is_loaded_by_site_and_day(harvested):
    sites, defs, shared, _, _ = harvested
    day = next(iter(sorted({e["timestart"] for e in sites[0].server.dataset.events})))
    from datetime import UTC, datetime

    key = datetime.fromtimestamp(day, UTC).strftime("%Y-%m-%d")
    with instance_for_test() as instance:
        result = run_site(
            defs, "moodle_calendar", MultiPartitionKey({"site": sites[0].name, "day": key}), shared, instance
        )
    assert result.success
    rows = query(shared, "SELECT DISTINCT site, _partition FROM moodle.calendar_events")
    assert rows == [(sites[0].name, key)]


def test_the_nightly_schedule_asks_for_one_run_per_site(harvested):
    from datetime import UTC, datetime

    from dagster import build_schedule_context

    sites, defs, *_ = harvested
    repo = defs.get_repository_def()
    nightly = repo.get_schedule_def("nightly_harvest")
    context = build_schedule_context(
        repository_def=repo, scheduled_execution_time=datetime(2026, 11, 29, 2, tzinfo=UTC)
    )
    requests = nightly.evaluate_tick(context).run_requests
    harvests = list(requests)
    assert sorted(r.partition_key for r in harvests) == sorted(s.name for s in sites)
    assert all(r.tags["moodle/site"] == r.partition_key for r in harvests)
    # Sunday: the fan-outs are read in full on every site
    assert all(
        r.run_config["ops"]["moodle__activity_completion"] == {"config": {"full_refresh": True}} for r in harvests
    )
    calendar = repo.get_schedule_def("nightly_calendar").evaluate_tick(context).run_requests
    assert {
        (r.partition_key.keys_by_dimension["site"], r.partition_key.keys_by_dimension["day"]) for r in calendar
    } == {(s.name, d) for s in sites for d in ("2026-11-28", "2026-11-29", "2026-11-30")}


def test_calendar_days_before_a_sites_calendar_start_load_nothing(two_sites, tmp_path):
    sites, file, _ = two_sites
    text = file.read_text().replace(
        f"    token_env: {sites[0].token_env}\n",
        f"    token_env: {sites[0].token_env}\n    calendar_start: 2026-01-01\n",
    )
    (tmp_path / "moodle_sites.yaml").write_text(text)
    defs = build_definitions(SPECS, load_sites(tmp_path / "moodle_sites.yaml"))
    db = str(tmp_path / "w.duckdb")
    with instance_for_test() as instance:
        early = MultiPartitionKey({"site": sites[0].name, "day": "2025-06-01"})
        result = run_site(defs, "moodle_calendar", early, db, instance)
    assert result.success
    [event] = result.get_asset_materialization_events()
    assert "before site north's calendar_start (2026-01-01" in event.materialization.metadata["skipped"].value
    assert not Path(db).exists() or query(
        db, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'calendar_events'"
    ) == [(0,)]
