"""Faults of one item of a fan-out are recorded in moodle._errors; everything else loads."""

from __future__ import annotations

import pytest

from moodle_assets.demo.faults import Fault, FaultPlan
from tests.assets.helpers import materialization_metadata
from tests.reliability.reliability_helpers import errors, harvest, table

ENROL = "core_enrol_get_enrolled_users"
COURSE = 3

ITEM_FAULTS = {
    "nopermissions": (
        Fault("exception", function=ENROL, when={"courseid": COURSE}),
        "nopermissions",
        "core_enrol_get_enrolled_users: permission denied for courseid=3, options[0][name]=limitfrom, "
        "options[0][value]=0, options[1][name]=limitnumber, options[1][value]=100. Moodle said: Sorry, "
        "but you do not currently have permissions to do that (view). [nopermissions]. Give the token's "
        "user the capability in a role on this context, or leave this item out; other items are not affected.",
    ),
    "requireloginerror": (
        Fault(
            "exception",
            function=ENROL,
            when={"courseid": COURSE},
            errorcode="requireloginerror",
            exception="require_login_exception",
            message="Course or activity not accessible. (You are not enrolled)",
        ),
        "requireloginerror",
        "core_enrol_get_enrolled_users: permission denied for courseid=3, options[0][name]=limitfrom, "
        "options[0][value]=0, options[1][name]=limitnumber, options[1][value]=100. Moodle said: Course or "
        "activity not accessible. (You are not enrolled) [requireloginerror]. Give the token's user the "
        "capability in a role on this context, or leave this item out; other items are not affected.",
    ),
    "PHP Error without errorcode": (
        Fault(
            "exception",
            function=ENROL,
            when={"courseid": COURSE},
            errorcode=None,
            exception="Error",
            message="Call to a member function get_context() on null",
        ),
        "Error",
        "core_enrol_get_enrolled_users failed inside Moodle for courseid=3, options[0][name]=limitfrom, "
        "options[0][value]=0, options[1][name]=limitnumber, options[1][value]=100. Moodle said: Call to a "
        "member function get_context() on null [Error]. This concerns this call only; check the values "
        "sent, and the site's logs or debugging output if the message is not self-explanatory.",
    ),
}


def _without_course(rows: list[tuple], course: int) -> list[tuple]:
    return [row for row in rows if row[0] != course]  # courseid is the table's first column


@pytest.mark.parametrize(("fault", "code", "message"), ITEM_FAULTS.values(), ids=ITEM_FAULTS.keys())
def test_an_item_moodle_refuses_is_an_error_row_and_every_other_item_loads(site, db, baseline, fault, code, message):
    site.faults = FaultPlan([fault])
    result = harvest(site, db, ["enrolled_users"])
    assert result.success
    assert table(db, "enrolled_users") == _without_course(baseline[1]["enrolled_users"], COURSE)
    assert errors(db, "enrolled_users") == [('{"courseid":3}', ENROL, code, message)]
    meta = materialization_metadata(result)["enrolled_users"]
    assert meta["failed_items"] == 1 and meta["retries"] == 0


def test_an_exception_in_the_middle_of_a_paged_walk_is_never_a_silent_partial_course(site, db, baseline):
    """Course 3 fails on its 2nd page of 10: its first page may stay, but an _errors row says so."""
    site.faults = FaultPlan([Fault("exception", function=ENROL, when={"courseid": COURSE, "limitfrom": 10})])
    result = harvest(site, db, ["enrolled_users"], config={"enrolled_users": {"page_size": 10}})
    assert result.success
    expected = baseline[1]["enrolled_users"]
    loaded = table(db, "enrolled_users")
    assert _without_course(loaded, COURSE) == _without_course(expected, COURSE)
    partial = [row for row in loaded if row[0] == COURSE]
    complete = [row for row in expected if row[0] == COURSE]
    assert len(partial) < len(complete) and set(partial) <= set(complete)
    [(item, function, code, message)] = errors(db, "enrolled_users")
    assert (item, function, code) == ('{"courseid":3}', ENROL, "nopermissions")
    assert "options[0][value]=10" in message


def test_the_share_of_failed_items_fails_the_asset_check(site, db, baseline):
    site.faults = FaultPlan([Fault("exception", function=ENROL, rate=0.5)], seed=3)
    result = harvest(site, db, ["enrolled_users"], max_failed_share=0.1)
    assert result.success
    [check] = result.get_asset_check_evaluations()
    failed = len(errors(db, "enrolled_users"))
    assert failed >= 2 and not check.passed
    assert check.metadata["failed_items"].value == failed
