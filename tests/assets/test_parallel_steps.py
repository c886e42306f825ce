"""The code location's default executor: independent steps side by side in the run's process.

Runs of the moodle_harvest job (a selection of it, as the UI's Materialize button launches)
through ``moodle_executor`` with its default run config, against a demo site that takes a few
milliseconds per call. They show that two independent fan-outs really call the site at the
same time, that together they still hold no more calls in flight than ``max_concurrency``,
that every step reports the same events as when steps run one after another, and that a step
failing among parallel ones fails only itself and what depends on it.
"""

from __future__ import annotations

import shutil
import threading
from collections import Counter
from collections.abc import Iterator

import pytest
from dagster import AssetKey, DagsterEventType, DagsterInstance, execute_job, reconstructable

from moodle_assets.assets.jobs import STEPS_AT_ONCE
from moodle_assets.demo.dataset import DemoConfig, generate
from moodle_assets.demo.faults import Fault, FaultPlan
from moodle_assets.demo.server import DEMO_TOKEN, DemoServer
from tests.assets.helpers import endpoint_assets, resources, rows, run
from tests.assets.multiprocess import harvest_job
from tests.conftest import DEMO_NOW

COMPLETION = "core_completion_get_activities_completion_status"
ATTEMPTS = "mod_quiz_get_user_attempts"
MAX_CONCURRENCY = 3
UPSTREAM = ["site_info", "course_index", "courses", "enrolled_users", "quizzes"]
FAN_OUTS = [AssetKey(["moodle", "activity_completion"]), AssetKey(["moodle", "quiz_attempts"])]
# Steps' own events, in order (log lines and engine events aside).
_QUIET = {DagsterEventType.ENGINE_EVENT, DagsterEventType.LOGS_CAPTURED, DagsterEventType.STEP_WORKER_STARTING}


class CountingSite(DemoServer):
    """The demo site, counting the calls it is answering at once.

    The server's own ``peak_in_flight`` counts a call until its handler thread has written the
    answer and taken the lock again; under load the client can have its answer, release its
    slot and send the next call before that thread runs again (it shares this process's GIL),
    so that peak can exceed what was ever in flight by one. ``answering`` counts from the
    parsed request to the computed answer (the site's service time included), a window that
    lies inside the client's own in-flight window, so it never over-counts.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._answering_lock = threading.Lock()
        self._answering = 0
        self.answering_peak = 0

    def handle_rest(self, fields, method, site_url):
        with self._answering_lock:
            self._answering += 1
            self.answering_peak = max(self.answering_peak, self._answering)
        try:
            return super().handle_rest(fields, method, site_url)
        finally:
            with self._answering_lock:
                self._answering -= 1

    def reset_calls(self) -> None:
        super().reset_calls()
        self.answering_peak = 0


@pytest.fixture(scope="module")
def slow_site() -> Iterator[CountingSite]:
    """Eight PHP workers of 5 ms: more than the client's bound, so a flood would show."""
    with CountingSite(generate(DemoConfig(now=DEMO_NOW, scale=0.3)), workers=8, service_ms=5) as server:
        yield server


@pytest.fixture(scope="module")
def upstream(slow_site, tmp_path_factory) -> str:
    """A warehouse with what the two fan-outs read (courses, enrolled users, quizzes)."""
    db = str(tmp_path_factory.mktemp("upstream") / "warehouse.duckdb")
    assert run(endpoint_assets(UPSTREAM), resources(slow_site.url, DEMO_TOKEN, db)).success
    return db


def _execute(site: DemoServer, db: str, keys, steps: int | None = None):
    """The job's run of ``keys`` with the default executor (or ``steps`` at once): its events."""
    execution = {"config": {"in_process": {"max_concurrent": steps}}} if steps else {}
    config = {
        **({"execution": execution} if execution else {}),
        "resources": {
            "moodle": {
                "config": {"url": site.url, "token": {"env": "MOODLE_TOKEN"}, "max_concurrency": MAX_CONCURRENCY}
            },
            "warehouse": {"config": {"path": db}},
        },
    }
    with (
        DagsterInstance.ephemeral() as instance,
        execute_job(
            reconstructable(harvest_job), instance, asset_selection=list(keys), run_config=config, raise_on_error=False
        ) as result,
    ):
        return result.success, list(result.all_events)


def _fresh(upstream: str, tmp_path, name: str = "warehouse.duckdb") -> str:
    db = str(tmp_path / name)
    shutil.copy(upstream, db)
    return db


def test_two_fan_outs_call_the_site_at_once_within_its_bound(slow_site, upstream, tmp_path, multiprocess_env):
    slow_site.reset_calls()
    success, events = _execute(slow_site, _fresh(upstream, tmp_path), FAN_OUTS)
    assert success, [e.message for e in events if e.is_step_failure]

    functions = [c.function for c in slow_site.calls]
    completion = [i for i, f in enumerate(functions) if f == COMPLETION]
    attempts = [i for i, f in enumerate(functions) if f == ATTEMPTS]
    assert len(completion) > 50 and len(attempts) > 50
    # Interleaved at the site, not one fan-out after the other: each one's calls come while
    # the other's go on, many times over.
    assert attempts[0] < completion[-1] and completion[0] < attempts[-1]
    switches = sum(1 for a, b in zip(functions, functions[1:], strict=False) if {a, b} == {COMPLETION, ATTEMPTS})
    assert switches > 20, switches
    # Together never more than the client's bound (6 with each step at its own bound), and at it.
    assert slow_site.answering_peak == MAX_CONCURRENCY, slow_site.peak_by_function


def test_parallel_steps_report_what_sequential_steps_report(slow_site, upstream, tmp_path, multiprocess_env):
    """Same tables, same calls, same events per step as one step after another."""
    keys = [*FAN_OUTS, AssetKey(["moodle", "course_completion"])]
    outcomes = {}
    for steps in (1, STEPS_AT_ONCE):
        db = _fresh(upstream, tmp_path, f"steps{steps}.duckdb")
        slow_site.reset_calls()
        success, events = _execute(slow_site, db, keys, steps)
        assert success
        per_step: dict[str, list[str]] = {}
        for e in events:
            if e.step_key and e.event_type not in _QUIET:
                per_step.setdefault(e.step_key, []).append(e.event_type_value)
        tables = {
            k.path[-1]: rows(db, f"SELECT * EXCLUDE (_loaded_at) FROM moodle.{k.path[-1]} ORDER BY ALL") for k in keys
        }
        outcomes[steps] = (per_step, Counter(c.function for c in slow_site.calls), tables)
    sequential, parallel = outcomes[1], outcomes[STEPS_AT_ONCE]
    assert parallel[0] == sequential[0]
    assert all(kinds[0] == "STEP_START" and kinds[-1] == "STEP_SUCCESS" for kinds in parallel[0].values())
    assert parallel[1] == sequential[1]
    assert parallel[2] == sequential[2]


def test_a_failing_step_among_parallel_ones_fails_only_itself_and_downstream(
    slow_site, upstream, tmp_path, multiprocess_env
):
    db = _fresh(upstream, tmp_path)
    before = rows(db, "SELECT count(*) FROM moodle._loads")[0][0]
    learner_progress = AssetKey(["analytics", "learner_progress"])
    keys = [*FAN_OUTS, AssetKey(["moodle", "course_completion"]), learner_progress]
    slow_site.faults = FaultPlan([Fault("html", function=ATTEMPTS, calls="5")])
    try:
        success, events = _execute(slow_site, db, keys)
    finally:
        slow_site.faults = None
    assert not success
    by_kind: dict[str, set[str]] = {}
    for e in events:
        if e.step_key:
            by_kind.setdefault(e.event_type_value, set()).add(e.step_key)
    assert by_kind["STEP_FAILURE"] == {"moodle__quiz_attempts"}
    assert by_kind["STEP_SUCCESS"] == {"moodle__activity_completion", "moodle__course_completion"}
    # Downstream of the failure: not run (learner_progress reads quiz_attempts).
    assert "analytics__learner_progress" not in by_kind["STEP_START"]
    failure = next(e for e in events if e.is_step_failure)
    assert "HTML" in failure.step_failure_data.error.message
    loaded = {t for (t,) in rows(db, "SELECT table_name FROM moodle._loads")}
    assert {"moodle.activity_completion", "moodle.course_completion"} <= loaded
    assert "moodle.quiz_attempts" not in loaded
    assert rows(db, "SELECT count(*) FROM moodle._loads")[0][0] == before + 2
