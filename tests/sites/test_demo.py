"""``demo-server --sites N``: several emulated sites whose printed sites file and token
variables work with ``sites check`` as they are; without ``--sites`` nothing changes."""

from __future__ import annotations

import pytest

from moodle_assets.cli import main
from moodle_assets.endpoints import load_specs
from moodle_assets.sites import parse_sites
from moodle_assets.sites.demo import export_lines, sites_yaml, start_demo_sites, write_sites_file


@pytest.fixture()
def two_sites():
    sites = start_demo_sites(2, scale=0.2, seed=11)
    yield sites
    for site in sites:
        site.server.stop()


def test_two_demo_sites_differ_and_their_sites_file_checks_clean(two_sites, tmp_path, capsys, monkeypatch):
    north, south = two_sites
    assert (north.name, north.seed, north.scale) == ("north", 11, 0.2)
    assert (south.name, south.seed, south.scale) == ("south", 12, 0.1)
    assert len(south.server.dataset.users) < len(north.server.dataset.users)

    text = sites_yaml(two_sites)
    assert [(s.name, s.url, s.token_env) for s in parse_sites(text, "demo")] == [
        ("north", north.server.url, "MOODLE_SITE_NORTH_TOKEN"),
        ("south", south.server.url, "MOODLE_SITE_SOUTH_TOKEN"),
    ]
    assert "token:" not in text and north.token not in text
    assert export_lines(two_sites).splitlines() == [
        "export MOODLE_SITE_NORTH_TOKEN=demo-token-north-site-0123456789",
        "export MOODLE_SITE_SOUTH_TOKEN=demo-token-south-site-0123456789",
    ]

    path = tmp_path / "sites.yaml"
    write_sites_file(path, text)
    monkeypatch.setenv("MOODLE_PROJECT_DIR", str(tmp_path))
    monkeypatch.setenv("MOODLE_SITES_FILE", str(path))
    monkeypatch.delenv("MOODLE_ENDPOINTS_FILE", raising=False)
    for line in export_lines(two_sites).splitlines():
        name, value = line.removeprefix("export ").split("=", 1)
        monkeypatch.setenv(name, value)
    code = main(["sites", "check", "--functions-only"])
    out = capsys.readouterr().out
    total = len(load_specs(include_user=False))
    assert code == 0
    assert out.splitlines()[-2:] == [
        f"  north  The token works. All {total} assets' functions are in the token's service. Permissions were "
        "not sampled (--functions-only).",
        f"  south  The token works. All {total} assets' functions are in the token's service. Permissions were "
        "not sampled (--functions-only).",
    ]


def test_the_demo_never_overwrites_a_sites_file_it_did_not_write(tmp_path):
    path = tmp_path / "moodle_sites.yaml"
    path.write_text("- {name: main, url: 'https://m.example', token_env: MAIN_TOKEN}\n")
    with pytest.raises(SystemExit, match="exists and is not a demo sites file"):
        write_sites_file(path, "# Demo sites ...\n")
    assert path.read_text().startswith("- {name: main")


def test_demo_server_without_sites_runs_the_single_site_server_as_before(monkeypatch):
    seen = []
    monkeypatch.setattr("moodle_assets.demo.server.serve", lambda **kwargs: seen.append(kwargs))
    assert main(["demo-server", "--port", "9999", "--seed", "3"]) == 0
    (kwargs,) = seen
    assert (kwargs["host"], kwargs["port"], kwargs["config"].seed, kwargs["config"].scale) == (
        "127.0.0.1",
        9999,
        3,
        1.0,
    )


def test_too_many_sites_is_refused():
    with pytest.raises(ValueError, match="--sites must be 1 to 9, not 10"):
        start_demo_sites(10)
