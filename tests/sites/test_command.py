"""``moodle-assets sites list`` and ``sites check`` against emulated sites over real HTTP:
each site's verdict is its own, and no token is ever printed."""

from __future__ import annotations

import socket
import time

import pytest

from moodle_assets.cli import main
from moodle_assets.demo.dataset import DemoConfig, generate
from moodle_assets.demo.server import DEMO_TOKEN, RESTRICTED_TOKEN, DemoServer
from moodle_assets.demo.services import LIMITED_TOKEN
from moodle_assets.endpoints import load_specs
from tests.conftest import DEMO_NOW

# Recognisable in any output: none may ever appear.
ALPHA_TOKEN = "alpha-only-token-NEVER-PRINTED-1111"
GAMMA_TOKEN = "gamma-token-NEVER-PRINTED-3333"
ALL_TOKENS = (ALPHA_TOKEN, GAMMA_TOKEN, LIMITED_TOKEN, DEMO_TOKEN, RESTRICTED_TOKEN)


@pytest.fixture()
def project(tmp_path, monkeypatch):
    """A project folder in tmp_path, no single-site variables set, no token variables yet."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MOODLE_PROJECT_DIR", str(tmp_path))
    monkeypatch.setenv("MOODLE_DUCKDB_PATH", str(tmp_path / "warehouse.duckdb"))
    for name in ("MOODLE_SITES_FILE", "MOODLE_ENDPOINTS_FILE", "MOODLE_URL", "MOODLE_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture(scope="module")
def alpha():
    """A smaller site than the shared demo one, accepting a token of its own (and no other
    token of this test: the limited and gamma tokens are unknown to it)."""
    with DemoServer(generate(DemoConfig(now=DEMO_NOW, seed=8, scale=0.5)), token=ALPHA_TOKEN, service_ms=15) as server:
        yield server


@pytest.fixture(scope="module")
def beta(demo_dataset):
    """The shared demo site, where the harvest account's role lacks capabilities. Both sites
    answer in 15 ms, so calls that may overlap do."""
    with DemoServer(demo_dataset, service_ms=15) as server:
        yield server


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_no_token(*texts: str) -> None:
    for token in ALL_TOKENS:
        for text in texts:
            assert token not in text
            assert token[:12] not in text  # nor the start of one


def test_check_gives_each_site_its_own_verdict(project, alpha, beta, capsys, monkeypatch):
    port = closed_port()
    (project / "moodle_sites.yaml").write_text(
        "sites:\n"
        "  - name: alpha\n"
        f"    url: {alpha.url}\n"
        "    token_env: ALPHA_TOKEN\n"
        "    max_concurrency: 1\n"
        "  - name: beta\n"
        f"    url: {beta.url}\n"
        "    token_env: BETA_TOKEN\n"
        "  - name: gamma\n"
        f"    url: http://127.0.0.1:{port}\n"
        "    token_env: GAMMA_TOKEN\n"
    )
    monkeypatch.setenv("ALPHA_TOKEN", ALPHA_TOKEN)
    monkeypatch.setenv("BETA_TOKEN", LIMITED_TOKEN)
    monkeypatch.setenv("GAMMA_TOKEN", GAMMA_TOKEN)
    alpha.reset_calls()
    beta.reset_calls()

    code, out, err = run_cli(capsys, "sites", "check")

    total = len(load_specs(include_user=False))
    assert (code, err) == (1, "")
    summary = out[out.index("\nSummary:\n") + 1 :].splitlines()
    assert summary[:3] == [
        "Summary:",
        f"  alpha  The token works. All {total} assets can run.",
        f"  beta   The token works. {total - 11} of {total} assets can run; 9 are refused: grant the capabilities "
        "named above; 2 wait on an asset that cannot run.",
    ]
    assert summary[3].startswith(
        f"  gamma  CANNOT RUN: core_webservice_get_site_info: Moodle at http://127.0.0.1:{port}/webservice/rest/"
        "server.php did not answer successfully after 2 attempts (last: ConnectError"
    )
    assert len(summary) == 4
    # One full preflight report per site, under its own heading, in the file's order.
    headings = [line for line in out.splitlines() if line.startswith("=== site ")]
    assert headings == [
        f"=== site alpha: {alpha.url} ===",
        f"=== site beta: {beta.url} ===",
        f"=== site gamma: http://127.0.0.1:{port} ===",
    ]
    assert "Token user: admin (Admin User, id 2, site administrator)" in out
    assert "Token user: svc_ingest" in out
    # Each token went to its own site only: alpha saw only its admin token, beta only the limited one.
    assert {c.token_kind for c in alpha.calls} == {"admin"}
    assert {c.token_kind for c in beta.calls} == {"limited_role"}
    # alpha kept to its max_concurrency of 1; beta, with the default, was not held to 1.
    assert alpha.calls and alpha.peak_in_flight == 1
    assert beta.calls and beta.peak_in_flight > 1
    assert_no_token(out, err)


def test_an_unset_token_variable_is_that_sites_configuration_problem(project, alpha, capsys, monkeypatch):
    (project / "moodle_sites.yaml").write_text(
        f"- {{name: alpha, url: '{alpha.url}', token_env: ALPHA_TOKEN}}\n"
        f"- {{name: south, url: '{alpha.url}', token_env: SOUTH_TOKEN}}\n"
    )
    monkeypatch.setenv("ALPHA_TOKEN", ALPHA_TOKEN)
    code, out, err = run_cli(capsys, "sites", "check", "--functions-only")
    assert (code, err) == (2, "")
    total = len(load_specs(include_user=False))
    assert out.splitlines()[-3:] == [
        "Summary:",
        f"  alpha  The token works. All {total} assets' functions are in the token's service. Permissions were "
        "not sampled (--functions-only).",
        "  south  CANNOT RUN: SOUTH_TOKEN is not set: export SOUTH_TOKEN=<this site's web-service token> "
        "(Site administration > Server > Web services > Manage tokens)",
    ]
    assert_no_token(out, err)


def test_a_broken_sites_file_stops_before_any_call(project, alpha, capsys):
    (project / "moodle_sites.yaml").write_text("- {name: a, url: 'https://a.example', token: abc}\n")
    alpha.reset_calls()
    code, out, err = run_cli(capsys, "sites", "check")
    assert (code, out) == (2, "")
    assert err == (
        "moodle-assets sites check: Invalid sites file:\n"
        f"  - {project}/moodle_sites.yaml: site 'a', field 'token_env': missing: every site needs 'token_env', "
        "the name of the environment variable holding its token (line 1)\n"
        f"  - {project}/moodle_sites.yaml: site 'a', field 'token': a token (or any secret) does not belong in "
        "the sites file: put it in an environment variable and name that variable in 'token_env', e.g. "
        "token_env: MOODLE_SITE_A_TOKEN (line 1)\n"
    )
    assert alpha.calls == []


def test_without_a_sites_file_check_is_the_single_site_preflight(project, beta, capsys, monkeypatch):
    monkeypatch.setenv("MOODLE_URL", beta.url)
    monkeypatch.setenv("MOODLE_TOKEN", DEMO_TOKEN)
    code, out, err = run_cli(capsys, "sites", "check")
    total = len(load_specs(include_user=False))
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == f"=== site default: {beta.url} ==="
    assert out.splitlines()[-2:] == ["Summary:", f"  default  The token works. All {total} assets can run."]
    assert_no_token(out, err)


def test_list_names_the_variables_never_the_tokens(project, capsys, monkeypatch):
    (project / "moodle_sites.yaml").write_text(
        "- name: main\n"
        "  url: https://moodle.example.edu\n"
        "  token_env: MAIN_TOKEN\n"
        "- name: north\n"
        "  url: https://north.example.edu\n"
        "  token_env: NORTH_TOKEN\n"
        "  max_concurrency: 2\n"
        "  calendar_start: 2025-09-01\n"
    )
    monkeypatch.setenv("MAIN_TOKEN", ALPHA_TOKEN)
    code, out, err = run_cli(capsys, "sites", "list")
    assert (code, err) == (0, "")
    assert out == (
        f"Sites file: {project}/moodle_sites.yaml (2 sites)\n"
        "\n"
        "main\n"
        "  url:             https://moodle.example.edu\n"
        "  token:           from $MAIN_TOKEN (set)\n"
        "  max_concurrency: 4 (default)\n"
        "  calendar_start:  (default: each endpoint's start)\n"
        "\n"
        "north\n"
        "  url:             https://north.example.edu\n"
        "  token:           from $NORTH_TOKEN (NOT SET: export NORTH_TOKEN=<this site's token>)\n"
        "  max_concurrency: 2\n"
        "  calendar_start:  2025-09-01\n"
    )
    code, out, err = run_cli(capsys, "sites", "list", "--json")
    assert code == 0 and '"token_set": true' in out and '"token_set": false' in out
    assert_no_token(out, err)


def test_list_without_a_file_is_the_default_site(project, capsys, monkeypatch):
    monkeypatch.setenv("MOODLE_URL", "https://moodle.example.edu")
    monkeypatch.setenv("MOODLE_TOKEN", GAMMA_TOKEN)
    code, out, err = run_cli(capsys, "sites", "list")
    assert (code, err) == (0, "")
    assert out.splitlines()[:4] == [
        "No sites file (moodle_sites.yaml in the project folder, or $MOODLE_SITES_FILE): one site, from "
        "MOODLE_URL and MOODLE_TOKEN.",
        "",
        "default",
        "  url:             https://moodle.example.edu",
    ]
    assert "  token:           from $MOODLE_TOKEN (set)" in out
    assert_no_token(out, err)


def test_a_missing_sites_file_setting_is_reported(project, capsys, monkeypatch):
    monkeypatch.setenv("MOODLE_SITES_FILE", "absent.yaml")
    code, out, err = run_cli(capsys, "sites", "list")
    assert (code, out) == (2, "")
    assert err == (
        f"moodle-assets sites list: MOODLE_SITES_FILE is 'absent.yaml', but there is no file {project}/absent.yaml: "
        "point it at your sites file, or unset it to use moodle_sites.yaml in the project folder\n"
    )


def test_a_refused_token_names_the_sites_own_variable(project, alpha, capsys, monkeypatch):
    (project / "moodle_sites.yaml").write_text(f"- {{name: alpha, url: '{alpha.url}', token_env: ALPHA_TOKEN}}\n")
    monkeypatch.setenv("ALPHA_TOKEN", GAMMA_TOKEN)  # not a token alpha knows
    code, out, err = run_cli(capsys, "sites", "check", "--functions-only")
    assert (code, err) == (1, "")
    (verdict,) = [line for line in out.splitlines() if line.startswith("  alpha  ")]
    assert verdict.startswith(
        "  alpha  CANNOT RUN: core_webservice_get_site_info: the web-service token was refused. Moodle said: "
        "Invalid token - token not found [invalidtoken]. Check ALPHA_TOKEN: it must be"
    )
    assert "MOODLE_TOKEN" not in out
    assert_no_token(out, err)


def test_sites_are_checked_side_by_side(project, demo_dataset, capsys, monkeypatch):
    """Two sites taking 1.5 s per call: one call each (--functions-only) takes about 1.5 s
    together, not 3 s one after the other."""
    with DemoServer(demo_dataset, service_ms=1500) as one, DemoServer(demo_dataset, service_ms=1500) as two:
        (project / "moodle_sites.yaml").write_text(
            f"- {{name: one, url: '{one.url}', token_env: ONE_TOKEN}}\n"
            f"- {{name: two, url: '{two.url}', token_env: TWO_TOKEN}}\n"
        )
        monkeypatch.setenv("ONE_TOKEN", DEMO_TOKEN)
        monkeypatch.setenv("TWO_TOKEN", DEMO_TOKEN)
        started = time.monotonic()
        code, out, err = run_cli(capsys, "sites", "check", "--functions-only")
        elapsed = time.monotonic() - started
    assert (code, err) == (0, "")
    assert (len(one.calls), len(two.calls)) == (1, 1)
    assert elapsed < 2.7
