"""Transport, tokens and the error envelope, as recorded on a real Moodle 4.5."""

from __future__ import annotations

import httpx

from moodle_assets.demo.dataset import FIRST_STUDENT_ID, THE_BIG_COURSE
from moodle_assets.demo.server import DEMO_TOKEN, RESTRICTED_TOKEN

from .conftest import REST, Site

INVALID_PARAMETER = {
    "exception": "core\\exception\\invalid_parameter_exception",
    "errorcode": "invalidparameter",
    "message": "Invalid parameter value detected",
}
INVALID_TOKEN = {
    "exception": "core\\exception\\moodle_exception",
    "errorcode": "invalidtoken",
    "message": "Invalid token - token not found",
}


def test_wrong_and_missing_token_are_invalidtoken(site: Site) -> None:
    assert site.call("core_webservice_get_site_info", token="0123456789abcdef0123456789abcdef") == INVALID_TOKEN
    response = site.post({"wsfunction": "core_webservice_get_site_info", "moodlewsrestformat": "json"})
    assert response.status_code == 200 and response.json() == INVALID_TOKEN


def test_function_outside_the_service_is_accessexception(site: Site) -> None:
    body = site.call("mod_quiz_get_user_attempts", token=RESTRICTED_TOKEN, quizid=1, userid=FIRST_STUDENT_ID)
    assert body == {
        "exception": "webservice_access_exception",
        "errorcode": "accessexception",
        "message": "Access control exception",
    }
    assert (
        site.call("core_group_get_course_groups", token=RESTRICTED_TOKEN, courseid=THE_BIG_COURSE.id)["errorcode"]
        == "accessexception"
    )


def test_unknown_function_is_invalidrecord(site: Site) -> None:
    assert site.call("core_nonexistent_function_xyz") == {
        "exception": "dml_missing_record_exception",
        "errorcode": "invalidrecord",
        "message": "Can't find data record in database table external_functions.",
    }
    # Moodle 4.5 has no core_competency_list_user_competencies and no 5.0 quiz attempts function.
    assert site.call("core_competency_list_user_competencies")["errorcode"] == "invalidrecord"
    assert site.call("mod_quiz_get_user_quiz_attempts", quizid=1)["errorcode"] == "invalidrecord"


def test_missing_function_name_is_invalidparameter(site: Site) -> None:
    assert site.post({"wstoken": DEMO_TOKEN, "moodlewsrestformat": "json"}).json() == INVALID_PARAMETER


def test_unexpected_missing_and_mistyped_params_are_invalidparameter(site: Site) -> None:
    assert site.call("core_webservice_get_site_info", foo="bar") == INVALID_PARAMETER
    assert site.call("core_course_get_courses", page=0, perpage=5) == INVALID_PARAMETER
    assert site.call("core_enrol_get_enrolled_users") == INVALID_PARAMETER
    assert site.call("core_enrol_get_enrolled_users", courseid="abc") == INVALID_PARAMETER
    assert site.call("mod_assign_get_assignments", courseids="2") == INVALID_PARAMETER
    assert site.call("core_course_get_courses_by_field", field="fullname", value="x") == INVALID_PARAMETER


def test_unknown_option_names_are_ignored(site: Site) -> None:
    body = site.call(
        "core_enrol_get_enrolled_users", courseid=3, **{"options[0][name]": "pagesize", "options[0][value]": "10"}
    )
    assert len(body) == len(site.data.enrolments_of_course(3))


def test_xml_when_format_is_omitted(site: Site) -> None:
    error = site.post({"wstoken": "0123456789abcdef0123456789abcdef", "wsfunction": "core_webservice_get_site_info"})
    assert error.status_code == 200
    assert error.headers["content-type"] == "application/xml; charset=utf-8"
    assert error.text == (
        '<?xml version="1.0" encoding="UTF-8" ?>\n<EXCEPTION class="core\\exception\\moodle_exception">\n'
        "<ERRORCODE>invalidtoken</ERRORCODE>\n<MESSAGE>Invalid token - token not found</MESSAGE>\n</EXCEPTION>\n"
    )
    ok = site.post(
        {"wstoken": DEMO_TOKEN, "wsfunction": "core_course_get_courses_by_field", "field": "id", "value": "2"}
    )
    assert ok.text.startswith(
        '<?xml version="1.0" encoding="UTF-8" ?>\n<RESPONSE>\n<SINGLE>\n<KEY name="courses"><MULTIPLE>\n'
        '<SINGLE>\n<KEY name="id"><VALUE>2</VALUE>\n</KEY>\n'
    )
    assert '<KEY name="shortname"><VALUE>DS101</VALUE>\n</KEY>' in ok.text
    assert '<KEY name="communicationroomname"><VALUE null="null"/>\n</KEY>' in ok.text
    assert ok.text.endswith("</SINGLE>\n</RESPONSE>\n")
    yaml = site.post(
        {"wstoken": DEMO_TOKEN, "wsfunction": "core_webservice_get_site_info", "moodlewsrestformat": "yaml"}
    )
    assert (
        yaml.headers["content-type"].startswith("application/xml")
        and '<KEY name="userid"><VALUE>2</VALUE>' in yaml.text
    )


def test_get_works_like_post(site: Site) -> None:
    params = {
        "wstoken": DEMO_TOKEN,
        "wsfunction": "core_course_get_courses_by_field",
        "moodlewsrestformat": "json",
        "field": "id",
        "value": "2",
    }
    got = site.client.get(REST, params=params)
    assert got.status_code == 200 and got.json() == site.post(params).json()
    assert got.json()["courses"][0]["shortname"] == "DS101"


def test_other_paths_are_html(site: Site) -> None:
    login = site.client.get("/login/index.php")
    assert login.status_code == 200 and login.headers["content-type"].startswith("text/html")
    missing = site.client.get("/webservice/rest/nothing.php")
    assert missing.status_code == 404 and "<html>" in missing.text


def test_calls_are_recorded_without_the_token(site: Site) -> None:
    site.server.reset_calls()
    site.post(
        [
            ("wstoken", DEMO_TOKEN),
            ("wsfunction", "core_course_get_courses"),
            ("moodlewsrestformat", "json"),
            ("options[ids][0]", "2"),
        ]
    )
    site.post({"wsfunction": "core_webservice_get_site_info", "wstoken": RESTRICTED_TOKEN})
    site.post({"wsfunction": "core_webservice_get_site_info", "wstoken": "nope"})
    calls = site.server.calls
    assert [c.token_kind for c in calls] == ["admin", "restricted", "invalid"]
    assert calls[0].function == "core_course_get_courses" and calls[0].method == "POST"
    assert calls[0].fields == [
        ("wstoken", "<TOKEN>"),
        ("wsfunction", "core_course_get_courses"),
        ("moodlewsrestformat", "json"),
        ("options[ids][0]", "2"),
    ]
    assert all(DEMO_TOKEN not in str(c) and RESTRICTED_TOKEN not in str(c) for c in calls)


def test_throttled_server_serves_concurrent_calls(demo_data) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from moodle_assets.demo.server import DemoServer

    with DemoServer(demo_data, workers=2, service_ms=1, jitter_ms=1) as server:

        def one(_: int) -> int:
            body = httpx.post(
                server.url + REST,
                data={
                    "wstoken": DEMO_TOKEN,
                    "wsfunction": "core_webservice_get_site_info",
                    "moodlewsrestformat": "json",
                },
            ).json()
            return body["userid"]

        with ThreadPoolExecutor(4) as pool:
            assert list(pool.map(one, range(8))) == [2] * 8
        assert len(server.calls) == 8
