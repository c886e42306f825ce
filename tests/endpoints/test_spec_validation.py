"""A bad spec gives one clear error per problem, naming file, endpoint and field."""

import pytest

from moodle_assets.endpoints import SpecError, load_specs, load_text


def problems_of(text: str) -> list[str]:
    with pytest.raises(SpecError) as info:
        load_text(text, "my_endpoints.yaml")
    return info.value.problems


def test_builtin_templates_load_and_are_unique():
    specs = load_specs(include_user=False)
    names = [s.name for s in specs]
    assert len(names) == len(set(names))
    assert {
        "site_info",
        "course_index",
        "courses",
        "course_categories",
        "users",
        "enrolled_users",
        "calendar_events",
    } <= set(names)


def test_each_problem_is_reported_with_file_endpoint_and_field():
    problems = problems_of("""
- name: Bad-Name
  function: core_course_get_courses
- name: grades
  function: not a function
  data_path: "$.grades[*"
  paginate: {style: cursor}
  time_unit: fortnight
- name: events
  function: core_calendar_get_calendar_events
  params: {options: {timestart: "{yesterday}"}}
""")
    assert problems[0].startswith("my_endpoints.yaml: endpoint") or "entry #1" in problems[0]
    text = "\n".join(problems)
    assert "'Bad-Name' is not a valid name" in text
    assert (
        "my_endpoints.yaml: endpoint 'grades', field 'function': 'not a function' is not a Moodle web-service function name"
        in text
    )
    assert "endpoint 'grades', field 'data_path': invalid JSONPath '$.grades[*'" in text
    assert "endpoint 'grades', field 'paginate': must be a mapping with style one of limit_offset, page" in text
    assert (
        "endpoint 'grades', field 'time_unit': 'fortnight' is not one of second, minute, hour, day, week, month" in text
    )
    assert "endpoint 'events', field 'params.options.timestart': unknown macro {yesterday}" in text
    assert len(problems) == 6


def test_lookup_on_unknown_asset_duplicate_reserved_and_cycle():
    problems = problems_of("""
- name: a
  function: core_course_get_contents
  params: {courseid: "{b.id}"}
- name: b
  function: core_course_get_contents
  params: {courseid: "{a.id}"}
- name: c
  function: core_course_get_contents
  params: {courseid: "{nowhere.id}"}
- name: a
  function: core_course_get_courses
- name: lookup
  function: core_course_get_courses
""")
    text = "\n".join(problems)
    assert "endpoint 'a', field 'name': duplicate name" in text
    assert "endpoint 'lookup', field 'name': 'lookup' is reserved" in text
    assert "endpoint 'c', field 'params': lookup on unknown asset 'nowhere'" in text
    assert "lookup cycle a -> b -> a" in text


def test_settings_must_target_something_and_defaults_must_be_choices():
    problems = problems_of("""
- name: subs
  function: mod_assign_get_submissions
  params: {status: ""}
  settings:
    status: {type: str, default: everything, sets: params.status, choices: {all: "", draft: draft}}
    orphan: {type: int, default: 0}
    size: {type: int, default: 5, sets: paginate.page_size}
""")
    text = "\n".join(problems)
    assert "field 'settings.status': default 'everything' is not one of the choices all, draft" in text
    assert "field 'settings.orphan': needs exactly one of 'sets'" in text
    assert "field 'settings.size': sets paginate.page_size but the endpoint has no 'paginate'" in text


def test_lookups_on_two_assets_need_a_lookup_query():
    problems = problems_of("""
- name: courses
  function: core_course_get_courses
- name: users
  function: core_user_get_users
- name: pairs
  function: core_completion_get_course_completion_status
  params: {courseid: "{courses.id}", userid: "{users.id}"}
""")
    assert any("join them in a 'lookup' query" in p for p in problems)


def test_invalid_yaml_names_the_line():
    problems = problems_of("- name: a\n  function: [unclosed\n")
    assert problems[0].startswith("my_endpoints.yaml line ")
    assert "not valid YAML" in problems[0]


def test_user_file_problems_never_hide_assets(tmp_path):
    user = tmp_path / "moodle_endpoints.yaml"
    user.write_text("- name: site_info\n  function: core_webservice_get_site_info\n")
    with pytest.raises(SpecError) as info:
        load_specs(user)
    assert "duplicate name (also defined in templates/site.yaml)" in str(info.value)


def test_lookup_on_a_column_the_upstream_answer_does_not_have(tmp_path):
    user = tmp_path / "moodle_endpoints.yaml"
    user.write_text(
        "- name: contents_by_shortname\n"
        "  function: core_course_get_contents\n"
        '  params: {courseid: "{courses.short_name}"}\n'
        "- name: my_enrolments\n"
        "  function: core_enrol_get_enrolled_users\n"
        '  params: {courseid: "{courses.id}"}\n'
        "- name: per_enrolment\n"
        "  function: core_completion_get_course_completion_status\n"
        '  params: {courseid: "{my_enrolments.courseid}", userid: "{my_enrolments.id}"}\n'
    )
    with pytest.raises(SpecError) as info:
        load_specs(user)
    [problem] = info.value.problems
    assert problem.startswith(
        f"{user}: endpoint 'contents_by_shortname', field 'params': lookup {{courses.short_name}}: "
        "asset 'courses' has no column 'short_name'; its columns include"
    )
    assert "shortname" in problem


def test_unknown_keys_are_errors_at_every_level_with_their_line():
    problems = problems_of("""\
- name: members
  function: core_enrol_get_enrolled_users
  params: {courseid: "{courses.id}"}
  paginate:
    style: limit_offset
    page_sise: 50
  settings:
    course_id: {type: int, defualt: 0, filters: courses.id}
- name: courses
  function: core_course_get_courses
""")
    assert problems == [
        "my_endpoints.yaml: endpoint 'members', field 'paginate.page_sise': unknown field; known fields are "
        "first_page, page_param, page_size, perpage_param, stop_on_short_page, style, total_path (line 6)",
        "my_endpoints.yaml: endpoint 'members', field 'settings.course_id.defualt': unknown field; known fields "
        "are choices, default, filters, help, minimum, sets, type (line 8)",
    ]


def test_numbers_and_booleans_are_never_coerced_and_each_wrong_value_is_named():
    problems = problems_of("""\
- name: members
  function: core_enrol_get_enrolled_users
  params: {courseid: "{courses.id}"}
  paginate: {style: page, page_size: true, first_page: one}
  partition: {type: daily, end_offset: x}
  settings:
    course_id: {type: int, default: 0, minimum: "one", filters: courses.id}
- name: courses
  function: core_course_get_courses
""")
    text = "\n".join(problems)
    assert "endpoint 'members', field 'paginate.page_size': True must be a positive integer (line 4)" in text
    assert "field 'paginate.first_page': 'one' must be a whole number (the number of the first page)" in text
    assert "field 'partition.end_offset': 'x' must be a whole number of partitions (after today) (line 5)" in text
    assert "field 'settings.course_id.minimum': minimum 'one' must be a number (line 7)" in text
    assert "ValueError" not in text and "invalid literal" not in text


def test_lookup_deps_must_be_a_list_not_a_string_split_into_letters():
    problems = problems_of("""\
- name: pairs
  function: core_completion_get_course_completion_status
  params: {courseid: "{lookup.courseid}", userid: "{lookup.userid}"}
  lookup:
    sql: SELECT courseid, id AS userid FROM moodle.enrolled_users
    deps: enrolled_users
""")
    assert problems[0] == (
        "my_endpoints.yaml: endpoint 'pairs', field 'lookup.deps': name the assets the query reads, as a list such "
        "as [quizzes, enrolled_users], so lineage and run order are right (line 6)"
    )


def test_a_column_type_duckdb_does_not_know_is_an_error_when_the_spec_loads():
    problems = problems_of("""\
- name: things
  function: core_course_get_courses
  columns: {id: BIGINTEGER, fullname: VARCHAR, price: "DECIMAL(10,2)"}
""")
    assert problems == [
        "my_endpoints.yaml: endpoint 'things', field 'columns.id': 'BIGINTEGER' is not a DuckDB type; use one such "
        "as BIGINT, DOUBLE, VARCHAR, BOOLEAN, TIMESTAMP or JSON (line 3)"
    ]


def test_every_problem_names_its_line():
    problems = problems_of("""\
- name: grades
  function: not a function

  data_path: "$.grades[*"
""")
    assert [p.rsplit(" ", 2)[-2:] for p in problems] == [["(line", "2)"], ["(line", "4)"]]


def test_lookups_are_parsed_once_with_their_context_columns():
    [members, per_competency, pairs] = load_text(
        """\
- name: members
  function: core_enrol_get_enrolled_users
  params: {courseid: "{courses.id}"}
- name: per_competency
  function: core_competency_list_course_competencies
  params: {id: "{courses.id}"}
- name: pairs
  function: core_completion_get_course_completion_status
  params: {courseid: "{lookup.courseid}", userid: "{lookup.userid}"}
  lookup: {sql: "SELECT courseid, id AS userid FROM moodle.enrolled_users", deps: [enrolled_users]}
- name: courses
  function: core_course_get_courses
- name: enrolled_users
  function: core_enrol_get_enrolled_users
  params: {courseid: "{courses.id}"}
""",
        "my_endpoints.yaml",
    )[:3]
    assert (members.fan_out.asset, members.fan_out.columns, members.fan_out.array) == ("courses", ("id",), False)
    assert list(members.fan_out.context_columns) == ["courseid"]
    assert list(per_competency.fan_out.context_columns) == ["courseid"]  # "id" is named after its asset
    assert pairs.fan_out.is_query and pairs.fan_out.sql.startswith("SELECT courseid")
    assert list(pairs.fan_out.context_columns) == ["courseid", "userid"]
    assert pairs.upstream() == ("enrolled_users",)


def test_spec_and_macros_do_not_import_each_other():
    from pathlib import Path

    import moodle_assets.endpoints.macros as macros

    source = Path(macros.__file__).read_text(encoding="utf-8")
    assert "endpoints.spec" not in source and "from .spec" not in source
