"""Helpers shared by the reliability tests: table contents, failure texts, one faulty run."""

from __future__ import annotations

from moodle_assets.demo.server import DEMO_TOKEN
from tests.assets.helpers import endpoint_assets, resources, rows, run

BASE_ASSETS = ["course_index", "courses", "enrolled_users"]


def table(db: str, name: str, *, loaded_at: bool = False) -> list[tuple]:
    """Every row of ``moodle.<name>``, all columns but ``_loaded_at`` unless asked, sorted."""
    exclude = "" if loaded_at else " EXCLUDE (_loaded_at)"
    return rows(db, f"SELECT *{exclude} FROM moodle.{name} ORDER BY ALL")


def errors(db: str, name: str) -> list[tuple]:
    return rows(db, "SELECT item::VARCHAR, function, errorcode, message FROM moodle._errors "
                    "WHERE table_name = ? ORDER BY ALL", [f"moodle.{name}"])


def harvest(site, db: str, names: list[str], config: dict | None = None, **moodle):
    """Materialise ``names`` against ``site``; ``config`` is run config per asset name."""
    moodle = {"max_retries": 3, "timeout_seconds": 5.0, **moodle}
    run_config = {"ops": {f"moodle__{n}": {"config": c} for n, c in (config or {}).items()}}
    return run(endpoint_assets(names), resources(site.url, DEMO_TOKEN, db, **moodle), run_config=run_config)


def failure_messages(result) -> list[str]:
    """The messages of the step failures of a run, as the Dagster UI shows them."""
    return [e.step_failure_data.user_failure_data.description for e in result.all_events if e.is_step_failure]
