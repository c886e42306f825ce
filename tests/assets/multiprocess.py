"""Runs through the multiprocess executor (run config ``execution: {config: {multiprocess: ...}}``;
the code location's default runs the steps in the run's own process).

Every step runs in a process of its own that loads the code location, reads MOODLE_URL and
MOODLE_TOKEN from its environment and opens the shared DuckDB file while other steps wait on
its lock. Steps are forked from a fork server that has already imported Dagster and built the
Definitions (``multiprocess_preload``), instead of starting a fresh interpreter for each.

The fork server is started by the first run of the session and every step inherits *its*
environment, so all runs of a session share one environment (the ``project_folder`` and
``multiprocess_env`` fixtures) and what differs between runs, such as the warehouse file,
goes in run config.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping, Sequence

from dagster import AssetKey, DagsterInstance, Definitions, JobDefinition, execute_job, reconstructable

from moodle_assets.assets.jobs import HARVEST_JOB
from moodle_assets.definitions import build_definitions
from moodle_assets.endpoints import load_specs

PRELOAD = ["dagster._core.executor.multiprocess", "tests.assets.multiprocess_preload"]


@functools.cache
def definitions() -> Definitions:
    """The code location's Definitions, built as ``moodle_assets.definitions`` builds them (here,
    in the fork server and in every step, from the same environment)."""
    return build_definitions(load_specs())


def harvest_job() -> JobDefinition:
    """The moodle_harvest job: every asset and check of the code location. A selection of it
    is the run the UI's Materialize button launches (Dagster's implicit asset job, whose
    reserved name cannot be reconstructed in a step process, holds the same assets)."""
    return definitions().resolve_job_def(HARVEST_JOB)


def run_config(db: str | None = None, max_concurrent: int = 2, **moodle: object) -> dict:
    config: dict = {
        "execution": {
            "config": {
                "multiprocess": {
                    "max_concurrent": max_concurrent,
                    "start_method": {"forkserver": {"preload_modules": PRELOAD}},
                }
            }
        },
        # The token stays an env reference: run config is stored with the run.
        "resources": {"moodle": {"config": {"url": {"env": "MOODLE_URL"}, "token": {"env": "MOODLE_TOKEN"}, **moodle}}},
    }
    if db is not None:
        config["resources"]["warehouse"] = {"config": {"path": db}}
    return config


# The settings a step reads from its environment: the fork server's, from the session's first run.
STEP_ENVIRONMENT = ("MOODLE_URL", "MOODLE_TOKEN", "MOODLE_PROJECT_DIR", "MOODLE_ENDPOINTS_FILE", "MOODLE_DUCKDB_PATH")
_fork_server_environment: list[dict[str, str | None]] = []


def run_multiprocess(
    instance: DagsterInstance,
    keys: Sequence[AssetKey],
    *,
    job=harvest_job,
    db: str | None = None,
    tags: Mapping[str, str] | None = None,
    **moodle: object,
):
    """Execute ``keys`` (with their checks) of ``job`` in step processes; the result is a context
    manager, as ``execute_job``'s."""
    environment = {name: os.environ.get(name) for name in STEP_ENVIRONMENT}
    if not _fork_server_environment:
        _fork_server_environment.append(environment)
    assert environment == _fork_server_environment[0], (
        "the steps would run with the environment of the session's first multiprocess run (the fork "
        f"server's), not this one's: {_fork_server_environment[0]} != {environment}"
    )
    return execute_job(
        reconstructable(job),
        instance=instance,
        asset_selection=list(keys),
        run_config=run_config(db, **moodle),
        tags=dict(tags or {}),
        raise_on_error=False,
    )
