"""Contract: the demo answers every recorded request the way the real Moodle 4.5 site did.

Every file in ``tests/fixtures/demo/recordings`` (a real site's request and answer) is replayed
against a demo server that sends its handlers' answers *as they are*: the return-structure
cleaner, which would otherwise add missing defaults, drop unknown keys and coerce types, is
off (``DemoServer(clean_answers=False)``). The demo's answer must then have, at every level,
the same keys, the same JSON types and - where the value does not come from generated data -
the same values as the recording (see :func:`recorded.compare`). Errors must be the same
envelope, word for word; XML the same document structure; ``debuginfo`` the same text.

The demo's data is generated, not the recorded site's: ids, names and times differ. Where a
value is generated, only its type is compared, and the allowance says so (``DATA``, per
function). Where the recorded request's ids mean something the demo's ids do not (a user
outside the course, a user with only an unfinished attempt), the request is remapped to demo
ids with the same meaning (``CASES``). Every allowance carries its reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from moodle_assets.demo import xmlreply
from moodle_assets.demo.dataset import THE_BIG_COURSE, Dataset
from moodle_assets.demo.errors import MoodleException
from moodle_assets.demo.functions import REGISTRY
from moodle_assets.demo.schemas import all_schemas, clean_returns
from moodle_assets.demo.server import DEMO_TOKEN, RESTRICTED_TOKEN, DemoServer
from moodle_assets.demo.services import site_functions

from .recorded import (
    RECORDINGS,
    SHARED_RECORDINGS,
    Allowances,
    compare,
    is_error,
    load,
    recording_paths,
    values_at,
    xml_tree,
)

SITE_URL = "http://127.0.0.1:8081"  # the recorded site's wwwroot: the demo builds its URLs from Host
REST = "/webservice/rest/server.php"
VERSION = "2024100700"


# --------------------------------------------------------------------------- the raw demo


@dataclass
class RawSite:
    server: DemoServer
    client: httpx.Client

    @property
    def data(self) -> Dataset:
        return self.server.dataset

    def send(self, fields: list[tuple[str, str]], method: str = "POST") -> httpx.Response:
        if method == "GET":
            return self.client.get(f"{REST}?{urlencode(fields)}")
        return self.client.post(
            REST, content=urlencode(fields), headers={"Content-Type": "application/x-www-form-urlencoded"}
        )


@pytest.fixture(scope="module")
def raw_site(demo_data: Dataset) -> Iterator[RawSite]:
    with (
        DemoServer(demo_data, clean_answers=False) as server,
        httpx.Client(base_url=server.url, headers={"Host": SITE_URL.split("//")[1]}, timeout=10) as client,
    ):
        yield RawSite(server, client)


# --------------------------------------------------------------------------- what may differ


def _why(reason: str, *patterns: str) -> dict[str, str]:
    return {pattern: reason for pattern in patterns}


GENERATED = "generated data: the demo's own ids, names and times, not the recorded site's"
TIMES = "times: the demo's clock and generated history differ from the recorded site's"
THEME_REV = (
    "image URLs carry the theme revision, the time caches were last purged: the recorded site's moment, not the demo's"
)
PEOPLE = "generated people: names, e-mails, places, profile values and access times are the demo's own"
GRADES = "generated grades: values, maxima, dates and the weights that follow from them are the demo's own"
FORUM = "generated discussions: subjects, authors, reply counts and times are the demo's own"

_USER = _why(
    PEOPLE,
    "*.username",
    "*.firstname",
    "*.lastname",
    "*.fullname",
    "*.email",
    "*.department",
    "*.institution",
    "*.idnumber",
    "*.city",
    "*.country",
    "*.firstaccess",
    "*.lastaccess",
    "*.id",
    "*.profileimageurl",
    "*.profileimageurlsmall",
    "*.customfields[].value",
    "*.customfields[].displayvalue",
    "*.description",
    "*.lastcourseaccess",
    "*.suspended",
    "*.identity",
)
_COURSE = _why(
    GENERATED,
    "*.startdate",
    "*.enddate",
    "*.timecreated",
    "*.timemodified",
    "*.cacherev",
    "*.contacts[].id",
    "*.contacts[].fullname",
)
_COURSE_NAMES = _why(
    "three course names differ on the recorded site (PD-GDPR 'Data Protection Essentials', PD-LEAD "
    "'Leadership for New Managers', PD-ONB 'Staff Onboarding 2025'); their shortnames, ids and "
    "categories are the same",
    "*.fullname",
    "*.displayname",
    "*.summary",
)
_COMPETENCY = _why(
    "the demo's competency names and its framework's scale are its own; times are its clock's",
    "*.competency.shortname",
    "*.competency.description",
    "*.timecreated",
    "*.timemodified",
    "*.scaleconfiguration",
)

DATA: dict[str, Allowances] = {
    "core_webservice_get_site_info": Allowances(
        data={
            **_why(THEME_REV, "$.userpictureurl"),
            **_why("a per-user random key of the recorded site", "$.userprivateaccesskey"),
            **_why(
                "the recorded service also lists the functions the demo does not emulate (NOT_EMULATED); "
                "test_site_info_lists_the_recorded_functions compares the list itself",
                "$.functions[].name",
            ),
        }
    ),
    "core_course_get_courses": Allowances(data=_COURSE | _COURSE_NAMES),
    "core_course_get_courses_by_field": Allowances(data=_COURSE | _COURSE_NAMES),
    "core_course_search_courses": Allowances(data=_COURSE | _COURSE_NAMES),
    "core_course_get_categories": Allowances(
        data=_why(
            "the demo's category descriptions, idnumbers and times are its own",
            "$[].description",
            "$[].idnumber",
            "$[].timemodified",
        )
    ),
    "core_course_get_contents": Allowances(
        data={
            **_why(
                TIMES,
                "$[].modules[].dates[].timestamp",
                "$[].modules[].contentsinfo.lastmodified",
                "$[].modules[].contents[].timemodified",
                "$[].modules[].customdata",
            ),
            **_why(THEME_REV, "$[].modules[].modicon"),
            **_why(
                "context ids follow the order the recorded site created things in",
                "$[].modules[].contextid",
                "$[].modules[].contents[].fileurl",
            ),
        }
    ),
    "core_user_get_users": Allowances(
        data={
            **_USER,
            **_why("preference values are times of the recorded site's own clock", "$.users[].preferences[].value"),
        }
    ),
    "core_user_get_users_by_field": Allowances(data=_USER),
    "core_enrol_get_enrolled_users": Allowances(
        data={
            **_USER,
            **_why(
                "generated enrolments and groups: who is in which course and group is the demo's own; the "
                "recorded site's enrolments in PD-ONB had already started, the demo's start with the course",
                "$[].enrolledcourses[].*",
                "$[].groups[].*",
            ),
            **_why(
                "the recorded DS101 has a non-editing teacher; the demo's course staff are all editing teachers",
                "$[].roles[].roleid",
                "$[].roles[].shortname",
            ),
        }
    ),
    "core_enrol_get_users_courses": Allowances(
        data={
            **_why(
                "generated enrolments: the recorded student 3 is in DS101 only, the demo's in two courses; "
                "progress and access follow the generated activity",
                "$[].*",
            )
        }
    ),
    "core_badges_get_user_badges": Allowances(
        data=_why("generated badges and awards", "$.badges[].*"),
        types=_why(
            "the recorded 'Forum champion' badge expires after a year; no demo badge expires",
            "$.badges[].dateexpire",
            "$.badges[].expireperiod",
        ),
    ),
    "core_calendar_get_calendar_events": Allowances(
        data=_why(
            "generated events: ids, names, descriptions, times, durations and the repeat series id are the demo's own",
            "$.events[].id",
            "$.events[].name",
            "$.events[].description",
            "$.events[].timestart",
            "$.events[].timeduration",
            "$.events[].timemodified",
            "$.events[].repeatid",
        )
    ),
    "core_competency_list_course_competencies": Allowances(data=_COMPETENCY),
    "core_competency_list_competencies": Allowances(
        data=_why(
            "the demo's competency names are its own; times are its clock's",
            "$[].shortname",
            "$[].description",
            "$[].timecreated",
            "$[].timemodified",
        )
    ),
    "core_competency_read_competency_framework": Allowances(
        data=_why(
            "the demo's framework scale makes levels 3 and 4 proficient, the recorded one 2 to 4; times are its "
            "clock's",
            "$.scaleconfiguration",
            "$.timecreated",
            "$.timemodified",
        )
    ),
    "mod_quiz_get_user_best_grade": Allowances(data=_why("generated attempts", "$.grade")),
    "report_competency_data_for_report": Allowances(
        data={
            **_COMPETENCY,
            **_USER,
            **_why(GENERATED, "$.course.*"),
            **_why(
                "generated ratings; an unrated user's rows get ids on the recorded site (it creates "
                "them when the report is read), 0 in the demo",
                "$.usercompetencies[].usercompetencycourse.*",
            ),
        },
        types=_why(
            "the recorded student 3 has two unrated competencies in DS101; the demo's has none",
            "$.usercompetencies[].usercompetencycourse.grade",
            "$.usercompetencies[].usercompetencycourse.proficiency",
        ),
    ),
    "core_completion_get_activities_completion_status": Allowances(data=_why(TIMES, "$.statuses[].timecompleted")),
    "core_completion_get_course_completion_status": Allowances(
        data=_why(TIMES, "$.completionstatus.completions[].timecompleted")
    ),
    "core_group_get_group_members": Allowances(data=_why("generated group membership", "$[].userids[]")),
    "gradereport_overview_get_course_grades": Allowances(data=_why(GRADES, "$.grades[].*")),
    "gradereport_user_get_grade_items": Allowances(
        data={
            **_why(
                GRADES,
                "*.graderaw",
                "*.gradeformatted",
                "*.percentageformatted",
                "*.grademax",
                "*.rangeformatted",
                "*.gradedategraded",
                "*.gradedatesubmitted",
                "*.weightraw",
                "*.weightformatted",
            ),
            **_why(PEOPLE, "$.usergrades[].userid", "$.usergrades[].userfullname", "$.usergrades[].useridnumber"),
            **_why(
                "grade category ids follow the order the recorded site created its courses' gradebooks in",
                "*.categoryid",
                "*.iteminstance",
            ),
        }
    ),
    "mod_assign_get_assignments": Allowances(
        data={
            **_why(TIMES, "*.timemodified", "*.allowsubmissionsfromdate", "*.duedate", "*.gradingduedate"),
            **_why("the recorded 'Project report' is out of 50 and has its own intro", "*.grade", "*.intro"),
        }
    ),
    "mod_assign_get_submissions": Allowances(
        data={
            **_why(
                "generated submissions: ids, users, times and states (the demo has reopened ones too)",
                "*.id",
                "*.userid",
                "*.timecreated",
                "*.timemodified",
                "*.status",
                "*.text",
            )
        }
    ),
    "mod_assign_get_grades": Allowances(data=_why("generated grades", "$.assignments[].grades[].*")),
    "mod_forum_get_forums_by_courses": Allowances(
        data={**_why(TIMES, "$[].timemodified"), **_why(FORUM, "$[].numdiscussions")}
    ),
    "mod_forum_get_forum_discussions": Allowances(
        data={**_why(FORUM, "$.discussions[].*"), **_why(THEME_REV, "*pictureurl")}
    ),
    "mod_quiz_get_quizzes_by_courses": Allowances(
        data=_why(TIMES, "*.timeopen", "*.timeclose", "*.timecreated", "*.timemodified")
    ),
    "mod_quiz_get_user_attempts": Allowances(
        data=_why(
            "generated attempts: ids, times and marks",
            "*.id",
            "*.uniqueid",
            "*.userid",
            "*.timestart",
            "*.timefinish",
            "*.timemodified",
            "*.timecheckstate",
            "*.gradednotificationsenttime",
            "*.sumgrades",
        )
    ),
}


@dataclass
class Case:
    """How one recording is replayed: remapped params (with why) and extra checks."""

    why: str = ""
    params: Callable[[Dataset], dict[str, str]] | None = None
    allow: Allowances = field(default_factory=Allowances)
    same: tuple[str, ...] = ()  # paths whose values must be equal, in order
    exact: bool = False  # the whole answer must be equal


def _student_outside(course_id: int) -> Callable[[Dataset], dict[str, str]]:
    def pick(data: Dataset) -> dict[str, str]:
        enrolled = {e["userid"] for e in data.enrolments_of_course(course_id)}
        return {"userid": str(next(u["id"] for u in data.users if u["kind"] == "student" and u["id"] not in enrolled))}

    return pick


def _only_unfinished_attempt(data: Dataset) -> dict[str, str]:
    states: dict[int, set[str]] = {}
    for attempt in data.quiz_attempts:
        if attempt["quiz"] == 1:
            states.setdefault(attempt["userid"], set()).add(attempt["state"])
    return {"userid": str(next(u for u, s in sorted(states.items()) if s == {"inprogress"}))}


def _module_events_of_course_2(data: Dataset) -> dict[str, str]:
    ids = [e["id"] for e in data.events if e["courseid"] == THE_BIG_COURSE.id and e["modulename"]][:3]
    return {f"events[eventids][{n}]": str(i) for n, i in enumerate(ids)}


_DATA_SEARCH = _why(
    "four recorded course names contain 'Data' (with 'Data Protection Essentials'); three of the demo's do", "$.total"
)
_NO_ROWS = Allowances(
    data=_why(
        "most recorded students have no grade row at all (feedback format 0); in the demo few do", "*.feedbackformat"
    )
)

OUTSIDE = "the recorded user is not enrolled in DS101; the demo's user with that id is, so another one is asked"

CASES: dict[str, Case] = {
    "core_completion_get_activities_completion_status__course2_notenrolled": Case(OUTSIDE, _student_outside(2)),
    "core_completion_get_course_completion_status__course2_notenrolled": Case(OUTSIDE, _student_outside(2), exact=True),
    "gradereport_user_get_grade_items__course2_notenrolled_user": Case(OUTSIDE, _student_outside(2)),
    "mod_quiz_get_user_attempts__quiz1_user7_default": Case(
        "user 7 has only an unfinished attempt on the recorded site", _only_unfinished_attempt, exact=True
    ),
    "mod_quiz_get_user_attempts__quiz1_user7_unfinished": Case(
        "user 7 has only an unfinished attempt on the recorded site", _only_unfinished_attempt
    ),
    "core_calendar_get_calendar_events__eventids": Case(
        "events 1-3 are assignment events of DS101 on the recorded site (picked only by id, since the "
        "admin is enrolled nowhere); the demo numbers its events differently",
        _module_events_of_course_2,
    ),
    "core_course_get_courses__ids_2_3": Case(same=("$[].id", "$[].shortname", "$[].fullname", "$[].categoryid")),
    "core_course_get_courses__all": Case(
        "the demo has a course its administrator cannot view (to show that get_courses fails whole on one "
        "such course: test_demo_behaviour); every other course is asked for by id",
        lambda data: {
            f"options[ids][{n}]": str(c["id"])
            for n, c in enumerate(c for c in data.courses if c["id"] not in data.unreadable_course_ids)
        },
        allow=Allowances(
            data=_why(
                "the course the demo leaves out (PD-LEAD) is missing from its answer",
                "$[].id",
                "$[].shortname",
                "$[].idnumber",
                "$[].categorysortorder",
            )
        ),
    ),
    "core_course_search_courses__data_page0": Case(allow=Allowances(data=_DATA_SEARCH), same=("$.courses[].id",)),
    "core_course_search_courses__data_page1": Case(
        allow=Allowances(
            data={
                **_DATA_SEARCH,
                **_why(
                    "the recorded second page holds 'Data Protection Essentials', a name the demo's "
                    "PD-GDPR does not have",
                    "$.courses[].*",
                ),
            }
        )
    ),
    "core_course_search_courses__data_page5_beyond": Case(allow=Allowances(data=_DATA_SEARCH), same=("$.courses",)),
    "core_course_search_courses__empty_value": Case(same=("$.total", "$.courses[].id", "$.courses[].shortname")),
    "core_course_search_courses__all_perpage0": Case(same=("$.total", "$.courses[].id")),
    "core_course_search_courses__modulelist_quiz": Case(same=("$.total", "$.courses[].id")),
    "core_course_get_courses_by_field__all": Case(same=("$.courses[].id", "$.courses[].shortname")),
    "core_course_get_categories__all": Case(same=("$[].id", "$[].name", "$[].parent", "$[].path")),
    "core_enrol_get_enrolled_users__course2_page3": Case(exact=True),
    "core_competency_list_course_competencies__course4": Case(
        allow=Allowances(
            data=_why(
                "the demo links its own choice of competencies to CS305",
                "$[].competency.*",
                "$[].coursecompetency.competencyid",
            )
        )
    ),
    "core_completion_get_activities_completion_status__course2_user4": Case(
        allow=Allowances(
            data=_why("which activities the student completed is generated", "$.statuses[].details[].rulevalue.status")
        )
    ),
    "gradereport_user_get_grade_items__course2_group1": Case(allow=_NO_ROWS),
    "gradereport_user_get_grade_items__course3_allusers": Case(allow=_NO_ROWS),
    "mod_quiz_get_user_attempts__quiz1_user3_all": Case(same=("$.attempts[].state", "$.attempts[].attempt")),
    "core_competency_list_competencies__framework": Case(same=("$[].id", "$[].idnumber", "$[].parentid", "$[].path")),
    "core_group_get_course_user_groups__course2_user3": Case(exact=True),
}

# Functions of the recorded service that the demo does not offer: no asset calls them. The demo
# answers them like a site without them (invalidrecord), and its site info leaves them out.
NOT_EMULATED = {
    "core_competency_list_plan_competencies",
    "core_competency_list_user_plans",
    "gradereport_user_get_grades_table",
    "mod_forum_get_discussion_posts",
    "tool_lp_data_for_user_competency_summary_in_course",
}

_TOKENS = {
    "admin": DEMO_TOKEN,
    "restricted_service_account": RESTRICTED_TOKEN,
    # The recorded admin token of a service without mod_quiz_get_user_attempts: the demo's
    # restricted token's service lacks that function too, so it gives the same refusal.
    "admin_service_without_quiz_attempts": RESTRICTED_TOKEN,
}


def _fields(recording: dict[str, Any], data: Dataset, case: Case) -> list[tuple[str, str]]:
    """The recorded form fields, in order, with the demo's token and the case's remapped ids."""
    replaced = case.params(data) if case.params else {}
    fields = [(k, v) for k, v in recording["params"].items() if not (k.startswith("events[eventids]") and replaced)]
    out = []
    for name, value in fields:
        if name == "wstoken" and recording["token_kind"] in _TOKENS:
            value = _TOKENS[recording["token_kind"]]
        out.append((name, replaced.pop(name, value)))
    return out + list(replaced.items())


# --------------------------------------------------------------------------- the replay


def _ids(path: Path) -> str:
    return path.stem


@dataclass(frozen=True)
class Rules:
    """How one set of recordings is replayed: the allowances by function and by recording,
    the recorded functions the demo leaves out, and the recorded site's wwwroot."""

    data: dict[str, Allowances]
    cases: dict[str, Case]
    not_emulated: frozenset[str]
    site_url: str


RULES = Rules(DATA, CASES, frozenset(NOT_EMULATED), SITE_URL)


def replay(raw_site: RawSite, path: Path, rules: Rules) -> None:
    """Send a recorded request to the raw demo and compare its answer with the recorded one."""
    recording = load(path)
    function = recording["function"]
    case = rules.cases.get(path.stem, Case())
    fields = _fields(recording, raw_site.data, case)
    if function in rules.not_emulated:
        body = raw_site.send(fields).json()
        assert body["exception"] == "dml_missing_record_exception", body
        return
    response = raw_site.send(fields, recording["method"])
    assert response.status_code == recording["http_status"] == 200
    assert response.headers["content-type"] == recording["content_type"]
    body = recording["body"]
    debug = path.stem.endswith("__debugon")
    if not isinstance(body, (dict, list)):  # XML: no moodlewsrestformat=json
        if "<EXCEPTION" in body:
            if debug:  # the demo runs with debugging off: compare what the exception would say
                error = _raised(raw_site, fields, rules.site_url)
                assert xmlreply.xml_exception(error, debug=True) == body
                body = xmlreply.xml_exception(error)
            assert response.text == body
            return
        problems = compare(xml_tree(body), xml_tree(response.text), None, rules.data.get(function, Allowances()))
        assert problems == [], "\n".join(problems)
        return
    ours = response.json()
    if is_error(body):
        if debug:  # the demo runs with debugging off: compare what the exception would say
            error = _raised(raw_site, fields, rules.site_url)
            assert error.envelope(debug=True) == body
            body = error.envelope()
        assert ours == body
        return
    assert not is_error(ours), ours
    release = raw_site.server.release.schemas
    node = all_schemas(release)[function]["returns"]
    allow = rules.data.get(function, Allowances()) | case.allow
    problems = compare(body, ours, node, allow)
    assert problems == [], "\n".join(problems)
    if case.exact or (_no_records(body) and not case.allow.data):  # nothing generated: all the same
        assert json.dumps(ours, sort_keys=True) == json.dumps(body, sort_keys=True)
    for where in case.same:
        assert values_at(ours, where) == values_at(body, where), where
    # The handler's answer is already what Moodle's cleaning would make of it.
    cleaned = clean_returns(function, ours, release)
    assert json.dumps(cleaned, sort_keys=True) == json.dumps(ours, sort_keys=True)


@pytest.mark.parametrize("path", recording_paths(), ids=_ids)
def test_demo_answers_like_the_recording(raw_site: RawSite, path: Path) -> None:
    replay(raw_site, path, RULES)


def _no_records(body: Any) -> bool:
    """An answer with no values but its warnings: empty lists (an empty page, a refused course)."""
    if isinstance(body, list):
        return all(_no_records(v) for v in body)
    if isinstance(body, dict):
        return all(_no_records(v) for k, v in body.items() if k != "warnings")
    return False


def _raised(raw_site: RawSite, fields: list[tuple[str, str]], site_url: str = SITE_URL) -> MoodleException:
    with pytest.raises(MoodleException) as raised:
        raw_site.server.answer(fields, site_url)
    return raised.value


# --------------------------------------------------------------------------- the rest


def test_the_recordings_are_the_shared_ones() -> None:
    """The repository's copy is the real site's set, unchanged (when the shared set is beside it)."""
    if not SHARED_RECORDINGS.is_dir():
        pytest.skip(f"no shared recordings at {SHARED_RECORDINGS}")
    shared = {p.name: p.read_bytes() for p in SHARED_RECORDINGS.glob("*.json")}
    ours = {p.name: p.read_bytes() for p in RECORDINGS.glob("*.json")}
    assert ours == shared


def test_site_info_lists_the_recorded_functions(raw_site: RawSite) -> None:
    recorded = load(RECORDINGS / "core_webservice_get_site_info.json")["body"]["functions"]
    ours = raw_site.send(
        [("wstoken", DEMO_TOKEN), ("wsfunction", "core_webservice_get_site_info"), ("moodlewsrestformat", "json")]
    ).json()["functions"]
    assert ours == [f for f in recorded if f["name"] not in NOT_EMULATED]


def test_restricted_site_info_lists_the_recorded_functions_but_two(raw_site: RawSite) -> None:
    """The recorded service account's service holds every function. The demo's restricted token
    also plays the recorded token of a service without mod_quiz_get_user_attempts (for the
    accessexception recordings), and lacks core_group_get_course_groups too, so that a client
    meets a function missing from its service: those two are left out of its list."""
    recorded = load(RECORDINGS / "core_webservice_get_site_info__restricted.json")["body"]["functions"]
    ours = raw_site.send(
        [("wstoken", RESTRICTED_TOKEN), ("wsfunction", "core_webservice_get_site_info"), ("moodlewsrestformat", "json")]
    ).json()["functions"]
    left_out = NOT_EMULATED | {"mod_quiz_get_user_attempts", "core_group_get_course_groups"}
    assert ours == [f for f in recorded if f["name"] not in left_out]


def test_every_recorded_function_is_emulated_or_listed_as_not() -> None:
    recorded = {load(p)["function"] for p in recording_paths()} - {None}
    absent = {"core_nonexistent_function_xyz", "core_competency_list_user_competencies"}  # on no 4.5 site
    assert recorded - absent - NOT_EMULATED <= set(site_functions(VERSION))
    assert NOT_EMULATED <= recorded and NOT_EMULATED.isdisjoint(REGISTRY)


def test_allowed_key_differences_are_optional_in_the_schema() -> None:
    """A key may be missing on one side only if Moodle itself may leave it out."""
    for function, allow in [
        *DATA.items(),
        *((load(RECORDINGS / f"{s}.json")["function"], c.allow) for s, c in CASES.items()),
    ]:
        for pattern in allow.keys:
            node = all_schemas()[function]["returns"]
            *steps, key = pattern[1:].replace("[]", ".[]").split(".")
            for step in (s for s in steps if s):
                node = node["content"] if step == "[]" else node["keys"][step]
            assert node["keys"][key]["required"] != "required", (function, pattern)


# Implemented functions no recording covers: their raw answers must still fit the structure.
UNRECORDED = {
    "core_course_get_updates_since": {"courseid": 2, "since": 0},
    "core_enrol_get_course_enrolment_methods": {"courseid": 2},
}


def test_every_emulated_function_is_recorded_or_called_here() -> None:
    recorded = {load(p)["function"] for p in recording_paths()}
    assert set(site_functions(VERSION)) - recorded == set(UNRECORDED)


_TYPES = {"PARAM_INT": int, "PARAM_FLOAT": (int, float), "PARAM_BOOL": bool}


def check(node: dict[str, Any], value: Any, where: str = "$") -> list[str]:
    """Problems of ``value`` against a return structure: types, required keys, unknown keys."""
    kind = node["type"]
    if kind == "structure":
        if value == []:
            return []
        if not isinstance(value, dict):
            return [f"{where}: not an object"]
        problems = [f"{where}: unknown key {k}" for k in value if k not in node["keys"]]
        for key, child in node["keys"].items():
            if key in value:
                problems += check(child, value[key], f"{where}.{key}")
            elif child["required"] == "required" or (child["required"] == "default" and child["type"] == "single"):
                problems.append(f"{where}: missing {key}")  # clean_returnvalue adds a single's default
        return problems
    if kind == "multiple":
        if not isinstance(value, list):
            return [f"{where}: not a list"]
        return [p for i, item in enumerate(value) for p in check(node["content"], item, f"{where}[{i}]")]
    if value is None:
        return [] if node.get("allownull", True) else [f"{where}: null"]
    expected = _TYPES.get(node.get("paramtype", ""), (str, int, float, bool))
    if expected is int and isinstance(value, bool):
        return [f"{where}: bool for int"]
    return [] if isinstance(value, expected) else [f"{where}: {type(value).__name__} is not {node.get('paramtype')}"]


@pytest.mark.parametrize("function", sorted(UNRECORDED))
def test_unrecorded_answers_fit_the_return_structure(raw_site: RawSite, function: str) -> None:
    fields = [("wstoken", DEMO_TOKEN), ("wsfunction", function), ("moodlewsrestformat", "json")]
    body = raw_site.send(fields + [(k, str(v)) for k, v in UNRECORDED[function].items()]).json()
    assert not is_error(body) and body not in ([], {}), body
    assert check(all_schemas()[function]["returns"], body) == []


@pytest.mark.parametrize(
    "path",
    [p for p in recording_paths() if not is_error(load(p)["body"]) and isinstance(load(p)["body"], (dict, list))],
    ids=_ids,
)
def test_recordings_fit_the_return_structure(path: Path) -> None:
    """The structure check itself is right: every real answer passes it."""
    recording = load(path)
    if recording["function"] not in all_schemas():
        pytest.skip("not a function of the site")
    assert check(all_schemas()[recording["function"]]["returns"], recording["body"]) == []
