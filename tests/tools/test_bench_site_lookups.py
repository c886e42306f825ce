"""The benchmark site's look-ups answer exactly as the emulator's own handlers.

bench/site_lookups.py cuts a course's enrolments to the page before the handler runs, so the
benchmark's site pays for one page, as Moodle's SQL LIMIT does, not for the whole course; and it
finds a user's grades and submissions by index instead of scanning the tables per item. Its
answers must stay the handlers': same users, order, fields, grades, short pages and errors.
"""

from __future__ import annotations

import json

import pytest

from bench import site_lookups
from bench.common import DEMO_NOW
from moodle_assets.demo.dataset import ADMIN_ID, DemoConfig, generate
from moodle_assets.demo.functions import REGISTRY, grades

FUNCTION = "core_enrol_get_enrolled_users"


@pytest.fixture(scope="module")
def data():
    return generate(DemoConfig(now=DEMO_NOW, scale=1.0))


def _answer(handler, data, params):
    try:
        return handler(data, ADMIN_ID, json.loads(json.dumps(params)))
    except Exception as exc:  # the same refusal from both
        return ("raised", type(exc).__name__, str(exc))


def test_pages_equal_the_handlers_for_every_course(data):
    handler = REGISTRY[FUNCTION]
    paged = site_lookups._enrolled_pages(handler)
    courses = sorted({e["courseid"] for e in data.enrolments}) + [999_999]  # and a course that does not exist
    compared = short = 0
    for course in courses:
        total = len(data.enrolments_of_course(course))
        for size in (1, 7, 100):
            for start in range(0, total + 2 * size, size):
                for extra in ([], [{"name": "userfields", "value": "id,fullname,email"}]):
                    options = [*extra, {"name": "limitfrom", "value": start}, {"name": "limitnumber", "value": size}]
                    params = {"courseid": course, "options": options}
                    expected = _answer(handler, data, params)
                    assert _answer(paged, data, params) == expected, (course, start, size, extra)
                    compared += 1
                    short += isinstance(expected, list) and 0 < len(expected) < size and start + size < total
    assert compared > 1000
    assert short > 0  # pages cut short by hidden users before the end are among them


def test_other_options_go_to_the_handler_unchanged(data):
    handler = REGISTRY[FUNCTION]
    paged = site_lookups._enrolled_pages(handler)
    course = max({e["courseid"] for e in data.enrolments}, key=lambda c: len(data.enrolments_of_course(c)))
    for options in (
        [{"name": "onlyactive", "value": 1}, {"name": "limitfrom", "value": 0}, {"name": "limitnumber", "value": 5}],
        [
            {"name": "sortby", "value": "lastname"},
            {"name": "limitfrom", "value": 3},
            {"name": "limitnumber", "value": 4},
        ],
        [{"name": "limitfrom", "value": 2}],
        [],
    ):
        params = {"courseid": course, "options": options}
        assert _answer(paged, data, params) == _answer(handler, data, params), options


def test_a_page_is_cut_before_the_handler_runs(data, monkeypatch):
    """What makes it cheap: the handler sees one page of the course's enrolments."""
    seen = []
    course = max({e["courseid"] for e in data.enrolments}, key=lambda c: len(data.enrolments_of_course(c)))

    def handler(data, caller, params):
        seen.append(len(data.enrolments_of_course(params["courseid"])))
        return []

    options = [{"name": "limitfrom", "value": 10}, {"name": "limitnumber", "value": 5}]
    site_lookups._enrolled_pages(handler)(data, ADMIN_ID, {"courseid": course, "options": options})
    assert seen == [5] < [len(data.enrolments_of_course(course))]


def test_enrolments_out_of_user_order_and_of_deleted_users():
    """The handler sorts by user id and drops enrolments whose user is gone; the cut page must too,
    and a change of the dataset rebuilds the cut."""
    data = generate(DemoConfig(now=DEMO_NOW, scale=0.25))
    handler = REGISTRY[FUNCTION]
    paged = site_lookups._enrolled_pages(handler)
    course = max({e["courseid"] for e in data.enrolments}, key=lambda c: len(data.enrolments_of_course(c)))
    page = {"courseid": course, "options": [{"name": "limitfrom", "value": 0}, {"name": "limitnumber", "value": 3}]}
    before = _answer(paged, data, page)  # the course's cut is cached from here on
    first = data.enrolments_of_course(course)[0]
    data.enrolments.remove(first)
    data.enrolments.append(first)  # the course's first user now comes last in the table
    data.enrolments.append({**first, "userid": -5})  # a user that no longer exists, sorting first
    data._index.clear()  # as every change of the demo's dataset does
    rows = data.enrolments_of_course(course)
    assert rows[0]["userid"] > first["userid"] == rows[-2]["userid"] and rows[-1]["userid"] == -5
    assert _answer(paged, data, page) == before == _answer(handler, data, page)
    total = len(rows)
    for size in (1, 3, 100):
        for start in range(0, total + size, size):
            options = [{"name": "limitfrom", "value": start}, {"name": "limitnumber", "value": size}]
            params = {"courseid": course, "options": options}
            assert _answer(paged, data, params) == _answer(handler, data, params), (start, size)


def test_grade_reports_equal_the_handlers(data, monkeypatch):
    """Every course's user grade report and every user's grades overview, with and without the
    indexed look-ups of grades, submissions and attempts."""
    items, overview = REGISTRY["gradereport_user_get_grade_items"], REGISTRY["gradereport_overview_get_course_grades"]
    courses = sorted({e["courseid"] for e in data.enrolments})
    users = sorted({e["userid"] for e in data.enrolments})
    calls = [(items, {"courseid": c, "userid": 0, "groupid": 0}) for c in courses]
    calls += [(overview, {"userid": u}) for u in users]
    expected = [_answer(handler, data, params) for handler, params in calls]
    monkeypatch.setattr(grades, "_grade", site_lookups.grade)
    monkeypatch.setattr(grades, "_submitted", site_lookups.submitted)
    assert [_answer(handler, data, params) for handler, params in calls] == expected
    submitted = [
        i["gradedatesubmitted"]
        for answer in expected[: len(courses)]
        if isinstance(answer, dict)
        for report in answer["usergrades"]
        for i in report["gradeitems"]
    ]
    assert any(submitted) and any(t is None for t in submitted)  # both kinds of item among them
