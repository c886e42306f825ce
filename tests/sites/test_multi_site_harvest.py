"""Several sites, one warehouse: what each site's run leaves in the shared tables.

Each site's run loads its own file and publishes its rows, with ``site``, to the shared
warehouse. Expectations come from elsewhere than the code under test: each site's rows in
the shared tables are compared with a plain single-site harvest of the same server (the
established path, tested on its own), the per-site counts with the emulated datasets, and
the cross-site figures are counted here from the raw tables. The two sites and their
harvest are tests/sites/conftest.py's, shared with the modules on each site's isolation
(test_multi_site_isolation.py) and on the calendar and schedules (test_multi_site_schedules.py).
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest
from dagster import instance_for_test, materialize

from moodle_assets.assets.factory import build_endpoint_asset
from moodle_assets.assets.resources import MoodleResource, WarehouseResource
from tests.sites.conftest import CHAIN, SPECS, query, run_site


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
    # The instance exists before the runs, as under `dagster dev` or a deployment: two processes
    # creating a new SQLite instance at once race in Dagster itself ("table run_tags already
    # exists"), which is not what this test is about.
    subprocess.run([dagster, "instance", "info"], env=env, cwd=tmp_path, check=True, capture_output=True, timeout=120)
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
    errors = [[line for line in o.splitlines() if "Error" in line][:5] for o in outputs]
    assert [p.returncode for p in procs] == [0, 0], (errors, [o[-1500:] for o in outputs])
    shared = str(project / "data" / "warehouse.duckdb")
    for site in sites:
        own = str(project / "data" / "sites" / f"{site.name}.duckdb")
        for table in ("courses", "enrolled_users"):
            [(expected,)] = query(own, f"SELECT count(*) FROM moodle.{table}")
            [(got,)] = query(shared, f"SELECT count(*) FROM moodle.{table} WHERE site = ?", [site.name])
            assert got == expected > 0, (site.name, table)
    for output in outputs:
        assert all(s.token not in output for s in sites)


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
