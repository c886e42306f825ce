"""moodle_endpoints.example.yaml validates with the built-ins, sends only real parameters, and runs."""

from __future__ import annotations

import json
from pathlib import Path

from moodle_assets.endpoints import load_specs
from moodle_assets.moodle.schemas import all_schemas
from tests.conftest import DEMO_NOW

from .conftest import db_path, run_cli

EXAMPLE = Path(__file__).resolve().parents[2] / "moodle_endpoints.example.yaml"


def example_specs():
    return [s for s in load_specs(EXAMPLE) if s.source == str(EXAMPLE)]


def test_example_validates_together_with_the_builtins():
    specs = example_specs()
    assert [(s.name, s.function, s.data_path) for s in specs] == [
        ("course_search", "core_course_search_courses", "$.courses[*]"),
        ("assignment_grades", "mod_assign_get_grades", "$.assignments[*].grades[*]"),
        ("course_updates", "core_course_get_updates_since", "$.instances[*]"),
        ("custom_report_rows", "core_reportbuilder_retrieve_report", "$.data.rows[*]"),
    ]
    by_name = {s.name: s for s in specs}
    assert by_name["assignment_grades"].upstream() == ("assignments",)
    assert by_name["course_updates"].upstream() == ("courses",)
    assert by_name["assignment_grades"].params["since"] == "{now-30}"


def test_example_params_are_the_functions_declared_params():
    """Moodle rejects unknown keys; core_reportbuilder_retrieve_report is not in the 4.5 schema
    file, so its names are Moodle's documented reportid/page/perpage."""
    schemas = all_schemas()
    documented = {"core_reportbuilder_retrieve_report": {"reportid", "page", "perpage"}}
    for spec in example_specs():
        declared = documented.get(spec.function) or set(schemas[spec.function]["params"]["keys"])
        sent = set(spec.params)
        if spec.paginate and spec.paginate.style == "page":
            sent |= {spec.paginate.page_param, spec.paginate.perpage_param}
        assert sent <= declared, (spec.name, sent - declared)


def test_user_endpoints_can_be_tested_against_the_demo(cli_env, demo_server, capsys, monkeypatch):
    monkeypatch.setenv("MOODLE_ENDPOINTS_FILE", str(EXAMPLE))
    code, out, err = run_cli(capsys, "test", "course_updates", "--lookup", "courses.id=2")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "Request for endpoint course_updates (core_course_get_updates_since):"
    assert lines[5] == "  courseid=2"
    # {now-1} is a day before the project clock, which the tests stand at the demo site's moment.
    assert lines[6] == f"  since={DEMO_NOW - 86400}"
    assert "Metadata at $.warnings: 0" in lines
    assert lines[lines.index("Suggested data paths (most record-like first):") + 1].startswith("  $.instances[*]  ")
    sent = dict(demo_server.calls[0].fields)
    assert set(sent) == {"wstoken", "wsfunction", "moodlewsrestformat", "courseid", "since"}

    code, out, err = run_cli(capsys, "test", "course_search", "--param", "criteriavalue=data", "--json")
    assert (code, err) == (0, "")
    result = json.loads(out)
    assert result["request"][3:] == [
        ["criterianame", "search"],
        ["criteriavalue", "data"],
        ["page", "0"],
        ["perpage", "50"],
    ]
    assert result["metadata_path"] == "$.warnings" and result["metadata"] == []
    assert not db_path(cli_env).exists()
