"""moodle_executor's threads with plain ops: retries, failures and the steps-at-once bound.

No Moodle here: ops that sleep, fail once or fail for good, run through ``execute_job`` as a
deployment runs them, to show that the threaded executor keeps Dagster's semantics.
"""

from __future__ import annotations

import threading
import time

from dagster import DagsterInstance, In, Nothing, RetryPolicy, execute_job, job, op, reconstructable

from moodle_assets.assets.jobs import moodle_executor

_lock = threading.Lock()
_state = {"running": 0, "peak": 0, "flaky_attempts": 0}


def _busy(seconds: float = 0.3) -> None:
    with _lock:
        _state["running"] += 1
        _state["peak"] = max(_state["peak"], _state["running"])
    time.sleep(seconds)
    with _lock:
        _state["running"] -= 1


@op
def slow_a() -> None:
    _busy()


@op
def slow_b() -> None:
    _busy()


@op
def slow_c() -> None:
    _busy()


@op(retry_policy=RetryPolicy(max_retries=2))
def flaky() -> None:
    _busy(0.1)
    with _lock:
        _state["flaky_attempts"] += 1
        first = _state["flaky_attempts"] == 1
    if first:
        raise RuntimeError("first attempt fails")


@op
def broken() -> None:
    _busy(0.1)
    raise RuntimeError("always fails")


@op(ins={"after": In(Nothing)})
def after_broken() -> None:
    pass


@op(ins={"after": In(Nothing)})
def after_flaky() -> None:
    pass


@job(executor_def=moodle_executor)
def mixed():
    slow_a()
    slow_b()
    slow_c()
    after_flaky(after=flaky())
    after_broken(after=broken())


def _run(steps: int):
    _state.update(running=0, peak=0, flaky_attempts=0)
    config = {"execution": {"config": {"in_process": {"max_concurrent": steps}}}}
    with (
        DagsterInstance.ephemeral() as instance,
        execute_job(reconstructable(mixed), instance, run_config=config, raise_on_error=False) as result,
    ):
        kinds: dict[str, list[str]] = {}
        for e in result.all_events:
            if e.step_key:
                kinds.setdefault(e.step_key, []).append(e.event_type_value)
        return result.success, kinds


def test_retries_failures_and_the_bound_on_steps_at_once():
    started = time.monotonic()
    success, kinds = _run(steps=3)
    took = time.monotonic() - started
    assert not success
    assert _state["peak"] == 3  # side by side, never more than max_concurrent
    # The flaky op was retried and succeeded; what depends on it ran.
    assert _state["flaky_attempts"] == 2
    assert kinds["flaky"].count("STEP_UP_FOR_RETRY") == 1 and kinds["flaky"][-1] == "STEP_SUCCESS"
    assert kinds["after_flaky"][-1] == "STEP_SUCCESS"
    # The broken op fails alone; its downstream never starts; the others succeed.
    assert kinds["broken"][-1] == "STEP_FAILURE"
    assert "STEP_START" not in kinds.get("after_broken", [])
    assert all(kinds[k][-1] == "STEP_SUCCESS" for k in ("slow_a", "slow_b", "slow_c"))
    assert took < 30


def test_one_step_at_a_time_when_asked():
    success, kinds = _run(steps=1)
    assert not success and _state["peak"] == 1
    assert kinds["flaky"][-1] == "STEP_SUCCESS" and kinds["broken"][-1] == "STEP_FAILURE"


@op
def a_leaf() -> None:
    time.sleep(0.2)


@op
def b_leaf() -> None:
    time.sleep(0.2)


@op
def z_head() -> None:
    time.sleep(0.2)


@op(ins={"after": In(Nothing)})
def z_middle() -> None:
    pass


@op(ins={"after": In(Nothing)}, tags={"dagster/priority": "5"})
def z_tail() -> None:
    pass


@op(tags={"dagster/priority": "1"})
def y_urgent_leaf() -> None:
    time.sleep(0.2)


@job(executor_def=moodle_executor)
def chain_and_leaves():
    a_leaf()
    b_leaf()
    y_urgent_leaf()
    z_tail(after=z_middle(after=z_head()))


def test_the_longest_chain_starts_first_after_the_priority_tag():
    """Two slots for four ready steps: the priority tag first, then the head of the longest
    chain; the leaves wait (Dagster's own order would take a leaf: they come first in the plan)."""
    config = {"execution": {"config": {"in_process": {"max_concurrent": 2}}}}
    with (
        DagsterInstance.ephemeral() as instance,
        execute_job(reconstructable(chain_and_leaves), instance, run_config=config) as result,
    ):
        started = [e.step_key for e in result.all_events if e.event_type_value == "STEP_START"]
    assert result.success
    assert set(started[:2]) == {"y_urgent_leaf", "z_head"}
    assert sorted(started) == sorted(["a_leaf", "b_leaf", "y_urgent_leaf", "z_head", "z_middle", "z_tail"])
