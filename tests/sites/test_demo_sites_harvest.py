"""``moodle-assets demo --sites N``, and the single-site demo next to a sites file.

The multi-site demo is run through the command itself (real HTTP to two emulated sites, real
Dagster runs in a temporary instance), with only the UI process replaced by a recorder: the
expectations come from the emulated datasets and from SQL counted here on the shared file,
not from the demo's own report. The single-site demo's test stops before any harvest: it
checks what the runs and the UI would be given.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from dagster import MultiPartitionsDefinition, StaticPartitionsDefinition

from moodle_assets.cli import main
from moodle_assets.definitions import build_definitions, configured_sites
from moodle_assets.endpoints import load_specs
from moodle_assets.project import sites_file
from moodle_assets.sites.demo import start_demo_sites

ROOT = Path(__file__).resolve().parents[2]
TOKENS = ("MOODLE_SITE_NORTH_TOKEN", "MOODLE_SITE_SOUTH_TOKEN")
USER_SITES = "sites:\n  - name: main\n    url: https://moodle.example.edu\n    token_env: MOODLE_SITE_MAIN_TOKEN\n"


def unset(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    """Unset ``names`` so that whatever the code under test sets is undone after the test."""
    for name in names:
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)


@pytest.fixture()
def project(tmp_path, monkeypatch):
    """An empty project folder with a user's own moodle_sites.yaml in it."""
    monkeypatch.setenv("MOODLE_PROJECT_DIR", str(tmp_path))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    unset(
        monkeypatch,
        "MOODLE_SITES_FILE",
        "MOODLE_DUCKDB_PATH",
        "MOODLE_ENDPOINTS_FILE",
        "MOODLE_URL",
        "MOODLE_TOKEN",
        *TOKENS,
    )
    (tmp_path / "moodle_sites.yaml").write_text(USER_SITES)
    return tmp_path


class UI:
    """Stands in for ``dagster dev`` (records its command and environment); every other
    subprocess runs as usual (``subprocess.run`` is one function for the whole interpreter)."""

    def __init__(self):
        self.calls: list[tuple[list[str], dict[str, str]]] = []
        self.real = subprocess.run

    def __call__(self, command, *args, **kwargs):
        if list(command[:4]) != [sys.executable, "-m", "dagster", "dev"]:
            return self.real(command, *args, **kwargs)
        self.calls.append((list(command), dict(kwargs.get("env") or {})))
        return subprocess.CompletedProcess(command, 0)


def count(db: Path, sql: str) -> dict[str, int]:
    with duckdb.connect(str(db), read_only=True) as con:
        return dict(con.execute(sql).fetchall())


def readme_cross_site_queries() -> list[str]:
    """The queries of the README's "Several Moodle sites" section (an unlabelled block: the
    single-site warehouse that tests/test_docs_sql.py runs the README's sql blocks on has no site)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Several Moodle sites\n", 1)[1].split("\n## ", 1)[0]
    blocks = [b for lang, b in re.findall(r"```(\w*)\n(.*?)```", section, re.S) if not lang and "SELECT" in b]
    return [q.query.strip().rstrip(";") for b in blocks for q in duckdb.extract_statements(b)]


def readable_courses(dataset) -> int:
    """Courses (not the front page) the demo site lets its token read."""
    return sum(1 for c in dataset.courses[1:] if c["id"] not in dataset.unreadable_course_ids)


def test_demo_with_two_sites_harvests_both_into_one_warehouse(project, monkeypatch, capfd):
    started, urls = [], {}

    def start(count, **kwargs):  # the command's own emulators, small; their datasets kept for the expectations
        sites = start_demo_sites(count, **{**kwargs, "scale": 0.3, "seed": 11})
        started.extend(sites)
        urls.update({s.name: s.server.url for s in sites})
        return sites

    monkeypatch.setattr("moodle_assets.sites.demo_harvest.start_demo_sites", start)
    ui = UI()
    monkeypatch.setattr("moodle_assets.sites.demo_harvest.subprocess.run", ui)
    code = main(["demo", "--sites", "2", "--ui-port", "3999"])
    out, err = capfd.readouterr()
    assert code == 0, out + err[-3000:]
    north, south = started

    # both sites in the one shared warehouse, each from its own server, with the datasets' counts
    shared = project / "data" / "demo_sites" / "warehouse.duckdb"
    assert (project / "data" / "demo_sites" / "sites" / "north.duckdb").is_file()
    courses = count(shared, "SELECT site, count(*) FROM moodle.courses GROUP BY site")
    assert courses == {"north": readable_courses(north.server.dataset), "south": readable_courses(south.server.dataset)}
    assert courses["north"] != courses["south"]
    assert count(shared, "SELECT site, count(*) FROM analytics.course_overview GROUP BY site") == courses
    calendar = count(shared, "SELECT site, count(*) FROM moodle.calendar_events GROUP BY site")
    assert set(calendar) == {"north", "south"} and all(calendar.values())
    assert count(shared, "SELECT site, siteurl FROM moodle.site_info") == urls

    # the printed per-site counts are the warehouse's, and the cross-site query is shown with its result
    row = re.search(r"^\s+moodle\.courses\s+(\d+)\s+(\d+)\s*$", out, re.M)
    assert row and (int(row[1]), int(row[2])) == (courses["north"], courses["south"])
    assert "GROUP BY site" in out and re.search(r"^\s+south\s+\d+\s+\d+", out, re.M)

    with duckdb.connect(str(shared), read_only=True) as con:  # every table has site, the bookkeeping too
        tables = con.execute(
            "SELECT table_schema || '.' || table_name, bool_or(column_name = 'site') FROM information_schema.columns "
            "WHERE table_schema IN ('moodle', 'analytics') AND table_name IN (SELECT table_name FROM "
            "information_schema.tables WHERE table_type = 'BASE TABLE') GROUP BY ALL"
        ).fetchall()
    assert {"moodle._loads", "moodle._errors", "moodle.courses"} <= {t for t, _ in tables}
    assert [t for t, has_site in tables if not has_site] == []

    # the README's cross-site queries run on this warehouse, over both sites; the first is the one printed
    queries = readme_cross_site_queries()
    assert len(queries) == 2 and " ".join(queries[0].split()) in " ".join(out.split())
    with duckdb.connect(str(shared), read_only=True) as con:
        for query in queries:
            assert {row[0] for row in con.execute(query).fetchall()} == {"north", "south"}, query

    # no token in anything printed or written; the user's own sites file untouched
    files = [p for p in (project / "data").rglob("*") if p.is_file()]
    assert shared in files
    for site in started:
        assert site.token not in out and site.token not in err
        for path in files:
            assert site.token.encode() not in path.read_bytes(), path
    assert (project / "moodle_sites.yaml").read_text() == USER_SITES
    assert f"not {project / 'moodle_sites.yaml'}" in out

    # the UI is started on the same sites: the demo's file and each site's token variable
    ((command, env),) = ui.calls
    assert command[-7:] == ["dev", "-m", "moodle_assets.definitions", "-h", "127.0.0.1", "-p", "3999"]
    assert env["MOODLE_SITES_FILE"] == str(project / "data" / "demo_sites" / "moodle_sites.yaml")
    assert Path(env["DAGSTER_HOME"]) == project / "dagster_home"
    assert {s.token_env: env[s.token_env] for s in started} == {s.token_env: s.token for s in started}
    for name in ("MOODLE_SITES_FILE", "MOODLE_DUCKDB_PATH", *TOKENS):
        monkeypatch.setenv(name, env[name])
    graph = build_definitions(load_specs(), configured_sites()).resolve_asset_graph()
    key = next(k for k in graph.get_all_asset_keys() if k.path == ["moodle", "courses"])
    assert graph.get(key).partitions_def.get_partition_keys() == ["north", "south"]


def test_demo_with_sites_refuses_to_mix_into_a_single_site_warehouse(project, monkeypatch, capsys):
    db = project / "data" / "single.duckdb"
    db.parent.mkdir()
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE SCHEMA moodle; CREATE TABLE moodle.courses AS SELECT 1 AS id")
    monkeypatch.setenv("MOODLE_DUCKDB_PATH", str(db))
    with pytest.raises(
        SystemExit, match=r"holds a single-site harvest \(tables without a site column: moodle\.courses\)"
    ):
        main(["demo", "--sites", "2", "--scale", "0.05", "--no-ui"])
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT * FROM moodle.courses").fetchall() == [(1,)]


def test_the_single_site_demo_switches_the_projects_sites_file_off(project, monkeypatch, capsys):
    assert sites_file() == project / "moodle_sites.yaml"  # as dagster dev would find it
    seen = {}

    def harvest():  # instead of the runs: what they would load
        seen["sites"] = configured_sites()
        graph = build_definitions(load_specs(), configured_sites()).resolve_asset_graph()
        seen["by_site"] = [
            k
            for k in graph.get_all_asset_keys()
            if isinstance(graph.get(k).partitions_def, StaticPartitionsDefinition | MultiPartitionsDefinition)
        ]

    monkeypatch.setattr("moodle_assets.cli.run_demo_harvest", harvest)
    ui = UI()
    monkeypatch.setattr("moodle_assets.cli.subprocess.run", ui)
    assert main(["demo", "--scale", "0.05", "--port", "0"]) == 0
    out = capsys.readouterr().out
    assert seen == {"sites": None, "by_site": []}
    ((_, env),) = ui.calls
    assert env["MOODLE_SITES_FILE"] == "none"
    assert env["MOODLE_URL"].startswith("http://127.0.0.1:")
    assert f"ignores the sites file {project / 'moodle_sites.yaml'}" in out
    assert (project / "moodle_sites.yaml").read_text() == USER_SITES


def test_sites_file_none_switches_the_file_off(project, monkeypatch):
    monkeypatch.setenv("MOODLE_SITES_FILE", "None")
    assert sites_file() is None
    monkeypatch.setenv("MOODLE_SITES_FILE", "moodle_sites.yaml")
    assert sites_file() == project / "moodle_sites.yaml"


def test_the_single_site_demo_without_a_sites_file_says_nothing_about_one(project, monkeypatch, capsys):
    (project / "moodle_sites.yaml").unlink()
    monkeypatch.setattr("moodle_assets.cli.run_demo_harvest", lambda: None)
    assert main(["demo", "--scale", "0.05", "--no-ui"]) == 0
    assert "sites file" not in capsys.readouterr().out
    assert os.environ["MOODLE_SITES_FILE"] == "none"
