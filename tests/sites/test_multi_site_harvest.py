"""Several sites, one warehouse: two emulated sites of different sizes over real HTTP.

Each site's run loads its own file and publishes its rows, with ``site``, to the shared
warehouse. Expectations come from elsewhere than the code under test: each site's rows in
the shared tables are compared with a plain single-site harvest of the same server (the
established path, tested on its own), the per-site counts with the emulated datasets, and
the cross-site figures are counted here from the raw tables.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance, MultiPartitionKey, instance_for_test, materialize

from moodle_assets.assets.factory import build_endpoint_asset
from moodle_assets.assets.resources import MoodleResource, WarehouseResource
from moodle_assets.definitions import SITES_URL, build_definitions
from moodle_assets.endpoints import load_specs
from moodle_assets.sites import load_sites
from moodle_assets.sites.demo import sites_yaml, start_demo_sites

SPECS = load_specs(include_user=False)
CHAIN = ["site_info", "course_index", "courses", "enrolled_users", "quizzes", "quiz_attempts"]
# A site that is down refuses every connection: its retries need not wait the real backoff (0.5 s
# doubling). The resource's URL and token stay the definitions' own (each site's come from the file).
FAST_BACKOFF = {"url": SITES_URL, "token": "", "backoff_base_seconds": 0.01, "backoff_max_seconds": 0.05}


@pytest.fixture(scope="module")
def two_sites(tmp_path_factory):
    sites = start_demo_sites(2, scale=0.3, seed=11)
    folder = tmp_path_factory.mktemp("sites")
    file = folder / "moodle_sites.yaml"
    text = sites_yaml(sites)
    # the second site keeps to 2 calls in flight, the first to the default (4)
    text = text.replace(
        f"    token_env: {sites[1].token_env}", f"    token_env: {sites[1].token_env}\n    max_concurrency: 2"
    )
    file.write_text(text)
    saved = {s.token_env: os.environ.get(s.token_env) for s in sites}
    for s in sites:
        os.environ[s.token_env] = s.token
    yield sites, file, folder
    for s in sites:
        s.server.stop()
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def run_site(defs, job: str, key, db: str, instance, selection=None, moodle=None):
    resources = {"warehouse": {"config": {"path": db}}}
    if moodle:
        resources["moodle"] = {"config": moodle}
    return defs.resolve_job_def(job).execute_in_process(
        partition_key=key,
        instance=instance,
        raise_on_error=False,
        asset_selection=selection,
        run_config={"resources": resources},
    )


@pytest.fixture(scope="module")
def harvested(two_sites):
    sites, file, folder = two_sites
    defs = build_definitions(SPECS, load_sites(file))
    shared = str(folder / "warehouse.duckdb")
    peaks = {}
    # The runs' record is read by none of the tests (they read the warehouse, the reports and the
    # sites' calls): an in-memory instance, as execute_in_process uses by default, spares the two
    # whole-site runs the SQLite instance's writes (a third of their time). The tests' own runs
    # below keep a persistent test instance.
    with DagsterInstance.ephemeral() as instance:
        for site in sites:
            site.server.reset_calls()
            result = run_site(defs, "moodle_harvest", site.name, shared, instance)
            assert result.success, [e.event_specific_data.error.message for e in result.all_events if e.is_step_failure]
            peaks[site.name] = site.server.peak_in_flight
    return sites, defs, shared, folder, peaks


def query(db: str, sql: str, params=None) -> list[tuple]:
    with duckdb.connect(db, read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def single_site_harvest(site, db: str) -> None:
    """The plain single-site path, as a user without a sites file runs it."""
    assets = [build_endpoint_asset(s, SPECS) for s in SPECS if s.name in CHAIN]
    resources = {
        "moodle": MoodleResource(url=site.server.url, token=site.token),
        "warehouse": WarehouseResource(path=db, lock_timeout_seconds=10),
    }
    assert materialize(assets, resources=resources, raise_on_error=False).success


def test_the_definitions_partition_every_moodle_asset_by_site(harvested):
    sites, defs, *_ = harvested
    graph = defs.resolve_asset_graph()
    names = [s.name for s in sites]
    for key in graph.get_all_asset_keys():
        partitions = graph.get(key).partitions_def
        if key.path[0] == "moodle" and key.path[1] != "calendar_events":
            assert partitions.get_partition_keys() == names, key
            # no single-run policy: a backfill of several sites is one run per site
            assert graph.get(key).backfill_policy is None, key
    calendar = graph.get(next(k for k in graph.get_all_asset_keys() if k.path[-1] == "calendar_events"))
    assert {d.name for d in calendar.partitions_def.partitions_defs} == {"site", "day"}


@pytest.fixture(scope="module")
def alone(harvested, tmp_path_factory) -> dict[str, str]:
    """Each site harvested on its own by the single-site path, into a file of its own."""
    folder = tmp_path_factory.mktemp("alone")
    files = {}
    for site in harvested[0]:
        files[site.name] = str(folder / f"{site.name}.duckdb")
        single_site_harvest(site, files[site.name])
    return files


@pytest.mark.parametrize("table", ["courses", "enrolled_users", "quiz_attempts", "quizzes", "site_info"])
def test_each_sites_rows_equal_a_single_site_harvest_of_it(harvested, alone, table):
    sites, _, shared, _, _ = harvested
    keys = {"courses": "id", "enrolled_users": "courseid, id", "quiz_attempts": "id", "quizzes": "id", "site_info": 1}
    for site in sites:
        expected = query(alone[site.name], f"SELECT * EXCLUDE (_loaded_at) FROM moodle.{table} ORDER BY {keys[table]}")
        with duckdb.connect(alone[site.name]) as con:  # compare in one database: attach the shared file
            con.execute(f"ATTACH '{shared}' AS shared (READ_ONLY)")
            got = con.execute(
                f"SELECT * EXCLUDE (_loaded_at, site) FROM shared.moodle.{table} WHERE site = ? ORDER BY {keys[table]}",
                [site.name],
            ).fetchall()
        assert got == expected and expected, (site.name, table)


def readable_attempts(dataset) -> int:
    """Attempts the site lets the token read: not in the course it refuses, by enrolled users it shows."""
    course_of = {q["id"]: q["course"] for q in dataset.quizzes}
    enrolled = {(e["courseid"], e["userid"]) for e in dataset.enrolments}
    return sum(
        1
        for a in dataset.quiz_attempts
        if course_of[a["quiz"]] not in dataset.unreadable_course_ids
        and a["userid"] not in dataset.hidden_user_ids
        and (course_of[a["quiz"]], a["userid"]) in enrolled
    )


def test_the_sites_differ_and_match_their_datasets(harvested):
    sites, _, shared, _, _ = harvested
    counts = dict(query(shared, "SELECT site, count(*) FROM moodle.quiz_attempts GROUP BY site"))
    for site in sites:
        assert counts[site.name] == readable_attempts(site.server.dataset), site.name
    assert counts[sites[0].name] != counts[sites[1].name]
    assert query(shared, "SELECT count(DISTINCT siteurl) FROM moodle.site_info") == [(2,)]


def keys_of(defs, names) -> list:
    return [k for k in defs.resolve_asset_graph().get_all_asset_keys() if k.path[0] == "moodle" and k.path[-1] in names]


def test_rerunning_one_site_replaces_only_its_rows(harvested):
    sites, defs, shared, _, _ = harvested
    before = query(shared, "SELECT site, count(*), max(_loaded_at) FROM moodle.courses GROUP BY site ORDER BY site")
    selection = keys_of(defs, ["site_info", "course_index", "courses"])
    with instance_for_test() as instance:
        result = run_site(defs, "moodle_harvest", sites[0].name, shared, instance, selection)
    assert result.success
    after = query(shared, "SELECT site, count(*), max(_loaded_at) FROM moodle.courses GROUP BY site ORDER BY site")
    first = {r[0]: r for r in before}, {r[0]: r for r in after}
    assert first[1][sites[0].name][1] == first[0][sites[0].name][1]  # no duplicates
    assert first[1][sites[0].name][2] > first[0][sites[0].name][2]  # reloaded
    assert first[1][sites[1].name] == first[0][sites[1].name]  # the other site untouched


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


def test_analytics_carry_the_site_and_a_cross_site_view_is_one_query(harvested):
    sites, _, shared, _, _ = harvested
    # courses per site in the overview, counted independently from the raw courses table
    overview = dict(query(shared, "SELECT site, count(*) FROM analytics.course_overview GROUP BY site"))
    raw = dict(query(shared, "SELECT site, count(*) FROM moodle.courses GROUP BY site"))
    assert overview == raw and len(overview) == 2
    learners = dict(query(shared, "SELECT site, count(DISTINCT userid) FROM analytics.learner_progress GROUP BY site"))
    assert set(learners) == {s.name for s in sites} and learners[sites[0].name] != learners[sites[1].name]


def test_no_token_in_the_shared_warehouse(harvested):
    sites, _, shared, folder, _ = harvested
    for site in sites:
        assert site.token.encode() not in Path(shared).read_bytes()
        assert site.token not in (folder / "moodle_sites.yaml").read_text()


def test_a_second_run_of_a_site_is_incremental_on_its_own_items(harvested):
    sites, defs, shared, folder, _ = harvested
    selection = keys_of(defs, ["course_index", "courses", "enrolled_users", "quizzes", "quiz_attempts"])
    with instance_for_test() as instance:
        result = run_site(defs, "moodle_harvest", sites[1].name, shared, instance, selection)
    assert result.success
    modes = {}
    for event in result.get_asset_materialization_events():
        meta = event.materialization.metadata
        if "refresh_mode" in meta:
            modes[event.materialization.asset_key.path[-1]] = meta["refresh_mode"].value
    assert modes and set(modes.values()) == {"incremental"}, modes
    # the items are the site's own: the other site's file and rows are not read
    own = query(str(folder / "sites" / f"{sites[1].name}.duckdb"), "SELECT count(*) FROM moodle._items")
    assert own[0][0] > 0


def test_sites_harvested_by_processes_at_once_land_consistently(two_sites, tmp_path):
    """Two `dagster asset materialize --partition <site>` processes into one fresh warehouse at once."""
    import subprocess
    import sys

    sites, file, _ = two_sites
    project = tmp_path / "project"
    project.mkdir()
    (project / "moodle_sites.yaml").write_text(file.read_text())
    env = {k: v for k, v in os.environ.items() if k not in ("MOODLE_URL", "MOODLE_TOKEN", "MOODLE_SITES_FILE")}
    env |= {"MOODLE_PROJECT_DIR": str(project), "DAGSTER_HOME": str(tmp_path / "home")}
    (tmp_path / "home").mkdir()
    dagster = str(Path(sys.executable).parent / "dagster")
    select = "moodle/site_info,moodle/course_index,moodle/courses,moodle/enrolled_users"
    procs = [
        subprocess.Popen(
            [
                dagster,
                "asset",
                "materialize",
                "-m",
                "moodle_assets.definitions",
                "--select",
                select,
                "--partition",
                s.name,
            ],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for s in sites
    ]
    outputs = [p.communicate(timeout=240)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[-2000:] for o in outputs]
    shared = str(project / "data" / "warehouse.duckdb")
    for site in sites:
        own = str(project / "data" / "sites" / f"{site.name}.duckdb")
        for table in ("courses", "enrolled_users"):
            [(expected,)] = query(own, f"SELECT count(*) FROM moodle.{table}")
            [(got,)] = query(shared, f"SELECT count(*) FROM moodle.{table} WHERE site = ?", [site.name])
            assert got == expected > 0, (site.name, table)
    for output in outputs:
        assert all(s.token not in output for s in sites)


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


def test_the_dashboard_has_a_section_per_site_and_a_site_filter(harvested):
    import re

    sites, _, shared, folder, _ = harvested
    page = (folder / "reports" / "course_dashboard.html").read_text()
    assert re.findall(r'<option value="([a-z_0-9]+)">', page) == sorted(s.name for s in sites)
    sections = dict(re.findall(r'<section class="site" data-site="([a-z_0-9]+)">(.*?)</section>', page, re.S))
    assert sorted(sections) == sorted(s.name for s in sites)
    for site in sites:
        names = [r[0] for r in query(shared, "SELECT shortname FROM moodle.courses WHERE site = ?", [site.name])]
        others = [
            r[0]
            for r in query(shared, "SELECT shortname FROM moodle.courses WHERE site <> ?", [site.name])
            if r[0] not in names
        ]
        assert names and all(n in sections[site.name] for n in names), site.name
        assert not any(f">{n}<" in sections[site.name] for n in others), site.name
    assert page.count("plotly.js v") <= 2  # the library once, not per site


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
