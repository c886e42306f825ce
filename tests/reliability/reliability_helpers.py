"""Helpers shared by the reliability tests: table contents, failure texts, one faulty run."""

from __future__ import annotations

from moodle_assets.assets.resources import WarehouseResource
from moodle_assets.demo.server import DEMO_TOKEN
from tests.assets.helpers import endpoint_assets, resources, rows, run

BASE_ASSETS = ["course_index", "courses", "enrolled_users"]


def table(db: str, name: str, *, loaded_at: bool = False) -> list[tuple]:
    """Every row of ``moodle.<name>``, all columns but ``_loaded_at`` unless asked, sorted.

    Columns after the first are taken in name order: a key only some records have takes its
    place in the table where it was first seen, which depends on which call answered first.
    """
    return rows(db, f"SELECT {ordered_columns(db, name, loaded_at)} FROM moodle.{name} ORDER BY ALL")


def ordered_columns(db: str, name: str, loaded_at: bool = False) -> str:
    """The first column (a fan-out's context, or the records' own first key) stays first."""
    first, *rest = [r[0] for r in rows(db, f'DESCRIBE moodle."{name}"')]
    return ", ".join(f'"{c}"' for c in [first, *sorted(rest)] if loaded_at or c != "_loaded_at")


def errors(db: str, name: str) -> list[tuple]:
    return rows(
        db,
        "SELECT item::VARCHAR, function, errorcode, message FROM moodle._errors WHERE table_name = ? ORDER BY ALL",
        [f"moodle.{name}"],
    )


def harvest(site, db: str, names: list[str], config: dict | None = None, lock_timeout_seconds: float = 10, **moodle):
    """Materialise ``names`` against ``site``; ``config`` is run config per asset name."""
    moodle = {"max_retries": 3, "timeout_seconds": 5.0, **moodle}
    res = resources(site.url, DEMO_TOKEN, db, **moodle)
    res["warehouse"] = WarehouseResource(path=db, lock_timeout_seconds=lock_timeout_seconds)
    run_config = {"ops": {f"moodle__{n}": {"config": c} for n, c in (config or {}).items()}}
    return run(endpoint_assets(names), res, run_config=run_config)


def failure_messages(result) -> list[str]:
    """The messages of the step failures of a run, as the Dagster UI shows them."""
    messages = []
    for event in result.all_events:
        if event.is_step_failure:
            data = event.step_failure_data
            messages.append(data.user_failure_data.description if data.user_failure_data else data.error.message)
    return messages


def failure_chain(result) -> list[str]:
    """Each step failure's error and its causes, outermost first, as the Dagster UI lists them."""
    chain = []
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            while error is not None:
                chain.append(error.message.strip())
                error = error.cause
    return chain
