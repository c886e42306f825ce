"""The demo plays a harvest account whose role lacks capabilities: every function is in its
service, and Moodle refuses with its real permission error where the role falls short."""

from __future__ import annotations

import pytest

from moodle_assets.demo.dataset import FIRST_STUDENT_ID, THE_BIG_COURSE, THE_PAGED_FORUM_ID
from moodle_assets.demo.server import DEMO_TOKEN, RESTRICTED_TOKEN
from moodle_assets.demo.services import LIMITED_TOKEN

from .conftest import Site

REQUIRED_CAPABILITY = "core\\exception\\required_capability_exception"


def _refused(name: str) -> dict:
    """Moodle's answer when require_capability() fails: the class, nopermissions, and the
    capability named only by its title (get_capability_string), no debuginfo with debug off."""
    return {
        "exception": REQUIRED_CAPABILITY,
        "errorcode": "nopermissions",
        "message": f"Sorry, but you do not currently have permissions to do that ({name}).",
    }


def test_the_limited_token_has_every_function(site: Site) -> None:
    admin = site.call("core_webservice_get_site_info")
    limited = site.call("core_webservice_get_site_info", token=LIMITED_TOKEN)
    assert limited["userid"] == site.data.service_user_id and limited["userissiteadmin"] is False
    assert [f["name"] for f in limited["functions"]] == [f["name"] for f in admin["functions"]]


@pytest.mark.parametrize(
    ("function", "params", "name"),
    [
        ("core_group_get_course_groups", {"courseid": THE_BIG_COURSE.id}, "Manage groups"),
        ("core_group_get_group_members", {"groupids[0]": 1}, "Manage groups"),
        (
            "gradereport_user_get_grade_items",
            {"courseid": THE_BIG_COURSE.id, "userid": 0},
            "View grades of other users",
        ),
        ("gradereport_overview_get_course_grades", {"userid": FIRST_STUDENT_ID}, "View grades of other users"),
        (
            "core_completion_get_activities_completion_status",
            {"courseid": THE_BIG_COURSE.id, "userid": FIRST_STUDENT_ID},
            "View activity completion reports",
        ),
        ("mod_quiz_get_user_attempts", {"quizid": 1, "userid": FIRST_STUDENT_ID, "status": "all"}, "View quiz reports"),
        ("core_competency_list_course_competencies", {"id": THE_BIG_COURSE.id}, "View course competencies"),
        (
            "report_competency_data_for_report",
            {"courseid": THE_BIG_COURSE.id, "userid": FIRST_STUDENT_ID, "moduleid": 0},
            "View course competencies",
        ),
    ],
)
def test_a_missing_capability_is_moodles_permission_error(site: Site, function: str, params: dict, name: str) -> None:
    assert site.call(function, token=LIMITED_TOKEN, **params) == _refused(name)
    admin = site.call(function, **params)
    assert not (isinstance(admin, dict) and "exception" in admin), admin


def test_refusals_that_name_no_capability(site: Site) -> None:
    # completion_can_view_data() is false: a plain moodle_exception.
    assert site.call(
        "core_completion_get_course_completion_status",
        token=LIMITED_TOKEN,
        courseid=THE_BIG_COURSE.id,
        userid=FIRST_STUDENT_ID,
    ) == {
        "exception": "core\\exception\\moodle_exception",
        "errorcode": "cannotviewreport",
        "message": "You cannot view this report",
    }
    # check_report_access(): one other user without moodle/grade:viewall.
    assert site.call(
        "gradereport_user_get_grade_items", token=LIMITED_TOKEN, courseid=THE_BIG_COURSE.id, userid=FIRST_STUDENT_ID
    ) == {
        "exception": "core\\exception\\moodle_exception",
        "errorcode": "nopermissiontoviewgrades",
        "message": "Can not view grades.",
    }


def test_what_the_role_allows_still_answers(site: Site) -> None:
    me = site.data.service_user_id
    # About the token's own user no capability is checked (userid 0 = the caller).
    assert site.call("mod_quiz_get_user_attempts", token=LIMITED_TOKEN, quizid=1, userid=0)["attempts"] == []
    assert "grades" in site.call("gradereport_overview_get_course_grades", token=LIMITED_TOKEN, userid=me)
    # Capabilities the role has.
    assert isinstance(site.call("core_enrol_get_enrolled_users", token=LIMITED_TOKEN, courseid=THE_BIG_COURSE.id), list)
    assert "badges" in site.call("core_badges_get_user_badges", token=LIMITED_TOKEN, userid=4)
    assert "discussions" in site.call(
        "mod_forum_get_forum_discussions", token=LIMITED_TOKEN, forumid=THE_PAGED_FORUM_ID
    )


def test_the_other_tokens_keep_their_roles(site: Site) -> None:
    assert "usergrades" in site.call(
        "gradereport_user_get_grade_items", token=RESTRICTED_TOKEN, courseid=THE_BIG_COURSE.id, userid=0
    )
    assert (
        site.call("core_group_get_course_groups", token=DEMO_TOKEN, courseid=THE_BIG_COURSE.id)[0]["courseid"]
        == THE_BIG_COURSE.id
    )
