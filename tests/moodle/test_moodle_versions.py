"""Moodle version numbers: the decimal part of 2025041406.11 counts, everywhere versions are compared."""

from __future__ import annotations

from decimal import Decimal

import pytest

from moodle_assets.endpoints.availability import unavailable
from moodle_assets.endpoints.loader import load_text
from moodle_assets.endpoints.runner import EndpointFailure, choose_function
from moodle_assets.endpoints.spec import SpecError
from moodle_assets.moodle.versions import at_least, format_version, parse_version, release_name, site_version
from moodle_assets.tools.preflight import check_function

SITE_50 = "2025041406.11"  # core_webservice_get_site_info on the recorded 5.0.6+
SITE_45 = "2024100700"


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2024100700", Decimal("2024100700")),
        (2024100700, Decimal("2024100700")),
        (SITE_50, Decimal("2025041406.11")),
        (2025041406.11, Decimal("2025041406.11")),  # a YAML float
        (" 2025041400 ", Decimal("2025041400")),
        (Decimal("2025041406.11"), Decimal("2025041406.11")),
    ],
)
def test_parse_version(value, expected):
    assert parse_version(value) == expected


@pytest.mark.parametrize(
    "value", ["5.0", "", None, "2025-04-14", "v2025041400", "202504140", True, "2025041400.", "2025041400.1.2"]
)
def test_not_a_version(value):
    with pytest.raises(ValueError, match="not a Moodle version number"):
        parse_version(value)


def test_the_decimal_part_counts():
    assert (
        parse_version(SITE_50)
        > parse_version("2025041406.05")
        > parse_version("2025041406")
        > parse_version("2025041400")
        > parse_version(SITE_45)
    )
    assert at_least(SITE_50, "2025041406.11") and not at_least("2025041406.10", SITE_50)
    assert at_least(SITE_50, 2025041400) and not at_least(SITE_45, 2025041400)
    assert not at_least("unknown", 2024100700)  # an unknown version is never new enough
    assert site_version({"version": SITE_50}) == Decimal(SITE_50) and site_version({}) is None


def test_format_and_name():
    assert format_version(SITE_50) == SITE_50 and format_version(2025041400) == "2025041400"
    assert format_version(2025041406.11) == SITE_50
    assert (release_name(SITE_50), release_name(SITE_45), release_name("2024100600")) == ("5.0", "4.5", "4.4")
    assert release_name("2025100600") == "5.1" and release_name("2010010100") is None


QUIZ = (
    "- name: attempts\n  function: mod_quiz_get_user_attempts\n  params: {{quizid: 1}}\n"
    "  alternatives: [{{function: mod_quiz_get_user_quiz_attempts, min_version: {}}}]\n"
)


def site(version: str, *functions: str) -> dict:
    return {"version": version, "release": "x", "functions": [{"name": f, "version": version} for f in functions]}


BOTH = ("mod_quiz_get_user_attempts", "mod_quiz_get_user_quiz_attempts")


@pytest.mark.parametrize(
    "written, parsed",
    [
        ("2025041400", Decimal("2025041400")),
        ('"2025041400"', Decimal("2025041400")),
        ("2025041406.11", Decimal("2025041406.11")),  # a YAML float
        ('"2025041406.11"', Decimal("2025041406.11")),
    ],
)
def test_min_version_in_a_spec(written, parsed):
    [spec] = load_text(QUIZ.format(written))
    assert spec.alternatives[0].min_version == parsed


def test_a_min_version_that_is_not_a_version_is_a_spec_error():
    with pytest.raises(SpecError) as info:
        load_text(QUIZ.format('"5.0"'))
    assert "field 'alternatives.0.min_version': '5.0' is not a Moodle version number" in "\n".join(info.value.problems)


def test_the_quiz_function_is_chosen_by_the_whole_version():
    [spec] = load_text(QUIZ.format("2025041406.11"))
    assert choose_function(spec, site(SITE_50, *BOTH)) == "mod_quiz_get_user_quiz_attempts"
    # 2025041406.05 < 2025041406.11: the integer part alone would wrongly call them equal.
    assert choose_function(spec, site("2025041406.05", *BOTH)) == "mod_quiz_get_user_attempts"
    [plain] = load_text(QUIZ.format("2025041400"))
    assert choose_function(plain, site(SITE_50, *BOTH)) == "mod_quiz_get_user_quiz_attempts"
    assert choose_function(plain, site(SITE_45, *BOTH)) == "mod_quiz_get_user_attempts"
    with pytest.raises(
        EndpointFailure,
        match=r"mod_quiz_get_user_quiz_attempts \(version 2025041406.11\+\); "
        r"this site is version 2025041406.05",
    ):
        choose_function(spec, site("2025041406.05", "mod_quiz_get_user_quiz_attempts"))


def test_availability_agrees_with_the_choice():
    [spec] = load_text(QUIZ.format("2025041406.11"))
    assert unavailable([spec], site(SITE_50, "mod_quiz_get_user_quiz_attempts")) == {}
    assert unavailable([spec], site("2025041406.05", "mod_quiz_get_user_quiz_attempts")) == {
        "attempts": "mod_quiz_get_user_attempts"
    }


def test_preflight_compares_the_whole_version():
    available, fix, _ = check_function("mod_quiz_get_user_quiz_attempts", site(SITE_45))
    assert not available and "exists only from Moodle 5.0 (version 2025041400)" in fix
    available, fix, _ = check_function("mod_quiz_get_user_quiz_attempts", site(SITE_50))
    assert not available and fix.startswith("add mod_quiz_get_user_quiz_attempts to the external service")
    assert check_function("mod_quiz_get_user_quiz_attempts", site(SITE_50, *BOTH))[0]


def test_without_a_version_the_function_list_decides():
    [spec] = load_text(QUIZ.format("2025041400"))
    info = {"functions": [{"name": "mod_quiz_get_user_quiz_attempts"}]}
    assert choose_function(spec, info) == "mod_quiz_get_user_quiz_attempts"
    assert unavailable([spec], info) == {}
