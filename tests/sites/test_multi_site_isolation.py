"""Several sites, one warehouse: each site on its own terms, none reaching the others.

A site's in-flight limit, a site that is down or has no token, a site on another Moodle
release and a token that lacks a function: each is a difference between sites that a run
or check of one site must absorb without failing or slowing the others. The two sites are
tests/sites/conftest.py's; the sites added here are served or named by the tests themselves.
"""

from __future__ import annotations

import os

from dagster import instance_for_test

from moodle_assets.definitions import SITES_URL, build_definitions
from moodle_assets.sites import load_sites
from tests.sites.conftest import CHAIN, SPECS, query, run_site

# A site that is down refuses every connection: its retries need not wait the real backoff (0.5 s
# doubling). The resource's URL and token stay the definitions' own (each site's come from the file).
FAST_BACKOFF = {"url": SITES_URL, "token": "", "backoff_base_seconds": 0.01, "backoff_max_seconds": 0.05}


def test_each_site_keeps_to_its_own_in_flight_limit(harvested):
    *_, peaks = harvested
    sites = harvested[0]
    assert 1 <= peaks[sites[1].name] <= 2
    assert peaks[sites[0].name] <= 4


def test_one_site_down_fails_only_its_own_run(two_sites, tmp_path):
    sites, file, _ = two_sites
    broken = (
        file.read_text() + "  - name: offline\n    url: http://127.0.0.1:9\n    token_env: MOODLE_SITE_OFFLINE_TOKEN\n"
    )
    (tmp_path / "moodle_sites.yaml").write_text(broken)
    defs = build_definitions(SPECS, load_sites(tmp_path / "moodle_sites.yaml"))
    db = str(tmp_path / "w.duckdb")
    selection = None
    with instance_for_test() as instance:
        job = defs.resolve_job_def("moodle_harvest")
        keys = [
            k
            for k in job.asset_layer.asset_graph.get_all_asset_keys()
            if k.path[-1] in ("site_info", "courses", "course_index")
        ]
        selection = keys
        ok = run_site(defs, "moodle_harvest", sites[0].name, db, instance, selection)
        os.environ.pop("MOODLE_SITE_OFFLINE_TOKEN", None)
        unset = run_site(defs, "moodle_harvest", "offline", db, instance, selection)
        os.environ["MOODLE_SITE_OFFLINE_TOKEN"] = "not-a-real-token"
        try:
            # the refused connections are retried as usual, without the default backoff's seconds of waiting
            down = run_site(defs, "moodle_harvest", "offline", db, instance, selection, FAST_BACKOFF)
        finally:
            os.environ.pop("MOODLE_SITE_OFFLINE_TOKEN", None)
    assert ok.success and not unset.success and not down.success
    messages = [e.event_specific_data.error.message for e in unset.all_events if e.is_step_failure]
    assert messages and all("MOODLE_SITE_OFFLINE_TOKEN is not set" in m for m in messages)
    down_messages = " ".join(e.event_specific_data.error.message for e in down.all_events if e.is_step_failure)
    assert "127.0.0.1:9" in down_messages or "connect" in down_messages.lower()
    assert "not-a-real-token" not in down_messages
    assert query(db, "SELECT DISTINCT site FROM moodle.courses") == [(sites[0].name,)]


def test_a_site_on_another_moodle_release_loads_next_to_the_others(two_sites, tmp_path):
    """A Moodle 5.0 site beside a 4.5 one: each run picks the functions its own site offers."""
    from moodle_assets.demo.dataset import DemoConfig, generate
    from moodle_assets.demo.server import DemoServer

    sites, file, _ = two_sites
    newer = DemoServer(
        generate(DemoConfig(seed=5, scale=0.15, moodle_version="5.0")), token="demo-token-newer-0123456789"
    )
    newer.start()
    try:
        text = file.read_text() + f"  - name: newer\n    url: {newer.url}\n    token_env: MOODLE_SITE_NEWER_TOKEN\n"
        (tmp_path / "moodle_sites.yaml").write_text(text)
        os.environ["MOODLE_SITE_NEWER_TOKEN"] = "demo-token-newer-0123456789"
        defs = build_definitions(SPECS, load_sites(tmp_path / "moodle_sites.yaml"))
        graph = defs.resolve_asset_graph()
        selection = [k for k in graph.get_all_asset_keys() if k.path[0] == "moodle" and k.path[-1] in CHAIN]
        db = str(tmp_path / "w.duckdb")
        with instance_for_test() as instance:
            for name in (sites[0].name, "newer"):
                result = run_site(defs, "moodle_harvest", name, db, instance, selection)
                assert result.success, name
    finally:
        os.environ.pop("MOODLE_SITE_NEWER_TOKEN", None)
        newer.stop()
    assert "mod_quiz_get_user_quiz_attempts" in {c.function for c in newer.calls}
    releases = dict(query(db, "SELECT site, release FROM moodle.site_info"))
    assert releases["newer"].startswith("5.0") and releases[sites[0].name].startswith("4.5")
    assert dict(query(db, "SELECT site, count(*) > 0 FROM moodle.quiz_attempts GROUP BY site")) == {
        sites[0].name: True,
        "newer": True,
    }


def test_a_function_one_sites_token_lacks_fails_that_assets_check_naming_the_site():
    """function_available with several sites, from stored site_info rows written here by hand."""
    from types import SimpleNamespace

    from moodle_assets.assets.site_checks import per_site_results

    every = [{"name": s.function, "version": "2024100700"} for s in SPECS if s.function]
    lacking = [f for f in every if f["name"] != "core_enrol_get_enrolled_users"]
    infos = {
        "north": {"functions": every, "version": 2024100700},
        "south": {"functions": lacking, "version": 2024100700},
    }
    wanted = [s for s in SPECS if s.name in ("enrolled_users", "courses")]
    results = {r.asset_key.path[-1]: r for r in per_site_results(wanted, SPECS, infos, SimpleNamespace(log=None))}
    assert results["courses"].passed
    assert not results["enrolled_users"].passed
    assert results["enrolled_users"].description == (
        "site south: add core_enrol_get_enrolled_users to its token's external service"
    )
