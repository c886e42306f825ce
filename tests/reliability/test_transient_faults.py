"""Faults that heal are retried: the tables come out exactly as from a fault-free run."""

from __future__ import annotations

import logging

import pytest

from moodle_assets.demo.faults import Fault, FaultPlan
from tests.assets.helpers import materialization_metadata
from tests.reliability.reliability_helpers import errors, failure_messages, harvest, table

ENROL = "core_enrol_get_enrolled_users"

TRANSIENT = {
    "slow past the timeout": Fault("slow", function=ENROL, calls="2", seconds=1.5),
    "connection reset": Fault("reset", function=ENROL, calls="1-2"),
    "HTTP 500 burst": Fault("status", function=ENROL, calls="4-5", status=500),
    "HTTP 503 burst": Fault("status", function=ENROL, calls="1-3", status=503),
    "connection cut mid-body": Fault("cut", function=ENROL, calls="3"),
    "random resets and 503s": Fault("reset", function=ENROL, rate=0.2),
}


@pytest.mark.parametrize("fault", TRANSIENT.values(), ids=TRANSIENT.keys())
def test_transient_fault_is_retried_and_the_table_equals_a_fault_free_run(site, db, baseline, fault):
    site.faults = plan = FaultPlan([fault], seed=7)
    # Only the slow fault needs a short timeout; elsewhere a loaded machine must not cause retries.
    # A random fault can strike the same call several times running (and a reset can leave a
    # pooled connection stale): give random plans enough retries that the run cannot lose.
    retries = 8 if fault.rate else 3
    result = harvest(
        site, db, ["enrolled_users"], timeout_seconds=1.0 if fault.kind == "slow" else 5.0, max_retries=retries
    )
    assert result.success, failure_messages(result)
    assert plan.injected[fault.kind] >= 1
    assert materialization_metadata(result)["enrolled_users"]["retries"] == plan.injected[fault.kind]
    assert table(db, "enrolled_users") == baseline[1]["enrolled_users"]
    assert errors(db, "enrolled_users") == []


def test_site_down_for_a_moment_comes_back_and_the_whole_harvest_is_complete(site, db, baseline):
    site.faults = plan = FaultPlan([Fault("down", function="core_course_get_courses", calls="1", seconds=0.6)])
    result = harvest(site, db, ["courses", "enrolled_users"], max_retries=8)
    assert result.success
    assert plan.injected["down"] >= 2  # the call that took it down, and retries while it was away
    for name in ("courses", "enrolled_users"):
        assert table(db, name) == baseline[1][name]


def test_429_waits_the_retry_after_the_site_asks_for(site, db, baseline, caplog):
    site.faults = FaultPlan([Fault("status", function=ENROL, calls="2", status=429, retry_after=0.5)])
    with caplog.at_level(logging.INFO, logger="moodle_assets.moodle"):
        result = harvest(site, db, ["enrolled_users"])
    assert result.success
    retries = [r.getMessage() for r in caplog.records if r.getMessage().startswith("retrying")]
    assert retries == [f"retrying {ENROL} in 0.50s after HTTP 429 Too Many Requests (attempt 1 of 4)"]
    assert table(db, "enrolled_users") == baseline[1]["enrolled_users"]


def test_the_fast_backoff_reaches_the_client_the_runs_use():
    """The fixture above is what keeps these tests quick; a resource default must not undo it."""
    from moodle_assets.assets.resources import MoodleResource
    from tests.reliability.conftest import FAST_BACKOFF

    settings = MoodleResource(url="http://127.0.0.1:1", token="x").client_settings()
    assert (settings.backoff_base, settings.backoff_max) == (FAST_BACKOFF["backoff_base"], FAST_BACKOFF["backoff_max"])
