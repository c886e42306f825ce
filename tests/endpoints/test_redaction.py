"""Credentials Moodle returns never leave extraction: every record is redacted before staging."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from moodle_assets.endpoints import load_specs
from moodle_assets.endpoints.extract import REDACTED, SECRET_FIELDS, extract_metadata, extract_records, redact_secrets
from moodle_assets.moodle.schemas import all_schemas

FIXTURES = Path(__file__).parent.parent / "fixtures"
# Fields whose names sound like credentials but are not: what each is, per Moodle's own description.
NOT_SECRETS = {
    "collapsediconkey": "core_course_get_categories / get_contents: the name of an icon",
    "key": "core_user_get_users warnings: 'always set to key'",
    "uniquehash": "core_badges_get_user_badges: the public id of an issued badge in its share URL",
}


def body(path: str):
    return json.loads((FIXTURES / path).read_text())["body"]


def test_site_info_private_access_key_is_redacted_and_the_answer_left_as_sent():
    site = body("demo/recordings/core_webservice_get_site_info.json")
    sent = copy.deepcopy(site)
    [row] = extract_records(site)
    assert row["userprivateaccesskey"] == REDACTED
    assert sent["userprivateaccesskey"] not in json.dumps(row)
    assert row["sitename"] == "Acme University LMS" and row["functions"] == sent["functions"]
    assert site == sent  # the page the paging and the metadata read is not changed in place


def test_quiz_passwords_and_group_enrolment_keys_at_any_depth():
    quizzes = body("demo/recordings/mod_quiz_get_quizzes_by_courses__course2_3.json")
    quizzes["quizzes"][0]["password"] = "open-sesame"
    rows = extract_records(quizzes, "$.quizzes[*]")
    assert [r["password"] for r in rows] == [REDACTED] + [""] * (len(rows) - 1)  # "" = no password
    [whole] = extract_records(quizzes, "$")
    assert "open-sesame" not in json.dumps(whole) and whole["quizzes"][0]["password"] == REDACTED
    groups = body("demo/recordings/core_group_get_course_groups__course2.json")
    groups[1]["enrolmentkey"] = "join-us"
    assert [r["enrolmentkey"] for r in extract_records(groups)] == [None, REDACTED]


def test_parent_fields_scalar_rows_and_metadata_are_redacted_too():
    document = {"items": [{"token": "abc", "rows": [{"id": 1}]}], "warnings": [{"sesskey": "s", "item": "x"}]}
    rows = extract_records(document, "$.items[*].rows[*]", parent_fields={"parent_token": "token"})
    assert rows == [{"id": 1, "parent_token": REDACTED}]
    assert extract_records({"password": ["p1"]}, "$.password[*]", scalar_column="password") == [{"password": REDACTED}]
    assert extract_metadata(document, "$.warnings") == [{"sesskey": REDACTED, "item": "x"}]
    assert redact_secrets({"token": {"value": "t"}, "x": [{"password": "p", "y": 1}]}) == {
        "token": REDACTED,
        "x": [{"password": REDACTED, "y": 1}],
    }
    untouched = {"a": [{"b": 1}], "c": "d"}
    assert redact_secrets(untouched) is untouched


def test_every_credential_the_template_functions_return_is_listed():
    """Each field a template's function returns that is named like a key, token, password,
    secret or hash is either redacted or known not to be a credential."""
    functions = {s.function for s in load_specs(include_user=False) if s.function}
    functions |= {a.function for s in load_specs(include_user=False) for a in s.alternatives}
    schemas = all_schemas()
    found: set[str] = set()

    def walk(node) -> None:
        if not isinstance(node, dict):
            return
        for name, child in (node.get("keys") or {}).items():
            if any(word in name.lower() for word in ("key", "token", "passw", "secret", "hash")):
                found.add(name)
            walk(child)
        walk(node.get("content"))

    for function in functions & set(schemas):
        walk(schemas[function].get("returns"))
    assert "userprivateaccesskey" in found
    assert found - SECRET_FIELDS - set(NOT_SECRETS) == set()
