"""Contract: the demo in Moodle 5.0 mode answers every recorded request as the real 5.0.6+ did.

The same machinery as the 4.5 contract (:func:`test_demo_contract.replay`): each file in
``tests/fixtures/demo/recordings-5.0`` (a real Moodle 5.0.6+ site's request and answer, see its
README) is replayed against a raw demo generated with ``DemoConfig(moodle_version="5.0")``, and
its answer must have the same keys, types and - where not generated - values. The 5.0 site was
built by the same generator as the 4.5 one but with a few other activity settings; where its
values differ from the demo's, the allowance says so. What 5.0 changed is checked exactly:
the site info strings and function versions, both quiz functions, ``invalidrecordunknown`` for
an unknown function and an unknown id, the question bank module, the new and removed fields.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from moodle_assets.demo.dataset import Dataset, DemoConfig, generate
from moodle_assets.demo.server import DEMO_TOKEN, DemoServer
from moodle_assets.moodle.schemas import all_schemas

from .conftest import NOW
from .recorded import RECORDINGS_50, SHARED_RECORDINGS_50, Allowances, load, recording_paths
from .test_demo_contract import CASES, DATA, NOT_EMULATED, Case, RawSite, Rules, _ids, _why, replay

SITE_URL = "http://127.0.0.1:8082"  # the recorded 5.0 site's wwwroot


@pytest.fixture(scope="module")
def demo_data_50() -> Dataset:
    return generate(DemoConfig(now=NOW, moodle_version="5.0"))


@pytest.fixture(scope="module")
def raw_site_50(demo_data_50: Dataset) -> Iterator[RawSite]:
    with (
        DemoServer(demo_data_50, clean_answers=False) as server,
        httpx.Client(base_url=server.url, headers={"Host": SITE_URL.split("//")[1]}, timeout=10) as client,
    ):
        yield RawSite(server, client)


# --------------------------------------------------------------------------- what may differ

SETTINGS = (
    "the 5.0 site was generated with other activity settings: names carry the course's shortname, "
    "assignments and quizzes have no completion rule, quizzes one page and three marks, the forum "
    "separate groups, assignments feedback comments and no file submissions"
)
SHIFT = (
    "the 5.0 site's DS101 has no Q&A forum, so its question bank took id 8 and CS201 kept its 4.5 ids; "
    "the demo's DS101 keeps the forum (8), its bank is 9 and CS201's ids shift by one, as the README says "
    "of a site with the same modules"
)
_ATTEMPTS = DATA["mod_quiz_get_user_attempts"] | Allowances(
    data=_why("the 5.0 site's quizzes put every question on one page (questionsperpage 0)", "*.layout")
)

DATA_50: dict[str, Allowances] = {
    **DATA,
    "core_webservice_get_site_info": DATA["core_webservice_get_site_info"]
    | Allowances(
        data={**_why("the 5.0 site has its own name and has file downloads off", "$.sitename", "$.downloadfiles")}
    ),
    "core_course_get_contents": DATA["core_course_get_contents"]
    | Allowances(
        data={
            **_why(
                SETTINGS,
                "$[].modules[].name",
                "$[].modules[].description",
                "$[].modules[].url",
                "$[].modules[].groupmode",
                "$[].modules[].contents[].filename",
                "$[].modules[].completiondata.details[].*",
            ),
            **_why(SHIFT, "$[].modules[].id"),
        }
    ),
    "mod_assign_get_assignments": DATA["mod_assign_get_assignments"]
    | Allowances(
        data={
            **_why(SETTINGS, "*.name", "*.completionsubmit", "*.sendstudentnotifications", "*.configs[].*"),
            **_why(SHIFT, "*.cmid"),
        }
    ),
    "mod_quiz_get_quizzes_by_courses": DATA["mod_quiz_get_quizzes_by_courses"]
    | Allowances(
        data={
            **_why(
                SETTINGS,
                "*.name",
                "*.intro",
                "*.section",
                "*.timelimit",
                "*.attempts",
                "*.questionsperpage",
                "*.sumgrades",
            ),
            **_why(SHIFT, "*.coursemodule"),
        }
    ),
    "mod_quiz_get_user_attempts": _ATTEMPTS,
    "mod_quiz_get_user_quiz_attempts": _ATTEMPTS,
}

CASES_50: dict[str, Case] = {
    "mod_quiz_get_user_quiz_attempts__quiz1_user3_all": CASES["mod_quiz_get_user_attempts__quiz1_user3_all"],
    "mod_quiz_get_user_attempts__quiz1_user3_all__debugon": CASES["mod_quiz_get_user_attempts__quiz1_user3_all"],
}

RULES_50 = Rules(DATA_50, CASES_50, frozenset(NOT_EMULATED), SITE_URL)


# --------------------------------------------------------------------------- the replay


@pytest.mark.parametrize("path", recording_paths(RECORDINGS_50), ids=_ids)
def test_demo_50_answers_like_the_recording(raw_site_50: RawSite, path: Path) -> None:
    replay(raw_site_50, path, RULES_50)


def test_the_50_recordings_are_the_shared_ones() -> None:
    if not SHARED_RECORDINGS_50.is_dir():
        pytest.skip(f"no shared recordings at {SHARED_RECORDINGS_50}")
    shared = {p.name: p.read_bytes() for p in SHARED_RECORDINGS_50.iterdir()}
    ours = {p.name: p.read_bytes() for p in RECORDINGS_50.iterdir()}
    assert ours == shared


def test_every_50_recording_is_replayed() -> None:
    """Nothing recorded on 5.0 is left out of the replay (a new file needs its rules, if any)."""
    assert len(recording_paths(RECORDINGS_50)) == 13
    assert set(CASES_50) <= {p.stem for p in recording_paths(RECORDINGS_50)}


# --------------------------------------------------------------------------- what 5.0 changed, exactly


def _call(site: RawSite, function: str, **params: Any) -> Any:
    fields = [("wstoken", DEMO_TOKEN), ("wsfunction", function), ("moodlewsrestformat", "json")]
    return site.send(fields + [(k, str(v)) for k, v in params.items()]).json()


def test_site_info_gives_each_function_the_version_of_its_plugin(raw_site_50: RawSite) -> None:
    recorded = load(RECORDINGS_50 / "core_webservice_get_site_info.json")["body"]
    ours = _call(raw_site_50, "core_webservice_get_site_info")
    assert (
        (ours["release"], ours["version"])
        == (recorded["release"], recorded["version"])
        == ("5.0.6+ (Build: 20260403)", "2025041406.11")
    )
    versions = {f["name"]: f["version"] for f in recorded["functions"] if f["name"] not in NOT_EMULATED}
    assert {f["name"]: f["version"] for f in ours["functions"]} == versions


def test_the_question_bank_is_the_recorded_one(raw_site_50: RawSite) -> None:
    """Hidden, not on the course page, no completion, in section 0 - all but its ids as recorded."""
    recorded = load(RECORDINGS_50 / "core_course_get_contents__course2.json")["body"]
    ours = _call(raw_site_50, "core_course_get_contents", courseid=2)

    def bank(sections: list[dict]) -> tuple[int, dict]:
        [(number, module)] = [(s["section"], m) for s in sections for m in s["modules"] if m["modname"] == "qbank"]
        generated = {"id", "url", "contextid", "modicon"}  # ids, and the theme revision in the icon URL
        return number, {k: v for k, v in module.items() if k not in generated}

    assert bank(ours) == bank(recorded)
    assert bank(ours)[1]["visible"] == 0 and bank(ours)[1]["candisplay"] is False


def test_deprecated_in_the_50_structures_and_still_offered(raw_site_50: RawSite) -> None:
    schemas = all_schemas("5.0")
    assert schemas["mod_quiz_get_user_attempts"].get("deprecated") is True
    assert not schemas["mod_quiz_get_user_quiz_attempts"].get("deprecated")
    names = {f["name"] for f in _call(raw_site_50, "core_webservice_get_site_info")["functions"]}
    assert {"mod_quiz_get_user_attempts", "mod_quiz_get_user_quiz_attempts"} <= names


SHARED_SCHEMAS_50 = SHARED_RECORDINGS_50.parent / "function-schemas-5.0.json"


def test_the_shipped_50_structures_are_the_shared_ones() -> None:
    """moodle/function_schemas_5.0.json is the real site's file (each function's description,
    params, returns and deprecated flag) for the functions the 4.5 file has and the one 5.0 added
    (when the shared file is beside us)."""
    if not SHARED_SCHEMAS_50.is_file():
        pytest.skip(f"no shared structures at {SHARED_SCHEMAS_50}")
    shared = json.loads(SHARED_SCHEMAS_50.read_text(encoding="utf-8"))["functions"]

    def plain(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: plain(v) for k, v in node.items() if k != "desc"}
        return [plain(v) for v in node] if isinstance(node, list) else node

    wanted = set(all_schemas("4.5")) | {"mod_quiz_get_user_quiz_attempts"}
    expected = {
        name: {
            "description": f["description"],
            "params": plain(f["params"]),
            "returns": plain(f["returns"]),
            **({"deprecated": True} if f.get("deprecated") else {}),
        }
        for name, f in shared.items()
        if name in wanted
    }
    assert all_schemas("5.0") == expected


def test_a_course_badge_names_its_course_and_no_badge_its_image_author(
    raw_site_50: RawSite, demo_data_50: Dataset
) -> None:
    course_badges = {b["id"]: b["courseid"] for b in demo_data_50.badges if b["courseid"]}
    user = next(i["userid"] for i in demo_data_50.issued_badges if i["badgeid"] in course_badges)
    badges = _call(raw_site_50, "core_badges_get_user_badges", userid=user)["badges"]
    assert badges and not any(k.startswith("imageauthor") for b in badges for k in b)
    for badge in badges:
        course = demo_data_50.course(badge["courseid"]) if badge["courseid"] else None
        assert badge.get("coursefullname") == (course["fullname"] if course else None)
        assert ("coursefullname" in badge) == (course is not None)


def test_the_demo_server_command_takes_the_moodle_version(monkeypatch: pytest.MonkeyPatch) -> None:
    from moodle_assets import cli
    from moodle_assets.demo import releases, server

    served: list[DemoConfig] = []
    monkeypatch.setattr(server, "serve", lambda host, port, config: served.append(config))
    monkeypatch.setattr(cli.logging, "basicConfig", lambda **kwargs: None)  # the test process's logging stays
    assert cli.main(["demo-server", "--moodle-version", "5.0", "--scale", "0.2"]) == 0
    assert (served[0].moodle_version, served[0].version, served[0].release) == (
        "5.0",
        "2025041406.11",
        "5.0.6+ (Build: 20260403)",
    )
    assert cli.main(["demo-server"]) == 0 and served[1].version == "2024100700"
    with pytest.raises(SystemExit):
        cli.main(["demo-server", "--moodle-version", "5.1"])
    assert sorted(releases.RELEASES) == ["4.5", "5.0"]  # the flag's choices
