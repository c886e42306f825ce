"""Preflight: the credential check and per-asset function status, as data and as a command."""

from __future__ import annotations

import copy
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from moodle_assets.demo.server import DEMO_TOKEN, RESTRICTED_TOKEN
from moodle_assets.endpoints import load_specs, load_text
from moodle_assets.tools.preflight import check_functions

from .conftest import WRONG_TOKEN, db_path, run_cli

FIXTURES = Path(__file__).parent.parent / "fixtures" / "tools"
SERVICE = "(Site administration > Server > Web services > External services > Functions)"


@pytest.fixture()
def site_info() -> dict:
    recording = json.loads((FIXTURES / "core_webservice_get_site_info.json").read_text(encoding="utf-8"))
    return copy.deepcopy(recording["body"])


def by_asset(statuses) -> dict:
    return {s.asset: s for s in statuses}


def test_every_builtin_function_is_in_the_recorded_admin_service(site_info):
    statuses = check_functions(site_info, load_specs(include_user=False))
    assert [s.asset for s in statuses if not s.available] == []
    assert by_asset(statuses)["course_modules"].derived_from == "course_contents.modules"
    assert by_asset(statuses)["quiz_attempts"].function == "mod_quiz_get_user_attempts"


def test_a_function_missing_from_the_service_says_to_add_it(site_info):
    site_info["functions"] = [f for f in site_info["functions"] if f["name"] != "core_group_get_course_groups"]
    status = by_asset(check_functions(site_info, load_specs(include_user=False)))["groups"]
    assert (status.available, status.fix) == (
        False, f"add core_group_get_course_groups to the external service {SERVICE}",
    )


def test_version_gated_function_on_an_older_and_a_newer_site(site_info):
    specs = load_text(
        "- {name: quiz_attempts_v5, function: mod_quiz_get_user_quiz_attempts}\n"
        "- {name: quiz_attempts, function: mod_quiz_get_user_attempts,"
        " alternatives: [{function: mod_quiz_get_user_quiz_attempts, min_version: 2025041400}]}\n"
    )
    old = by_asset(check_functions(site_info, specs))
    assert (old["quiz_attempts_v5"].available, old["quiz_attempts_v5"].fix) == (
        False,
        "mod_quiz_get_user_quiz_attempts exists only from Moodle 5.0 (version 2025041400); this site runs "
        "4.5 (Build: 20241007) (version 2024100700): use mod_quiz_get_user_attempts on this site",
    )
    assert (old["quiz_attempts"].function, old["quiz_attempts"].available) == ("mod_quiz_get_user_attempts", True)

    site_info.update(version="2025041400", release="5.0 (Build: 20250414)")
    site_info["functions"].append({"name": "mod_quiz_get_user_quiz_attempts", "version": "2025041400"})
    new = by_asset(check_functions(site_info, specs))
    assert (new["quiz_attempts_v5"].available, new["quiz_attempts_v5"].fix) == (True, None)
    assert new["quiz_attempts"].function == "mod_quiz_get_user_quiz_attempts"


def test_a_feature_switched_off_is_a_caveat_not_a_failure(site_info):
    for feature in site_info["advancedfeatures"]:
        if feature["name"] == "enablecompetencies":
            feature["value"] = 0
    status = by_asset(check_functions(site_info, load_specs(include_user=False)))["user_competencies"]
    assert (status.available, status.caveats) == (True, (
        "'Enable competencies' is off on this site, so this asset loads no rows: switch it on in "
        "Site administration > General > Advanced features",
    ))


def test_preflight_with_the_admin_token(cli_env, demo_server, capsys):
    code, out, err = run_cli(capsys, "preflight")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[:4] == [
        f"Site: Acme University LMS ({demo_server.url})",
        "Moodle: 4.5 (Build: 20241007), version 2024100700",
        "Token user: admin (Admin User, id 2, site administrator)",
        f"External service: {len(demo_server._tokens[DEMO_TOKEN].functions)} functions",
    ]
    specs = load_specs(include_user=False)
    assets = [line for line in lines if line.startswith("  ")]
    assert len(assets) == len(specs)
    assert all(line.startswith("  ✓ ") for line in assets)
    assert f"  ✓ enrolled_users{' ' * 14}core_enrol_get_enrolled_users" in assets
    assert lines[-1] == f"The token works. All {len(specs)} assets can run."
    assert [c.function for c in demo_server.calls] == ["core_webservice_get_site_info"]
    assert DEMO_TOKEN not in out
    assert not db_path(cli_env).exists()


def test_preflight_with_a_restricted_token_lists_what_to_add(cli_env, capsys, monkeypatch):
    monkeypatch.setenv("MOODLE_TOKEN", RESTRICTED_TOKEN)
    code, out, err = run_cli(capsys, "preflight")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[2] == "Token user: svc_ingest (Ingestion Service, id 251)"
    assert [line for line in lines if line.startswith("  ✗")] == [
        "  ✗ quiz_attempts               mod_quiz_get_user_attempts: add mod_quiz_get_user_attempts to the "
        f"external service {SERVICE}",
        "  ✗ groups                      core_group_get_course_groups: add core_group_get_course_groups to the "
        f"external service {SERVICE}",
    ]
    total = len(load_specs(include_user=False))
    assert lines[-1] == (
        f"The token works. {total - 2} of {total} assets can run; 2 cannot: "
        "add the functions marked ✗ to the token's external service."
    )
    assert RESTRICTED_TOKEN not in out


def test_preflight_json_never_carries_secrets(cli_env, capsys):
    code, out, err = run_cli(capsys, "preflight", "--json")
    assert (code, err) == (0, "")
    result = json.loads(out)
    assert result["ok"] is True and result["missing"] == 0
    assert result["site"]["username"] == "admin"
    assert "userprivateaccesskey" not in out
    assert {"asset": "groups", "function": "core_group_get_course_groups", "source": "templates/people.yaml",
            "available": True, "fix": None, "caveats": [], "derived_from": None} in result["assets"]
    assert DEMO_TOKEN not in out


def test_preflight_counts_user_endpoints(cli_env, capsys):
    (cli_env / "moodle_endpoints.yaml").write_text(
        "- {name: course_updates, function: core_course_get_updates_since,"
        " params: {courseid: '{courses.id}', since: '{now-1}'}}\n"
        "- {name: report_rows, function: core_reportbuilder_retrieve_report, params: {reportid: 1}}\n",
        encoding="utf-8",
    )
    code, out, _ = run_cli(capsys, "preflight")
    assert code == 0
    assert "  ✓ course_updates              core_course_get_updates_since" in out.splitlines()
    assert (
        "  ✗ report_rows                 core_reportbuilder_retrieve_report: add core_reportbuilder_retrieve_report "
        f"to the external service {SERVICE}"
    ) in out.splitlines()


def test_wrong_token_fails_with_the_fix_and_never_prints_it(cli_env, capsys, monkeypatch):
    monkeypatch.setenv("MOODLE_TOKEN", WRONG_TOKEN)
    code, out, err = run_cli(capsys, "preflight", "--json")
    assert (code, out) == (1, "")
    assert err.startswith(
        "moodle-assets preflight: core_webservice_get_site_info: the web-service token was refused. "
        "Moodle said: Invalid token - token not found [invalidtoken]. Check MOODLE_TOKEN:"
    )
    assert err.count("\n") == 1
    assert WRONG_TOKEN not in err


def test_unset_environment_and_unreachable_site(cli_env, capsys, monkeypatch):
    monkeypatch.delenv("MOODLE_TOKEN")
    code, out, err = run_cli(capsys, "preflight")
    assert (code, out) == (2, "")
    assert err == (
        "moodle-assets preflight: MOODLE_TOKEN is not set: export MOODLE_URL=https://your.moodle (the site root) "
        "and MOODLE_TOKEN=<a web-service token> (Site administration > Server > Web services > Manage tokens)\n"
    )
    monkeypatch.setenv("MOODLE_TOKEN", WRONG_TOKEN)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("MOODLE_URL", f"http://127.0.0.1:{port}")
    code, out, err = run_cli(capsys, "preflight")
    assert (code, out) == (1, "")
    assert err.startswith(
        f"moodle-assets preflight: core_webservice_get_site_info: Moodle at http://127.0.0.1:{port}/webservice/rest/"
        "server.php did not answer successfully after 2 attempts (last: ConnectError"
    )
    assert WRONG_TOKEN not in err


def test_not_a_moodle_url(cli_env, demo_server, capsys, monkeypatch):
    monkeypatch.setenv("MOODLE_URL", demo_server.url + "/my/")
    code, out, err = run_cli(capsys, "preflight")
    assert (code, out) == (1, "")
    assert "answered HTTP" in err and "not Moodle's web-service JSON" in err


def test_preflight_as_a_real_process(demo_server, tmp_path):
    env = {
        **os.environ, "MOODLE_URL": demo_server.url, "MOODLE_TOKEN": RESTRICTED_TOKEN,
        "MOODLE_DUCKDB_PATH": str(tmp_path / "moodle.duckdb"), "MOODLE_ENDPOINTS_FILE": str(tmp_path / "none.yaml"),
    }
    script = Path(sys.executable).parent / "moodle-assets"
    done = subprocess.run([str(script), "preflight"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines()[0] == f"Site: Acme University LMS ({demo_server.url})"
    assert "2 cannot: add the functions marked ✗" in done.stdout
    assert RESTRICTED_TOKEN not in done.stdout + done.stderr
    assert not (tmp_path / "moodle.duckdb").exists()
