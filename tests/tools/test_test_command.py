"""``moodle-assets test`` against the demo Moodle over real HTTP: one call, nothing written."""

from __future__ import annotations

import json

from moodle_assets.demo.server import DEMO_TOKEN
from moodle_assets.warehouse import StagedRecords, Warehouse

from .conftest import WRONG_TOKEN, db_path, run_cli


def test_enrolled_users_with_a_lookup_value(cli_env, demo_server, capsys):
    code, out, err = run_cli(capsys, "test", "enrolled_users", "--lookup", "courses.id=2")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[:11] == [
        "Request for endpoint enrolled_users (core_enrol_get_enrolled_users), first page only:",
        f"  POST {demo_server.url}/webservice/rest/server.php",
        "  wstoken=<redacted>",
        "  wsfunction=core_enrol_get_enrolled_users",
        "  moodlewsrestformat=json",
        "  courseid=2",
        "  options[0][name]=limitfrom",
        "  options[0][value]=0",
        "  options[1][name]=limitnumber",
        "  options[1][value]=100",
        "Lookup values: courses.id=2 (from --lookup)",
    ]
    assert lines[12:16] == [
        "Records at $[*]: 99 on this page",
        "  courseid  id  username    firstname  lastname   fullname",
        "  --------  --  ----------  ---------  ---------  --------------",
        "  2         3   student001  Olga       Müller     Olga Müller",
    ]
    assert "  ... 89 more" in lines
    assert "Metadata: no metadata_path set" in lines
    start = lines.index("Suggested data paths (most record-like first):")
    assert lines[start + 1] == (
        "  $[*]                     99 records  keys: id, username, firstname, lastname, fullname, email, department, institution"
    )
    assert lines[start + 2].startswith("  $[*].groups[*]  ")
    # Exactly one call, the first page; nothing created on disk.
    assert [(c.function, c.fields[3:]) for c in demo_server.calls] == [
        (
            "core_enrol_get_enrolled_users",
            [
                ("courseid", "2"),
                ("options[0][name]", "limitfrom"),
                ("options[0][value]", "0"),
                ("options[1][name]", "limitnumber"),
                ("options[1][value]", "100"),
            ],
        )
    ]
    assert not db_path(cli_env).exists()
    assert not (cli_env / "db").exists()
    assert DEMO_TOKEN not in out + err


def test_course_index_pages_and_points_at_warnings(cli_env, demo_server, capsys):
    code, out, err = run_cli(capsys, "test", "course_index", "--param", "perpage=5", "--param", "page=2")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    # page/perpage given as --param choose the page and its size instead of the spec's paging.
    assert lines[5:9] == ["  criterianame=search", "  criteriavalue=", "  page=2", "  perpage=5"]
    assert "Records at $.courses[*]: 2 on this page" in lines
    assert (
        'Metadata: no metadata_path set; this answer has $.warnings (0): add metadata_path: "$.warnings" '
        "to keep Moodle's warnings"
    ) in lines
    assert len(demo_server.calls) == 1
    assert not db_path(cli_env).exists()


def test_lookup_values_come_from_duckdb_when_the_table_exists(cli_env, demo_server, capsys):
    warehouse = Warehouse(str(db_path(cli_env)))
    with StagedRecords() as staged:
        staged.add([{"id": 3}, {"id": 2}, {"id": None}, {"id": 2}])
        warehouse.replace_table("moodle.courses", staged)
    before = db_path(cli_env).stat().st_mtime_ns
    code, out, err = run_cli(capsys, "test", "assignments", "--json")
    assert (code, err) == (0, "")
    result = json.loads(out)
    # An array lookup sends the first values (sorted, distinct, no nulls) in one call.
    assert result["lookup"] == {"courses.id": [2, 3]}
    assert result["lookup_source"] == f"moodle.courses in {db_path(cli_env)}"
    assert result["request"][3:] == [["courseids[0]", "2"], ["courseids[1]", "3"], ["includenotenrolledcourses", "1"]]
    assert result["data_path"] == "$.courses[*].assignments[*]"
    assert result["suggestions"][0]["path"] == "$.courses[*].assignments[*]"
    assert result["suggestions"][0]["count"] == result["record_count"]
    assert db_path(cli_env).stat().st_mtime_ns == before
    assert warehouse.query("SELECT count(*) FROM moodle.courses") == [(4,)]
    assert not warehouse.table_exists("moodle.assignments")


def test_missing_lookup_says_materialise_or_pass_lookup(cli_env, demo_server, capsys):
    code, out, err = run_cli(capsys, "test", "enrolled_users")
    assert (code, out) == (2, "")
    assert err == (
        "moodle-assets test: enrolled_users needs values of courses.id: materialise asset moodle/courses first, "
        "or pass --lookup courses.id=VALUE\n"
    )
    assert demo_server.calls == []
    assert not db_path(cli_env).exists()


def test_adhoc_function_with_php_style_params_and_a_data_path(cli_env, demo_server, capsys):
    code, out, err = run_cli(
        capsys,
        "test",
        "--function",
        "mod_assign_get_assignments",
        "--param",
        "courseids[0]=2",
        "--param",
        "includenotenrolledcourses=1",
        "--data-path",
        "$.courses[*].assignments[*]",
        "--metadata-path",
        "$.warnings",
    )
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[:7] == [
        "Request for function mod_assign_get_assignments:",
        f"  POST {demo_server.url}/webservice/rest/server.php",
        "  wstoken=<redacted>",
        "  wsfunction=mod_assign_get_assignments",
        "  moodlewsrestformat=json",
        "  courseids[0]=2",
        "  includenotenrolledcourses=1",
    ]
    assert lines[8].startswith("Records at $.courses[*].assignments[*]: ")
    assert lines[9].split() == ["id", "cmid", "course", "name", "nosubmissions", "submissiondrafts"]
    assert "Metadata at $.warnings: 0" in lines
    assert [c.fields[3:] for c in demo_server.calls] == [[("courseids[0]", "2"), ("includenotenrolledcourses", "1")]]


def test_adhoc_json_keeps_nested_values_whole(cli_env, capsys):
    code, out, _ = run_cli(capsys, "test", "--function", "core_course_get_contents", "--param", "courseid=2", "--json")
    assert code == 0
    result = json.loads(out)
    assert result["endpoint"] is None and result["data_path"] is None
    assert result["request"][:3] == [
        ["wstoken", "<redacted>"],
        ["wsfunction", "core_course_get_contents"],
        ["moodlewsrestformat", "json"],
    ]
    assert isinstance(result["records"][0]["modules"], list)
    assert [s["path"] for s in result["suggestions"][:2]] == ["$[*].modules[*]", "$[*]"]
    assert DEMO_TOKEN not in out


def test_errors_are_one_line_and_never_show_the_token(cli_env, capsys, monkeypatch):
    code, out, err = run_cli(capsys, "test", "no_such_endpoint")
    assert (code, out) == (2, "")
    assert err.startswith(
        "moodle-assets test: unknown endpoint 'no_such_endpoint'; known endpoints: activity_completion, "
    )
    assert err.endswith("(or use --function NAME for any web-service function)\n")

    code, out, err = run_cli(capsys, "test", "--function", "core_course_get_nothing")
    assert (code, out) == (1, "")
    assert err.startswith("moodle-assets test: function core_course_get_nothing does not exist on this Moodle")
    assert err.count("\n") == 1

    code, out, err = run_cli(capsys, "test", "course_modules")
    assert (code, err) == (
        2,
        "moodle-assets test: endpoint 'course_modules' makes no Moodle call: its rows are "
        "exploded from course_contents.modules; test 'course_contents' instead\n",
    )

    monkeypatch.setenv("MOODLE_TOKEN", WRONG_TOKEN)
    code, out, err = run_cli(capsys, "test", "site_info", "--json")
    assert (code, out) == (1, "")
    assert err.startswith("moodle-assets test: core_webservice_get_site_info: the web-service token was refused.")
    assert "Check MOODLE_TOKEN" in err
    assert WRONG_TOKEN not in err


def test_function_not_in_the_service(cli_env, capsys, monkeypatch):
    monkeypatch.setenv("MOODLE_TOKEN", "demo-token-restricted-0123456789ab")
    code, out, err = run_cli(capsys, "test", "groups", "--lookup", "courses.id=2")
    assert (code, out) == (1, "")
    assert err.startswith("moodle-assets test: core_group_get_course_groups: this token may not call the function.")
    assert "Add function core_group_get_course_groups to the external service" in err


def test_an_html_page_is_not_moodle(cli_env, demo_server, capsys, monkeypatch):
    monkeypatch.setenv("MOODLE_URL", demo_server.url + "/login/index.php?x=")
    code, out, err = run_cli(capsys, "test", "site_info")
    assert (code, out) == (1, "")
    assert "not Moodle's web-service JSON" in err and err.count("\n") == 1
