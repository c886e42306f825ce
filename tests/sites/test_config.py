"""The sites file: what it accepts, and every problem said with file, line, site and field."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from moodle_assets.project import SettingError
from moodle_assets.sites import Site, SitesError, load_sites, parse_sites

ROOT = Path(__file__).resolve().parents[2]
SECRET = "a token (or any secret) does not belong in the sites file: put it in an environment variable"


@pytest.fixture()
def project(tmp_path, monkeypatch):
    """An empty project folder, no sites file, MOODLE_URL/MOODLE_TOKEN set."""
    monkeypatch.setenv("MOODLE_PROJECT_DIR", str(tmp_path))
    monkeypatch.delenv("MOODLE_SITES_FILE", raising=False)
    monkeypatch.setenv("MOODLE_URL", "https://moodle.example.edu")
    monkeypatch.setenv("MOODLE_TOKEN", "not-printed-token-55aa")
    return tmp_path


def problems_of(text: str, source: str = "sites.yaml") -> list[str]:
    with pytest.raises(SitesError) as caught:
        parse_sites(text, source)
    return caught.value.problems


def test_a_valid_file_gives_its_sites_in_order():
    sites = parse_sites(
        "sites:\n"
        "  - name: main\n"
        "    url: https://moodle.example.edu\n"
        "    token_env: MOODLE_SITE_MAIN_TOKEN\n"
        "  - name: north_campus\n"
        "    url: https://north.example.edu/\n"
        "    token_env: NORTH_TOKEN\n"
        "    max_concurrency: 2\n"
        "    calendar_start: 2025-09-01\n",
        "s.yaml",
    )
    assert sites == [
        Site(name="main", url="https://moodle.example.edu", token_env="MOODLE_SITE_MAIN_TOKEN"),
        Site(
            name="north_campus",
            url="https://north.example.edu/",
            token_env="NORTH_TOKEN",
            max_concurrency=2,
            calendar_start=date(2025, 9, 1),
        ),
    ]


def test_a_bare_list_and_a_quoted_date_are_accepted_too():
    (site,) = parse_sites(
        "- {name: a1, url: 'http://127.0.0.1:8081', token_env: A1_TOKEN, calendar_start: '2024-02-29'}\n", "s.yaml"
    )
    assert (site.name, site.calendar_start) == ("a1", date(2024, 2, 29))


def test_every_problem_of_every_site_at_once_with_file_line_site_and_field():
    text = (
        "- name: main\n"  # 1
        "  url: https://moodle.example.edu\n"  # 2
        "  token_env: MAIN_TOKEN\n"  # 3
        "- name: Main Site\n"  # 4
        "  url: moodle.example.edu\n"  # 5
        "  token: abc123\n"  # 6
        "  colour: blue\n"  # 7
        "  max_concurrency: 0\n"  # 8
        "  calendar_start: 2025-13-01\n"  # 9
        "- name: main\n"  # 10
        "  token_env: MAIN_TOKEN\n"  # 11
        "  max_concurrency: '4'\n"  # 12
        "  calendar_start: 20250101\n"  # 13
    )
    assert problems_of(text) == [
        "sites.yaml: site #2, field 'name': must be a lower-case identifier (a letter, then letters, digits or _; "
        "at most 40), e.g. north_campus, not 'Main Site' (line 4)",
        "sites.yaml: site #2, field 'url': must be the site root, https://... (or http:// for a test site), "
        "not 'moodle.example.edu' (line 5)",
        "sites.yaml: site #2, field 'token_env': missing: every site needs 'token_env', the name of the "
        "environment variable holding its token (line 4)",
        "sites.yaml: site #2, field 'max_concurrency': must be a positive whole number, e.g. 4, not 0 (line 8)",
        "sites.yaml: site #2, field 'calendar_start': must be an ISO date YYYY-MM-DD, e.g. 2025-01-01, "
        "not '2025-13-01' (line 9)",
        f"sites.yaml: site #2, field 'token': {SECRET} and name that variable in 'token_env', e.g. "
        "token_env: MOODLE_SITE_<NAME>_TOKEN (line 6)",
        "sites.yaml: site #2, field 'colour': unknown field; known fields are name, url, token_env, "
        "max_concurrency, calendar_start (line 7)",
        "sites.yaml: site 'main', field 'url': missing: every site needs 'url', the site root such as "
        "https://moodle.example.edu (line 10)",
        "sites.yaml: site 'main', field 'max_concurrency': must be a positive whole number, e.g. 4, not '4' (line 12)",
        "sites.yaml: site 'main', field 'calendar_start': must be an ISO date YYYY-MM-DD, e.g. 2025-01-01, "
        "not 20250101 (line 13)",
        "sites.yaml: site 'main', field 'name': duplicate name (also on line 1); site names must be unique (line 10)",
    ]


def test_a_token_in_the_file_is_refused_without_repeating_it():
    problems = problems_of(
        "- name: north\n"
        "  url: https://moodle.example.edu/?wstoken=s3cr3t-in-url\n"
        "  token_env: s3cr3t-as-env-name\n"
        "  wstoken: s3cr3t-as-key\n"
    )
    assert problems == [
        "sites.yaml: site 'north', field 'url': must not carry a token, password or user: a token (or any secret) "
        "does not belong in the sites file: put it in an environment variable and name that variable in "
        "'token_env', e.g. token_env: MOODLE_SITE_<NAME>_TOKEN (line 2)",
        "sites.yaml: site 'north', field 'token_env': must be the NAME of an environment variable (upper-case "
        "letters, digits, _), e.g. MOODLE_SITE_NORTH_TOKEN, not the token itself (line 3)",
        f"sites.yaml: site 'north', field 'wstoken': {SECRET} and name that variable in 'token_env', e.g. "
        "token_env: MOODLE_SITE_NORTH_TOKEN (line 4)",
    ]
    assert "s3cr3t" not in "\n".join(problems)


def test_a_file_that_is_no_list_of_sites():
    assert problems_of("name: main\n") == [
        "sites.yaml: expected a list of sites (or a mapping with a 'sites' list), at least one"
    ]
    # PyYAML's own words for where the text stops being YAML
    assert problems_of("sites: [\n") == [
        "sites.yaml line 2: not valid YAML: expected the node content, but found '<stream end>'"
    ]
    assert problems_of("- just-a-name\n") == [
        "sites.yaml: site #1 must be a mapping with at least name, url and token_env"
    ]


def test_the_error_lists_every_problem_under_one_heading():
    with pytest.raises(SitesError) as caught:
        parse_sites("- {name: a, url: 'https://a.example', token_env: A, bogus: 1}\n", "f.yaml")
    assert str(caught.value) == (
        "Invalid sites file:\n  - f.yaml: site 'a', field 'bogus': unknown field; known fields are name, url, "
        "token_env, max_concurrency, calendar_start (line 1)"
    )


def test_no_sites_file_is_one_default_site_from_the_environment(project):
    sites = load_sites()
    assert sites.source is None and sites.implicit
    (site,) = sites.sites
    assert (site.name, site.url, site.token_env, site.max_concurrency, site.calendar_start) == (
        "default",
        "https://moodle.example.edu",
        "MOODLE_TOKEN",
        None,
        None,
    )


def test_the_sites_file_in_the_project_folder_is_read(project):
    (project / "moodle_sites.yaml").write_text("- {name: only, url: 'https://o.example', token_env: O_TOKEN}\n")
    sites = load_sites()
    assert (sites.source, [s.name for s in sites.sites]) == (project / "moodle_sites.yaml", ["only"])


def test_the_setting_names_the_file_relative_to_the_project_folder(project, monkeypatch):
    (project / "conf").mkdir()
    (project / "conf" / "sites.yaml").write_text("- {name: x, url: 'https://x.example', token_env: X_TOKEN}\n")
    monkeypatch.setenv("MOODLE_SITES_FILE", "conf/sites.yaml")
    assert [s.name for s in load_sites().sites] == ["x"]


def test_a_setting_naming_a_missing_file_is_an_error_naming_setting_and_path(project, monkeypatch):
    monkeypatch.setenv("MOODLE_SITES_FILE", "nowhere/sites.yaml")
    with pytest.raises(SettingError) as caught:
        load_sites()
    assert str(caught.value) == (
        f"MOODLE_SITES_FILE is 'nowhere/sites.yaml', but there is no file {project}/nowhere/sites.yaml: point it "
        "at your sites file, or unset it to use moodle_sites.yaml in the project folder"
    )


def test_the_example_file_has_two_valid_sites():
    sites = load_sites(ROOT / "moodle_sites.example.yaml").sites
    assert [(s.name, s.token_env, s.max_concurrency) for s in sites] == [
        ("main", "MOODLE_SITE_MAIN_TOKEN", None),
        ("north_campus", "MOODLE_SITE_NORTH_CAMPUS_TOKEN", 2),
    ]
