"""Data-path suggestions on real Moodle 4.5 answers (tests/fixtures/demo/recordings)."""

from __future__ import annotations

import json
from pathlib import Path

from moodle_assets.tools.suggest import suggest_metadata_path, suggest_paths

FIXTURES = Path(__file__).parent.parent / "fixtures" / "demo" / "recordings"  # the real site's answers


def body(name: str):
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))["body"]


def ranked(document) -> list[tuple[str, str, int]]:
    return [(s.path, s.kind, s.count) for s in suggest_paths(document)]


def test_assignments_nested_in_courses_rank_first():
    suggestions = suggest_paths(body("mod_assign_get_assignments__courses2_3_includenotenrolled"))
    assert [(s.path, s.kind, s.count) for s in suggestions] == [
        ("$.courses[*].assignments[*]", "records", 4),
        ("$.courses[*]", "records", 2),
        ("$.courses[*].assignments[*].configs[*]", "records", 24),
        ("$", "object", 1),
        ("$.warnings", "metadata", 0),
    ]
    assert suggestions[0].example_keys == [
        "id",
        "cmid",
        "course",
        "name",
        "nosubmissions",
        "submissiondrafts",
        "sendnotifications",
        "sendlatenotifications",
    ]
    assert suggestions[1].keys == ["id", "fullname", "shortname", "timemodified", "assignments"]
    assert suggest_metadata_path(suggestions) == "$.warnings"


def test_course_contents_bare_list_of_sections_with_modules():
    assert ranked(body("core_course_get_contents__course2")) == [
        ("$[*].modules[*]", "records", 8),
        ("$[*]", "records", 5),
        ("$[*].modules[*].contents[*]", "records", 2),
        ("$[*].modules[*].dates[*]", "records", 6),
        ("$[*].modules[*].completiondata.details[*]", "records", 4),
    ]
    assert suggest_metadata_path(suggest_paths(body("core_course_get_contents__course2"))) is None


def test_submissions_of_every_assignment_are_counted_together():
    suggestions = suggest_paths(body("mod_assign_get_submissions__all"))
    assert [(s.path, s.kind, s.count) for s in suggestions] == [
        ("$.assignments[*].submissions[*]", "records", 96),
        ("$.assignments[*]", "records", 2),
        ("$", "object", 1),
        ("$.assignments[*].submissions[*].plugins[*]", "records", 240),
        ("$.assignments[*].submissions[*].plugins[*].editorfields[*]", "records", 96),
        ("$.assignments[*].submissions[*].plugins[*].fileareas[*]", "records", 144),
        ("$.warnings", "metadata", 0),
    ]
    assert suggestions[0].example_keys[:4] == ["id", "userid", "attemptnumber", "timecreated"]


def test_a_single_object_answer_suggests_dollar_first():
    suggestions = suggest_paths(body("core_webservice_get_site_info"))
    assert [(s.path, s.kind, s.count) for s in suggestions] == [
        ("$", "object", 1),
        ("$.functions[*]", "records", 38),
        ("$.advancedfeatures[*]", "records", 12),
    ]
    assert suggestions[1].keys == ["name", "version"]


def test_enrolled_users_bare_list_suggests_dollar_star():
    assert ranked(body("core_enrol_get_enrolled_users__course2_page0"))[0] == ("$[*]", "records", 100)


def test_lists_of_ids_are_values_and_wrapper_records_with_objects_beat_deep_helpers():
    assert ranked(body("core_group_get_group_members__course2_groups")) == [
        ("$[*]", "records", 2),
        ("$[*].userids[*]", "values", 198),
    ]
    top = ranked(body("report_competency_data_for_report__course2_user3"))[:3]
    assert top == [
        ("$.usercompetencies[*]", "records", 6),
        ("$.usercompetencies[*].competency.comppath.ancestors[*]", "records", 2),
        ("$.course", "object", 1),
    ]


def test_small_documents():
    assert ranked([{"id": 1}, {"id": 2}]) == [("$[*]", "records", 2)]
    assert ranked({"id": 1, "name": "x"}) == [("$", "object", 1)]
    assert ranked([]) == []
    assert ranked([1, 2, 3]) == [("$[*]", "values", 3)]
    # PHP arrays with gaps arrive as objects keyed by number: still a list of records.
    assert ranked({"items": {"3": {"id": 3}, "7": {"id": 7}}})[0] == ("$.items[*]", "records", 2)
    assert ranked({"odd-key": [{"id": 1}]})[0] == ("$['odd-key'][*]", "records", 1)
