"""--param (PHP-style) and --lookup parsing, and merging overrides into spec params."""

from __future__ import annotations

import pytest

from moodle_assets.moodle.encoding import encode_params
from moodle_assets.tools.params import ParamError, merge_params, parse_lookups, parse_params


def test_php_style_keys_build_nested_params():
    params = parse_params(
        [
            "courseid=2",
            "courseids[0]=2",
            "courseids[1]=3",
            "options[0][name]=limitfrom",
            "options[0][value]=5",
            "criteria[0][key]=email",
            "criteria[0][value]=%@example.org",
            "values[]=a",
            "values[]=b",
            "text=a=b",
        ]
    )
    assert params == {
        "courseid": "2",
        "courseids": ["2", "3"],
        "options": [{"name": "limitfrom", "value": "5"}],
        "criteria": [{"key": "email", "value": "%@example.org"}],
        "values": ["a", "b"],
        "text": "a=b",
    }
    assert encode_params(params)[:3] == [("courseid", "2"), ("courseids[0]", "2"), ("courseids[1]", "3")]


def test_gapped_indexes_are_sent_as_typed():
    assert encode_params(parse_params(["courseids[5]=2"])) == [("courseids[5]", "2")]


@pytest.mark.parametrize("bad", ["courseid", "=2", "course id=2", "a[b=2", "a.b=2"])
def test_malformed_param_says_the_convention(bad):
    with pytest.raises(ParamError) as err:
        parse_params([bad])
    assert str(err.value) == (
        f"--param {bad!r}: expected NAME=VALUE, PHP-style for nested keys: courseids[0]=2, options[0][name]=limitfrom"
    )


def test_overrides_replace_keys_indexes_and_lookup_macros():
    base = {
        "courseids": "{courses.id[]}",
        "includenotenrolledcourses": 1,
        "criteria": [{"key": "email", "value": "%"}],
        "options": {"ids": "{course_index.id[]}"},
    }
    merged = merge_params(base, parse_params(["courseids[0]=2", "criteria[0][value]=a%", "options[ids][0]=4"]))
    assert merged == {
        "courseids": ["2"],
        "includenotenrolledcourses": 1,
        "criteria": [{"key": "email", "value": "a%"}],
        "options": {"ids": ["4"]},
    }
    assert merge_params(base, {})["courseids"] == "{courses.id[]}"


def test_lookups_are_typed_and_repeatable():
    assert parse_lookups(["courses.id=2", "courses.id=3", "lookup.userid=x"]) == {
        "courses.id": [2, 3],
        "lookup.userid": ["x"],
    }
    with pytest.raises(ParamError, match=r"^--lookup 'courses=2': expected ASSET.COLUMN=VALUE, e.g. courses.id=2$"):
        parse_lookups(["courses=2"])
