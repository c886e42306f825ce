"""Real recorded responses parse into the expected rows."""

import json
from pathlib import Path

from moodle_assets.endpoints.extract import extract_metadata, extract_records, first

FIXTURES = Path(__file__).parent.parent / "fixtures" / "demo" / "recordings"  # the real site's answers


def body(name: str):
    return json.loads((FIXTURES / f"{name}.json").read_text())["body"]


def test_bare_list_is_rows_and_object_is_one_row():
    users = body("core_enrol_get_enrolled_users__course2_page0")
    rows = extract_records(users)
    assert len(rows) == 100 and rows[0]["id"] == 3 and rows[0]["username"] == "student001"
    site = body("core_webservice_get_site_info")
    [row] = extract_records(site)
    assert row["sitename"] == "Acme University LMS" and row["userid"] == 2


def test_wrapped_records_total_and_warnings():
    page = body("core_course_search_courses__data_page0")
    rows = extract_records(page, "$.courses[*]")
    assert [r["shortname"] for r in rows] == ["CS305", "CS201"]
    assert first(page, "$.total") == 4
    assert extract_metadata(page, "$.warnings") == []


def test_parent_fields_tie_submissions_to_their_assignment():
    rows = extract_records(
        body("mod_assign_get_submissions__all"), "$.assignments[*].submissions[*]", {"assignmentid": "assignmentid"}
    )
    assert len(rows) == 96
    assert {r["assignmentid"] for r in rows} == {1, 2}
    assert sum(r["assignmentid"] == 1 for r in rows) == 48


def test_scalar_lists_explode_to_rows():
    rows = extract_records(
        body("core_group_get_group_members__course2_groups"), "$[*].userids[*]", {"groupid": "groupid"}, "userid"
    )
    doc = body("core_group_get_group_members__course2_groups")
    assert len(rows) == sum(len(g["userids"]) for g in doc)
    assert rows[0] == {"userid": doc[0]["userids"][0], "groupid": 1}


def test_jsonpath_filters_go_through_jsonpath_ng():
    events = body("core_calendar_get_calendar_events__course2_window")
    rows = extract_records(events, "$.events[?(@.eventtype == 'course')]")
    assert rows and all(r["eventtype"] == "course" for r in rows)
    assert len(rows) == sum(e["eventtype"] == "course" for e in events["events"])
