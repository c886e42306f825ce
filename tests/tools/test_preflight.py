"""Preflight: the credential check, per-asset function status and the permission samples,
as data and as a command."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import re
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from moodle_assets.demo.faults import Fault, FaultPlan
from moodle_assets.demo.server import DEMO_TOKEN, RESTRICTED_TOKEN, DemoServer
from moodle_assets.demo.services import LIMITED_TOKEN
from moodle_assets.endpoints import load_specs, load_text
from moodle_assets.moodle import ClientSettings, MoodleClient
from moodle_assets.tools.preflight import check_functions, preflight, refusal_of

from .conftest import WRONG_TOKEN, db_path, run_cli

FIXTURES = Path(__file__).parent.parent / "fixtures" / "demo" / "recordings"  # the real site's answers
SERVICE = "(Site administration > Server > Web services > External services > Functions)"
ROLES = "(Site administration > Users > Permissions > Define roles)"

# What a harvest account whose role lacks moodle/course:managegroups, mod/quiz:viewreports,
# moodle/competency:*, moodle/grade:viewall, report/completion:view and report/progress:view is
# refused, from the checks in Moodle 4.5's code (not from the demo's tables):
REFUSED_WITHOUT_THE_ROLE = {
    # gradereport_user\external\user::check_report_access: userid 0 (every user) needs viewall
    "grade_items": ("moodle/grade:viewall", "View grades of other users"),
    # gradereport_overview_external::get_course_grades for another user
    "course_grades": ("moodle/grade:viewall", "View grades of other users"),
    # core_completion_external::get_activities_completion_status for another user
    "activity_completion": ("report/progress:view", "View activity completion reports"),
    # completion_can_view_data() false: cannotviewreport, which names no capability
    "course_completion": ("report/completion:view", "View course completion report"),
    # mod_quiz_external::get_user_attempts for another user
    "quiz_attempts": ("mod/quiz:viewreports", "View quiz reports"),
    # core_competency\api::list_course_competencies / read_course_competency_settings
    "course_competencies": ("moodle/competency:coursecompetencyview", "View course competencies"),
    "user_competencies": ("moodle/competency:coursecompetencyview", "View course competencies"),
    # core_group_external::get_course_groups
    "groups": ("moodle/course:managegroups", "Manage groups"),
    # mod_assign_external::get_submissions without mod/assign:grade: no exception, an empty
    # list and warning 1 (neither service-account role of the demo has it, as on the recorded site)
    "assignment_submissions": ("mod/assign:grade", "Grade assignment"),
}
# ... and what cannot run because its rows come from a refused asset.
BLOCKED_WITHOUT_THE_ROLE = {"group_members": "groups", "course_completion_criteria": "course_completion"}


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
        False,
        f"add core_group_get_course_groups to the external service {SERVICE}",
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
    assert (status.available, status.caveats) == (
        True,
        (
            "'Enable competencies' is off on this site, so this asset loads no rows: switch it on in "
            "Site administration > General > Advanced features",
        ),
    )


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
    # One call per function (site info's answer serves site_info too), nothing written.
    functions = {s.function for s in specs if not s.explode}
    assert Counter(c.function for c in demo_server.calls) == Counter(functions)
    assert re.fullmatch(
        r"Samples: each asset's function called once with course \d+ \(\S+\) and user \d+ \(\S+\); "
        rf"{len(functions)} calls in all",
        lines[4],
    )
    assert DEMO_TOKEN not in out
    assert not db_path(cli_env).exists()


def test_samples_are_the_calls_a_harvest_makes(cli_env, demo_server, capsys):
    """Params, lookups and paging come from the specs through the runner: a quiz of the sample
    course and its student, every user of the course for the grade report, the first page."""
    code, out, _ = run_cli(capsys, "preflight", "--json")
    assert code == 0
    sample = json.loads(out)["sample"]
    course, user = sample["courseid"], sample["userid"]
    data = demo_server.dataset
    assert data.enrolment(course, user)["role"] == "student"
    sent = {c.function: dict(c.fields) for c in demo_server.calls}
    attempts = sent["mod_quiz_get_user_attempts"]
    assert data.quiz(int(attempts["quizid"]))["course"] == course
    assert (attempts["userid"], attempts["status"], attempts["includepreviews"]) == (str(user), "all", "0")
    assert (
        sent["gradereport_user_get_grade_items"]["courseid"],
        sent["gradereport_user_get_grade_items"]["userid"],
    ) == (str(course), "0")
    assert sent["core_enrol_get_enrolled_users"]["options[1][value]"] == "100"  # the spec's first page
    assert (sent["core_user_get_users"]["criteria[0][key]"], sent["core_user_get_users"]["criteria[0][value]"]) == (
        "id",
        str(user),
    )  # narrowed to the sample user: a big site is not read whole
    assert sent["mod_assign_get_assignments"]["includenotenrolledcourses"] == "1"
    assert "options[timestart]" in sent["core_calendar_get_calendar_events"]


def _preflight(url: str, token: str, **kwargs):
    async def run():
        async with MoodleClient(ClientSettings(url=url, token=token, max_retries=0, timeout=10)) as client:
            return await preflight(client, load_specs(include_user=False), **kwargs)

    return asyncio.run(run())


def test_a_role_without_capabilities_is_refused_with_the_capability_named(demo_server):
    result = _preflight(demo_server.url, LIMITED_TOKEN)
    statuses = {s.asset: s for s in result.statuses}
    refused = {s.asset: (s.capability, s.capability_name) for s in result.statuses if s.status == "refused"}
    assert refused == REFUSED_WITHOUT_THE_ROLE
    assert {s.asset: s.blocked_by for s in result.statuses if s.status == "blocked"} == BLOCKED_WITHOUT_THE_ROLE
    assert all(
        s.status == "ok"
        for name, s in statuses.items()
        if name not in REFUSED_WITHOUT_THE_ROLE and name not in BLOCKED_WITHOUT_THE_ROLE
    )
    assert statuses["grade_items"].moodle_said == (
        "Sorry, but you do not currently have permissions to do that (View grades of other users). [nopermissions]"
    )
    assert (
        statuses["grade_items"].fix
        == f"grant moodle/grade:viewall (View grades of other users) to the role of the token's user {ROLES}"
    )
    assert statuses["course_completion"].moodle_said == "You cannot view this report [cannotviewreport]"
    assert statuses["user_competencies"].also == ("moodle/competency:usercompetencyview",)
    assert statuses["group_members"].capability == "moodle/course:managegroups"
    assert not any(s.available for s in result.statuses if s.status != "ok")
    # group_members has no group to ask for; every other function is called once.
    assert result.sample.calls_by_function == {
        f: 1 for f in {s.function for s in result.statuses if s.function and s.asset != "group_members"}
    }


def test_preflight_with_a_role_lacking_capabilities(cli_env, capsys, monkeypatch):
    monkeypatch.setenv("MOODLE_TOKEN", LIMITED_TOKEN)
    code, out, err = run_cli(capsys, "preflight")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    total = len(load_specs(include_user=False))
    assert lines[-1] == (
        f"The token works. {total - 11} of {total} assets can run; 9 are refused: grant the capabilities named "
        "above; 2 wait on an asset that cannot run."
    )
    assert "All" not in lines[-1]
    assert (
        "  ✗ groups                      core_group_get_course_groups: refused: grant moodle/course:managegroups "
        f"(Manage groups) to the role of the token's user {ROLES}"
    ) in lines
    assert lines[lines.index(next(line for line in lines if line.startswith("  ✗ groups"))) + 1] == (
        "      Moodle said: Sorry, but you do not currently have permissions to do that (Manage groups). [nopermissions]"
    )
    assert (
        "  ✗ group_members               core_group_get_group_members: cannot run: its ids come from groups, which "
        f"cannot run: grant moodle/course:managegroups (Manage groups) to the role of the token's user {ROLES}"
    ) in lines
    assert sorted(line.split()[1] for line in lines if line.startswith("  ✗")) == sorted(
        [*REFUSED_WITHOUT_THE_ROLE, *BLOCKED_WITHOUT_THE_ROLE]
    )
    assert LIMITED_TOKEN not in out


def test_no_data_here_is_can_run_and_other_sample_failures_are_not(demo_dataset):
    faults = FaultPlan(
        [
            Fault(
                "exception",
                function="core_completion_get_course_completion_status",
                errorcode="nocriteriaset",
                exception="core\\exception\\moodle_exception",
                message="No completion criteria set for this course",
            ),
            Fault(
                "exception",
                function="core_group_get_course_groups",
                errorcode=None,
                exception="Error",
                message='Class "x" not found',
            ),
            Fault("slow", function="core_course_get_categories", seconds=8.0),
            Fault(
                "exception",
                function="core_badges_get_user_badges",
                message="Sorry, but you do not currently have permissions to do that (Fly).",
            ),
        ]
    )
    with DemoServer(demo_dataset, faults=faults) as server:
        result = _preflight(server.url, DEMO_TOKEN, timeout=3.0)
    statuses = {s.asset: s for s in result.statuses}
    assert (statuses["course_completion"].status, statuses["course_completion_criteria"].status) == ("ok", "ok")
    assert (statuses["groups"].status, statuses["groups"].moodle_said) == ("failed", 'Class "x" not found [Error]')
    assert (statuses["group_members"].status, statuses["group_members"].blocked_by) == ("blocked", "groups")
    assert (statuses["course_categories"].status, statuses["course_categories"].fix) == (
        "unchecked",
        "no answer within 3 s; try: moodle-assets test course_categories",
    )
    badges = statuses["user_badges"]
    assert (badges.status, badges.capability, badges.capability_name) == ("refused", None, "Fly")
    assert badges.fix == f'grant the capability Moodle calls "Fly" to the role of the token\'s user {ROLES}'
    assert {s.asset for s in result.statuses if s.status != "ok"} == {
        "groups",
        "group_members",
        "course_categories",
        "user_badges",
    }


def test_preflight_with_a_restricted_token_lists_what_to_add(cli_env, demo_server, capsys, monkeypatch):
    monkeypatch.setenv("MOODLE_TOKEN", RESTRICTED_TOKEN)
    code, out, err = run_cli(capsys, "preflight")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[2] == "Token user: svc_ingest (Ingestion Service, id 251)"
    assert [line for line in lines if line.startswith("  ✗")] == [
        "  ✗ assignment_submissions      mod_assign_get_submissions: refused: grant mod/assign:grade (Grade "
        f"assignment) to the role of the token's user {ROLES}",
        "  ✗ quiz_attempts               mod_quiz_get_user_attempts: add mod_quiz_get_user_attempts to the "
        f"external service {SERVICE}",
        "  ✗ groups                      core_group_get_course_groups: add core_group_get_course_groups to the "
        f"external service {SERVICE}",
        "  ✗ group_members               core_group_get_group_members: cannot run: its ids come from groups, which "
        f"cannot run: add core_group_get_course_groups to the external service {SERVICE}",
    ]
    assert "      Moodle said: warning 1: No access rights in module context" in lines
    total = len(load_specs(include_user=False))
    assert lines[-1] == (
        f"The token works. {total - 4} of {total} assets can run; 2 need their function added to the token's "
        "external service; 1 is refused: grant the capability named above; 1 waits on an asset that cannot run."
    )
    # Functions missing from the service are never called.
    called = {c.function for c in demo_server.calls}
    assert not called & {"mod_quiz_get_user_attempts", "core_group_get_course_groups", "core_group_get_group_members"}
    assert RESTRICTED_TOKEN not in out


def test_functions_only_makes_one_call_and_claims_no_permissions(cli_env, demo_server, capsys, monkeypatch):
    monkeypatch.setenv("MOODLE_TOKEN", LIMITED_TOKEN)
    code, out, _ = run_cli(capsys, "preflight", "--functions-only")
    assert code == 0
    total = len(load_specs(include_user=False))
    assert out.splitlines()[-1] == (
        f"The token works. All {total} assets' functions are in the token's service. "
        "Permissions were not sampled (--functions-only)."
    )
    assert [c.function for c in demo_server.calls] == ["core_webservice_get_site_info"]


@pytest.mark.parametrize(
    ("function", "code", "exception", "message", "debuginfo", "expected"),
    [
        (
            "core_group_get_course_groups",
            "nopermissions",
            "core\\exception\\required_capability_exception",
            "Sorry, but you do not currently have permissions to do that (Manage groups).",
            None,
            ("moodle/course:managegroups", "Manage groups", ()),
        ),
        # "View participants" is two capabilities; the function's own check tells which.
        (
            "core_enrol_get_enrolled_users",
            "nopermissions",
            "core\\exception\\required_capability_exception",
            "Sorry, but you do not currently have permissions to do that (View participants).",
            None,
            ("moodle/course:viewparticipants", "View participants", ()),
        ),
        # A site with debugging on may name the capability itself.
        (
            "local_thing_get",
            "nopermissions",
            "required_capability_exception",
            "Sorry, but you do not currently have permissions to do that (Do a thing).",
            "local/thing:do",
            ("local/thing:do", "Do a thing", ()),
        ),
        (
            "mod_forum_get_forum_discussions",
            "noviewdiscussionspermission",
            "core\\exception\\required_capability_exception",
            "You do not have the permission to view discussions in this forum",
            None,
            ("mod/forum:viewdiscussion", "View discussions", ()),
        ),
        (
            "report_competency_data_for_report",
            "nopermissions",
            "core\\exception\\required_capability_exception",
            "Sorry, but you do not currently have permissions to do that (View course competencies).",
            None,
            (
                "moodle/competency:coursecompetencyview",
                "View course competencies",
                ("moodle/competency:usercompetencyview",),
            ),
        ),
    ],
)
def test_the_capability_is_read_from_moodles_refusal(function, code, exception, message, debuginfo, expected):
    refusal = refusal_of(function, code, exception, message, debuginfo)
    assert (refusal.capability, refusal.name, refusal.also) == expected


def test_errors_that_are_not_refusals():
    assert (
        refusal_of(
            "core_completion_get_course_completion_status",
            "nocriteriaset",
            "core\\exception\\moodle_exception",
            "No criteria",
        )
        is None
    )
    assert (
        refusal_of(
            "core_course_get_contents",
            "invalidrecord",
            "dml_missing_record_exception",
            "Can't find data record in database table course.",
        )
        is None
    )


def test_preflight_json_never_carries_secrets(cli_env, capsys):
    code, out, err = run_cli(capsys, "preflight", "--json")
    assert (code, err) == (0, "")
    result = json.loads(out)
    assert result["ok"] is True and result["sampled"] is True
    assert (result["missing"], result["refused"], result["blocked"], result["failed"], result["unchecked"]) == (0,) * 5
    assert result["available"] == len(result["assets"])
    assert result["site"]["username"] == "admin"
    assert "userprivateaccesskey" not in out
    course = result["sample"]["courseid"]
    assert {
        "asset": "groups",
        "function": "core_group_get_course_groups",
        "source": "templates/people.yaml",
        "available": True,
        "fix": None,
        "caveats": [],
        "derived_from": None,
        "status": "ok",
        "capability": None,
        "capability_name": None,
        "moodle_said": None,
        "blocked_by": None,
        "sampled_with": {"courses.id": course},
        "also": [],
    } in result["assets"]
    assert result["sample"]["calls"] == sum(result["sample"]["calls_by_function"].values())
    assert DEMO_TOKEN not in out


def test_preflight_json_names_the_capability_to_grant(cli_env, capsys, monkeypatch):
    monkeypatch.setenv("MOODLE_TOKEN", LIMITED_TOKEN)
    code, out, _ = run_cli(capsys, "preflight", "--json")
    assert code == 0
    result = json.loads(out)
    assert result["refused"] == len(REFUSED_WITHOUT_THE_ROLE) and result["blocked"] == len(BLOCKED_WITHOUT_THE_ROLE)
    assets = {a["asset"]: a for a in result["assets"]}
    assert {
        name: (a["capability"], a["capability_name"]) for name, a in assets.items() if a["status"] == "refused"
    } == (REFUSED_WITHOUT_THE_ROLE)
    assert assets["quiz_attempts"]["available"] is False
    assert LIMITED_TOKEN not in out


def test_preflight_counts_user_endpoints(cli_env, demo_server, capsys):
    (cli_env / "moodle_endpoints.yaml").write_text(
        "- {name: course_updates, function: core_course_get_updates_since,"
        " params: {courseid: '{courses.id}', since: '{now-1}'}}\n"
        "- {name: report_rows, function: core_reportbuilder_retrieve_report, params: {reportid: 1}}\n",
        encoding="utf-8",
    )
    code, out, _ = run_cli(capsys, "preflight")
    assert code == 0
    assert "  ✓ course_updates              core_course_get_updates_since" in out.splitlines()
    assert "core_course_get_updates_since" in {c.function for c in demo_server.calls}  # sampled too
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
        **os.environ,
        "MOODLE_URL": demo_server.url,
        "MOODLE_TOKEN": RESTRICTED_TOKEN,
        "MOODLE_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
        "MOODLE_PROJECT_DIR": str(tmp_path),
    }
    script = Path(sys.executable).parent / "moodle-assets"
    done = subprocess.run([str(script), "preflight"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines()[0] == f"Site: Acme University LMS ({demo_server.url})"
    assert "2 need their function added to the token's external service" in done.stdout
    assert RESTRICTED_TOKEN not in done.stdout + done.stderr
    assert not (tmp_path / "warehouse.duckdb").exists()


def test_a_course_the_token_cannot_read_is_not_taken_for_the_role(demo_dataset):
    """The first course refuses its participants (a local override): the next course is tried,
    and the role, which can read it, is not reported as refused."""
    with DemoServer(demo_dataset) as server:
        first = _preflight(server.url, DEMO_TOKEN).sample.courseid
        faults = server.faults = FaultPlan(
            [
                Fault(
                    "exception",
                    function="core_enrol_get_enrolled_users",
                    when={"courseid": str(first)},
                    message="Sorry, but you do not currently have permissions to do that (View participants).",
                )
            ]
        )
        result = _preflight(server.url, DEMO_TOKEN)
    assert faults.injected["exception"] == 1
    assert result.sample.calls_by_function["core_enrol_get_enrolled_users"] == 2
    assert result.sample.courseid not in (None, first)
    assert all(s.status == "ok" for s in result.statuses)
