"""Steps of a run side by side, as threads of the run's own process.

Why: a harvest is mostly waiting on the site, and a step's fixed part (lookup reads, the
DuckDB load, Dagster's events) leaves the site idle while it runs. Dagster's in-process
executor runs steps one after another, so independent assets (``activity_completion`` beside
``quiz_attempts``, every asset of the nightly harvest that reads only ``courses``) never call
the site at once; its multiprocess executor overlaps them but starts a process per step that
imports and loads everything again (~1-5 s of CPU each on the benchmark's 2 CPUs). Threads
overlap the steps at neither cost.

How: the orchestration is Dagster's own. This thread (the run's) keeps the one
``ActiveExecution`` of the plan: it picks the ready steps (up to ``max_concurrent``, each one
claiming its ``moodle_api`` pool slot through the instance exactly as the other executors
do), starts each in a worker thread that runs Dagster's ``dagster_event_sequence_for_step``,
and takes their events from one queue in the order they happen, handing each to the
``ActiveExecution`` (successes, failures, retries, skips of downstream steps) and to the
run. A step's events are written to the event log by the step itself, as in process. A step
that fails fails only itself and what depends on it; an exception that escapes a step
without its failure event becomes that step's failure (or retry), as a crashed step process
does under the multiprocess executor.

Which ready step first: when more steps are ready than may run, the one with the longest
chain of steps after it (Dagster's ``dagster/priority`` tag first, when an asset sets it).
A harvest's critical path is ``courses -> enrolled_users ->`` the fan-outs; a leaf that reads
one call per course can wait without delaying anything, while ``enrolled_users`` waiting for
a slot delays every per-user fan-out. Dagster's own order (priority tag, then plan order)
started four leaves before ``enrolled_users`` in the nightly harvest.

What is shared: resources are built once for the run (as in process); the DuckDB file takes
one writer at a time (``warehouse/writers.py``); Moodle clients of one site share its gate
(``moodle/site_gate.py``), so steps side by side hold ``max_concurrency`` calls in flight
between them, as one step did alone.
"""

from __future__ import annotations

import contextvars
import itertools
import os
import queue
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial

from dagster import Executor
from dagster._core.errors import DagsterExecutionInterruptedError
from dagster._core.events import DagsterEvent, EngineEventData
from dagster._core.execution.api import ExecuteRunWithPlanIterable
from dagster._core.execution.compute_logs import create_compute_log_file_key
from dagster._core.execution.context.system import PlanExecutionContext, PlanOrchestrationContext
from dagster._core.execution.context_creation_job import PlanExecutionContextManager
from dagster._core.execution.plan.active import ActiveExecution
from dagster._core.execution.plan.execute_plan import _trigger_hook, dagster_event_sequence_for_step
from dagster._core.execution.plan.instance_concurrency_context import InstanceConcurrencyContext
from dagster._core.execution.plan.plan import ExecutionPlan
from dagster._core.execution.plan.step import ExecutionStep
from dagster._core.execution.retries import RetryMode
from dagster._core.execution.step_dependency_config import StepDependencyConfig
from dagster._core.storage.tags import PRIORITY_TAG
from dagster._utils.error import SerializableErrorInfo, serializable_error_info_from_exc_info

_INTERRUPTS = (KeyboardInterrupt, DagsterExecutionInterruptedError)
_IDLE_WAIT = 0.5  # seconds between checks for an interrupt while every running step is busy


@dataclass
class _Running:
    """A step in its worker thread, and what the run has seen of it so far."""

    context: object  # its StepExecutionContext
    thread: threading.Thread
    events: list[DagsterEvent] = field(default_factory=list)
    finished: bool = False  # a success, failure or retry event was seen


@dataclass
class _Escaped:
    """An exception that left a step's event sequence."""

    error: BaseException
    info: SerializableErrorInfo


_DONE = object()


def _work(ticket: int, step_context, events: queue.SimpleQueue) -> None:
    """A worker thread: the step's events into the queue, then what escaped, then _DONE, each
    under the ticket of this attempt (a retried step's next attempt may start before its
    previous thread has said _DONE)."""
    try:
        for event in dagster_event_sequence_for_step(step_context):
            events.put((ticket, event))
    except BaseException as error:  # noqa: BLE001 - every exit is reported to the run's thread
        events.put((ticket, _Escaped(error, serializable_error_info_from_exc_info(sys.exc_info()))))
    finally:
        events.put((ticket, _DONE))


class ThreadedInProcessExecutor(Executor):
    """Ready steps run side by side, at most ``max_concurrent`` at once, in the run's process."""

    def __init__(
        self, retries: RetryMode, max_concurrent: int, step_dependency_config: StepDependencyConfig | None = None
    ) -> None:
        if max_concurrent < 1:
            raise ValueError(f"max_concurrent must be at least 1, not {max_concurrent}")
        self._retries = retries
        self.max_concurrent = max_concurrent
        self._step_dependency_config = step_dependency_config or StepDependencyConfig.default()

    @property
    def retries(self) -> RetryMode:
        return self._retries

    @property
    def step_dependency_config(self) -> StepDependencyConfig:
        return self._step_dependency_config

    def execute(self, plan_context: PlanOrchestrationContext, execution_plan: ExecutionPlan) -> Iterator[DagsterEvent]:
        keys = execution_plan.step_keys_to_execute
        yield DagsterEvent.engine_event(
            plan_context,
            f"Executing steps in process (pid: {os.getpid()}), up to {self.max_concurrent} at once",
            event_specific_data=EngineEventData.in_process(os.getpid(), keys),
        )
        yield from ExecuteRunWithPlanIterable(
            execution_plan=plan_context.execution_plan,
            iterator=partial(self._steps, self.max_concurrent),
            execution_context_manager=PlanExecutionContextManager(
                job=plan_context.job,
                retry_mode=plan_context.retry_mode,
                execution_plan=plan_context.execution_plan,
                run_config=plan_context.run_config,
                dagster_run=plan_context.dagster_run,
                instance=plan_context.instance,
                raise_on_error=plan_context.raise_on_error,
                output_capture=plan_context.output_capture,
                step_dependency_config=self.step_dependency_config,
            ),
        )
        yield DagsterEvent.engine_event(
            plan_context,
            f"Finished steps in process (pid: {os.getpid()})",
            event_specific_data=EngineEventData.in_process(os.getpid(), keys),
        )

    def _steps(
        self, max_concurrent: int, job_context: PlanExecutionContext, execution_plan: ExecutionPlan
    ) -> Iterator[DagsterEvent]:
        compute_logs = job_context.instance.compute_log_manager
        with (
            InstanceConcurrencyContext(job_context.instance, job_context.dagster_run) as concurrency,
            execution_plan.start(
                retry_mode=job_context.retry_mode,
                sort_key_fn=critical_path_first(execution_plan),
                max_concurrent=max_concurrent,
                instance_concurrency_context=concurrency,
                step_dependency_config=job_context.step_dependency_config,
            ) as active,
        ):
            step_keys = [s.key for s in execution_plan.get_steps_to_execute_in_topo_order()]
            log_key = compute_logs.build_log_key_for_run(job_context.run_id, create_compute_log_file_key())
            with compute_logs.capture_logs(log_key) as log_context:
                yield DagsterEvent.capture_logs(job_context, step_keys, log_key, log_context)
                yield from self._loop(job_context, active, max_concurrent)

    def _loop(
        self, job_context: PlanExecutionContext, active: ActiveExecution, max_concurrent: int
    ) -> Iterator[DagsterEvent]:
        events: queue.SimpleQueue = queue.SimpleQueue()
        running: dict[int, _Running] = {}  # by ticket: one per attempt of a step
        tickets = itertools.count()
        interrupted = False
        try:
            while running or not active.is_complete:
                if not interrupted and active.check_for_interrupts():
                    interrupted = True
                    active.mark_interrupted()
                    yield DagsterEvent.engine_event(
                        job_context,
                        "Interrupted: no more steps start; waiting for the running ones to stop",
                        EngineEventData.interrupted([r.context.step.key for r in running.values()]),
                    )
                    _interrupt(running)
                if not interrupted:
                    for step in active.get_steps_to_execute(limit=max_concurrent - len(running)):
                        step_context = job_context.for_step(step, active.get_known_state())
                        ticket = next(tickets)
                        work = contextvars.copy_context().run
                        thread = threading.Thread(
                            target=work, args=(_work, ticket, step_context, events), name=step.key, daemon=True
                        )
                        running[ticket] = _Running(step_context, thread)
                        thread.start()
                    yield from active.concurrency_event_iterator(job_context)
                yield from active.plan_events_iterator(job_context)
                if not running:
                    if interrupted:
                        break
                    if not active.is_complete:
                        active.sleep_til_ready()
                    continue
                wait = active.sleep_interval()  # a retry or a pool claim due, else 0
                try:
                    item = events.get(timeout=min(wait, _IDLE_WAIT) if wait > 0 else _IDLE_WAIT)
                except queue.Empty:
                    continue
                while True:
                    yield from self._handle(job_context, active, running, *item)
                    try:
                        item = events.get_nowait()
                    except queue.Empty:
                        break
        except BaseException:
            _interrupt(running)
            raise
        if interrupted:
            raise DagsterExecutionInterruptedError("Execution was interrupted while steps were running in threads.")

    def _handle(
        self,
        job_context: PlanExecutionContext,
        active: ActiveExecution,
        running: dict[int, _Running],
        ticket: int,
        item,
    ) -> Iterator[DagsterEvent]:
        step = running[ticket]
        if isinstance(item, DagsterEvent):
            step.events.append(item)
            if item.is_step_success or item.is_step_failure or item.is_step_up_for_retry:
                step.finished = True
            active.handle_event(item)
            yield item
        elif isinstance(item, _Escaped):
            if not step.finished:  # as a crashed step process: its failure, or a retry if its policy allows
                event = self.log_failure_or_retry_event_after_error(step.context, item.info, active.get_known_state())
                step.events.append(event)
                step.finished = True
                active.handle_event(event)
                yield event
            elif not isinstance(item.error, _INTERRUPTS) and job_context.raise_on_error:
                raise item.error
        else:  # _DONE
            step.thread.join()
            del running[ticket]
            if not step.finished:  # no success, failure or retry: Dagster marks it unknown and stops its downstream
                active.verify_complete(job_context, step.context.step.key)
            yield from _trigger_hook(step.context, step.events)


def critical_path_first(plan: ExecutionPlan):
    """The order in which ready steps start: the ``dagster/priority`` tag, then the longest
    chain of steps downstream (in this plan), then the most steps downstream."""
    steps = plan.get_steps_to_execute_in_topo_order()
    below: dict[str, set[str]] = {step.key: set() for step in steps}
    for step in steps:
        for upstream in step.get_execution_dependency_keys():
            if upstream in below:
                below[upstream].add(step.key)
    height: dict[str, int] = {}
    descendants: dict[str, set[str]] = {}
    for step in reversed(steps):  # every downstream step comes later in topological order
        after = below[step.key]
        height[step.key] = 1 + max((height[k] for k in after), default=-1)
        descendants[step.key] = set(after).union(*(descendants[k] for k in after))

    def key(step: ExecutionStep) -> tuple[int, int, int]:
        try:
            priority = int(step.tags.get(PRIORITY_TAG, 0))
        except ValueError:
            priority = 0
        return (-priority, -height.get(step.key, 0), -len(descendants.get(step.key, ())))

    return key


def _interrupt(running: dict[int, _Running]) -> None:
    """Ask the running steps' threads to stop, as a signal stops a step in process: a
    DagsterExecutionInterruptedError raised in each at its next Python instruction."""
    import ctypes

    for step in running.values():
        ident = step.thread.ident
        if ident is not None and step.thread.is_alive():
            ctypes.pythonapi.PyThreadState_SetAsyncExc(
                ctypes.c_ulong(ident), ctypes.py_object(DagsterExecutionInterruptedError)
            )
