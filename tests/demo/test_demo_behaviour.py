"""The behaviours of a real Moodle 4.5 that clients must cope with, on the demo site."""

from __future__ import annotations

from moodle_assets.demo.dataset import ADMIN_ID, GUEST_ID, THE_BIG_COURSE, THE_SITE_COURSE_ID, DemoConfig, generate
from moodle_assets.demo.server import RESTRICTED_TOKEN

from .conftest import NOW, Site


def _page(site: Site, course: int, start: int, size: int) -> list[dict]:
    return site.call(
        "core_enrol_get_enrolled_users",
        courseid=course,
        **{
            "options[0][name]": "limitfrom",
            "options[0][value]": start,
            "options[1][name]": "limitnumber",
            "options[1][value]": size,
        },
    )


def test_site_info_lists_the_tokens_service(site: Site) -> None:
    admin = site.call("core_webservice_get_site_info")
    restricted = site.call("core_webservice_get_site_info", token=RESTRICTED_TOKEN)
    assert (admin["userid"], admin["release"], admin["version"]) == (ADMIN_ID, "4.5 (Build: 20241007)", "2024100700")
    assert restricted["userid"] == site.data.service_user_id and restricted["userissiteadmin"] is False
    names = {f["name"] for f in admin["functions"]}
    assert names - {f["name"] for f in restricted["functions"]} == {
        "mod_quiz_get_user_attempts",
        "core_group_get_course_groups",
    }
    assert "mod_quiz_get_user_quiz_attempts" not in names


def test_get_courses_sorts_by_category_and_fails_on_an_unreadable_course(site: Site) -> None:
    readable = [c["id"] for c in site.data.courses if c["id"] not in site.data.unreadable_course_ids]
    fields = {f"options[ids][{i}]": cid for i, cid in enumerate(readable)}
    courses = site.call("core_course_get_courses", **fields)
    assert courses[0]["id"] == THE_SITE_COURSE_ID and courses[0]["format"] == "site"
    assert [c["categorysortorder"] for c in courses] == sorted(c["categorysortorder"] for c in courses)
    assert [c["id"] for c in courses] != sorted(c["id"] for c in courses)
    assert site.call("core_course_get_courses")["errorcode"] == "nopermissions"
    assert site.call("core_course_get_courses", **{"options[ids][0]": 99999}) == []


def test_search_courses_pages_with_a_total(site: Site) -> None:
    everything = site.call("core_course_search_courses", criterianame="search", criteriavalue="", perpage=0)
    assert everything["total"] == len(site.data.courses) - 1 == len(everything["courses"])
    assert 1 not in {c["id"] for c in everything["courses"]}
    assert site.data.unreadable_course_ids <= {c["id"] for c in everything["courses"]}
    pages = [
        site.call("core_course_search_courses", criterianame="search", criteriavalue="", page=p, perpage=5)
        for p in range(4)
    ]
    assert [len(p["courses"]) for p in pages] == [5, 5, 2, 0]
    assert {p["total"] for p in pages} == {12}
    assert [c["id"] for p in pages for c in p["courses"]] == [c["id"] for c in everything["courses"]]


def test_categories_are_escaped_and_grow_subcategories(site: Site) -> None:
    names = {c["id"]: c["name"] for c in site.call("core_course_get_categories")}
    assert names[3] == "Faculty of Arts &amp; Humanities"
    science = site.call("core_course_get_categories", **{"criteria[0][key]": "id", "criteria[0][value]": "2"})
    assert [c["id"] for c in science] == [2, 5]
    top = site.call(
        "core_course_get_categories", addsubcategories=0, **{"criteria[0][key]": "parent", "criteria[0][value]": "0"}
    )
    assert [c["id"] for c in top] == [1, 2, 3, 4]


def test_user_search_criteria(site: Site) -> None:
    everyone = site.call("core_user_get_users", **{"criteria[0][key]": "email", "criteria[0][value]": "%"})
    assert [u["id"] for u in everyone["users"]] == [u["id"] for u in site.data.users] and everyone["users"][0][
        "id"
    ] == GUEST_ID
    staff = site.call(
        "core_user_get_users", **{"criteria[0][key]": "email", "criteria[0][value]": "%@staff.example.edu"}
    )
    assert {u["id"] for u in staff["users"]} == {u["id"] for u in site.data.users if u["kind"] == "teacher"}
    smiths = [u for u in site.data.users if u["lastname"] == site.data.users[5]["lastname"]]
    both = site.call(
        "core_user_get_users",
        **{
            "criteria[0][key]": "lastname",
            "criteria[0][value]": smiths[0]["lastname"],
            "criteria[1][key]": "auth",
            "criteria[1][value]": "manual",
        },
    )
    assert [u["id"] for u in both["users"]] == [u["id"] for u in smiths]
    bad = site.call("core_user_get_users", **{"criteria[0][key]": "city", "criteria[0][value]": "London"})
    assert len(bad["users"]) == len(site.data.users) and bad["warnings"][0]["warningcode"] == "invalidfieldparameter"


def test_enrolled_users_pages_can_be_short_before_the_end(site: Site) -> None:
    data = site.data
    enrolled = [e["userid"] for e in data.enrolments_of_course(THE_BIG_COURSE.id)]
    pages = [_page(site, THE_BIG_COURSE.id, start, 100) for start in (0, 100, 200, 300)]
    assert [len(p) for p in pages][-1] == 0
    assert any(len(p) < 100 for p in pages[:2])  # short, and yet more users follow
    got = [u["id"] for p in pages for u in p]
    assert got == sorted(set(enrolled) - data.hidden_user_ids)
    everything = site.call("core_enrol_get_enrolled_users", courseid=THE_BIG_COURSE.id)
    suspended = {e["userid"] for e in data.enrolments_of_course(THE_BIG_COURSE.id) if e["status"] == 1}
    assert suspended and suspended <= {u["id"] for u in everything}
    active = site.call(
        "core_enrol_get_enrolled_users",
        courseid=THE_BIG_COURSE.id,
        **{"options[0][name]": "onlyactive", "options[0][value]": "1"},
    )
    assert not suspended & {u["id"] for u in active}
    trimmed = site.call(
        "core_enrol_get_enrolled_users",
        courseid=THE_BIG_COURSE.id,
        **{
            "options[0][name]": "userfields",
            "options[0][value]": "id,email",
            "options[1][name]": "limitnumber",
            "options[1][value]": "3",
        },
    )
    assert [set(u) for u in trimmed] == [{"id", "fullname", "email"}] * 3
    teachers = site.call(
        "core_enrol_get_enrolled_users",
        courseid=THE_BIG_COURSE.id,
        **{"options[0][name]": "withcapability", "options[0][value]": "moodle/grade:viewall"},
    )
    assert {u["id"] for u in teachers} == {e["userid"] for e in data.teachers_of(THE_BIG_COURSE.id)}
    assert site.call("core_enrol_get_enrolled_users", courseid=99999)["errorcode"] == "invalidrecord"


def test_unreadable_course_fails_per_course_but_shows_in_listings(site: Site) -> None:
    (course,) = site.data.unreadable_course_ids
    for function, params in [
        ("core_enrol_get_enrolled_users", {"courseid": course}),
        ("core_course_get_contents", {"courseid": course}),
        ("gradereport_user_get_grade_items", {"courseid": course}),
        ("core_group_get_course_groups", {"courseid": course}),
        ("core_competency_list_course_competencies", {"id": course}),
    ]:
        assert site.call(function, **params)["errorcode"] == "nopermissions", function
    listed = site.call("mod_quiz_get_quizzes_by_courses", **{"courseids[0]": course})
    assert [q["course"] for q in listed["quizzes"]] == [course]
    assert site.call("core_course_get_courses_by_field", field="id", value=course)["courses"][0]["id"] == course


def test_calendar_selectors(site: Site) -> None:
    data = site.data
    default = site.call("core_calendar_get_calendar_events")["events"]
    assert {e["eventtype"] for e in default} == {"site", "user"}
    assert all(e["userid"] == ADMIN_ID for e in default if e["eventtype"] == "user")
    course2 = site.call("core_calendar_get_calendar_events", **{"events[courseids][0]": 2})["events"]
    assert {e["courseid"] for e in course2 if e["eventtype"] not in ("site", "user")} == {2}
    assert {"due", "open", "close", "gradingdue", "course"} <= {e["eventtype"] for e in course2}
    by_ids = site.call("core_calendar_get_calendar_events", **{"events[eventids][0]": 61, "events[eventids][1]": 62})
    assert len(by_ids["events"]) == len(default) + len({61, 62} - {e["id"] for e in default})
    groups_alone = site.call(
        "core_calendar_get_calendar_events",
        **{"events[groupids][0]": 1, "options[siteevents]": 0, "options[userevents]": 0},
    )
    assert groups_alone["events"] == []
    start, end = NOW - 30 * 86400, NOW
    window = site.call("core_calendar_get_calendar_events", **{"options[timestart]": start, "options[timeend]": end})
    assert window["events"] and all(
        e["timestart"] <= end and e["timestart"] + e["timeduration"] >= start for e in window["events"]
    )
    assert min(e["timestart"] for e in data.events) >= NOW - 90 * 86400


def test_same_seed_and_clock_give_the_same_site(site: Site) -> None:
    again = generate(DemoConfig(now=NOW))
    assert again.users == site.data.users and again.events == site.data.events
    assert again.submissions == site.data.submissions
    assert generate(DemoConfig(now=NOW, seed=8)).users != site.data.users
