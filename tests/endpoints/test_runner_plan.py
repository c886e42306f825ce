"""Run config and lookups become exactly the calls Moodle should receive."""

from datetime import UTC, datetime

import pytest

from moodle_assets.endpoints import load_specs
from moodle_assets.endpoints.runner import SettingsError, lookup_queries, plan_calls, resolve
from moodle_assets.moodle import encode_params

NOW = datetime(2026, 11, 1, tzinfo=UTC)
SPECS = {s.name: s for s in load_specs(include_user=False)}


def test_enrolled_users_fans_out_per_course_with_context():
    resolved = resolve(SPECS["enrolled_users"], {"page_size": 50})
    [query] = lookup_queries(resolved)
    assert (query.asset, query.columns, query.equals) == ("courses", ("id",), {})
    calls = list(plan_calls(resolved, [{"id": 2}, {"id": 3}], NOW))
    assert [c.params for c in calls] == [{"courseid": 2}, {"courseid": 3}]
    assert [c.context for c in calls] == [{"courseid": 2}, {"courseid": 3}]
    assert resolved.paginate.page_size == 50


def test_course_id_setting_narrows_the_fan_out():
    resolved = resolve(SPECS["enrolled_users"], {"course_id": 7})
    [query] = lookup_queries(resolved)
    assert query.equals == {"id": 7}


def test_courses_are_fetched_by_id_in_chunks():
    resolved = resolve(SPECS["courses"], {"page_size": 2})
    calls = list(plan_calls(resolved, [{"id": i} for i in (2, 3, 4, 5, 6)], NOW))
    assert [encode_params(c.params) for c in calls] == [
        [("options[ids][0]", "2"), ("options[ids][1]", "3")],
        [("options[ids][0]", "4"), ("options[ids][1]", "5")],
        [("options[ids][0]", "6")],
    ]


def test_users_search_field_is_checked_before_calling():
    resolved = resolve(SPECS["users"], {"search_field": "username", "search_value": "student%"})
    [call] = plan_calls(resolved, None, NOW)
    assert encode_params(call.params) == [("criteria[0][key]", "username"), ("criteria[0][value]", "student%")]
    with pytest.raises(SettingsError, match="setting 'search_field' = 'city' is not allowed; choose one of 'id'"):
        resolve(SPECS["users"], {"search_field": "city"})


def test_calendar_window_and_course_ids():
    window = (datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 10, 3, tzinfo=UTC))
    resolved = resolve(SPECS["calendar_events"])
    [call] = plan_calls(resolved, [{"id": 2}, {"id": 3}], NOW, window)
    assert encode_params(call.params) == [
        ("events[courseids][0]", "2"),
        ("events[courseids][1]", "3"),
        ("options[userevents]", "1"),
        ("options[siteevents]", "1"),
        ("options[timestart]", "1790812800"),
        ("options[timeend]", "1790985600"),
    ]


def test_bad_run_config_is_a_clear_error():
    with pytest.raises(SettingsError, match="setting 'page_size' = 0 must be at least 1"):
        resolve(SPECS["enrolled_users"], {"page_size": 0})
    with pytest.raises(SettingsError, match="unknown setting"):
        resolve(SPECS["enrolled_users"], {"pagesize": 10})
