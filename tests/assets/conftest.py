"""One full harvest of every unpartitioned asset, shared by the modules that check it.

Materialising the whole graph is the slowest thing the suite does, so it happens once per
session: the template tests assert on its tables, metadata and the calls Moodle received,
and the multiprocess test compares its own run's tables with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from moodle_assets.demo.server import DEMO_TOKEN, RecordedCall
from tests.assets.helpers import endpoint_assets, materialization_metadata, resources, rows, run

# Fan-outs make hundreds of small calls; more of them in flight keeps the harvest short.
HARVEST_CONCURRENCY = 8


@pytest.fixture(scope="session")
def session_project_folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("project")


@pytest.fixture(scope="package", autouse=True)
def project_folder(session_project_folder) -> Iterator[Path]:
    """An empty project folder for every test here, in this process and every process it starts.

    A user's own moodle_endpoints.yaml in the checkout, a MOODLE_ENDPOINTS_FILE or
    MOODLE_DUCKDB_PATH exported in the shell must not change what the tests load or where they
    write. Package-scoped, so it is in place before the module-scoped fixtures; one folder for
    the session, the same each time the tests of other packages run in between (random order),
    because the multiprocess fork server keeps the environment it was started with.
    """
    folder = session_project_folder
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MOODLE_PROJECT_DIR", str(folder))
        patch.delenv("MOODLE_ENDPOINTS_FILE", raising=False)
        patch.delenv("MOODLE_DUCKDB_PATH", raising=False)
        yield folder


@pytest.fixture(scope="module")
def multiprocess_env(demo_server, project_folder) -> Iterator[None]:
    """MOODLE_URL and MOODLE_TOKEN of the demo site, for runs whose step processes read them.

    The same values in every module: the fork server of the multiprocess runs is started once
    per session and every step process inherits its environment, not the current one.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MOODLE_URL", demo_server.url)
        patch.setenv("MOODLE_TOKEN", DEMO_TOKEN)
        yield


@dataclass
class Harvest:
    db: str
    resources: dict
    result: Any
    meta: dict[str, dict]
    calls: list[RecordedCall]
    failures: list[str]

    def sent(self, function: str) -> list[list[tuple[str, str]]]:
        """The form fields of every call of ``function`` Moodle received during the harvest."""
        return [c.fields for c in self.calls if c.function == function]


def table_counts(db: str) -> dict[str, int]:
    """Rows of every table in schema moodle of the DuckDB file ``db``."""
    tables = [
        r[0]
        for r in rows(db, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'moodle' ORDER BY 1")
    ]
    return {t: rows(db, f'SELECT count(*) FROM moodle."{t}"')[0][0] for t in tables}


def unpartitioned_assets():
    return [a for a in endpoint_assets() if a.partitions_def is None]


@pytest.fixture(scope="session")
def full_harvest(demo_server, tmp_path_factory) -> Harvest:
    db = str(tmp_path_factory.mktemp("full_harvest") / "warehouse.duckdb")
    res = resources(demo_server.url, DEMO_TOKEN, db, max_concurrency=HARVEST_CONCURRENCY)
    first_call = len(demo_server.calls)
    result = run(unpartitioned_assets(), res)
    calls = list(demo_server.calls[first_call:])
    return Harvest(db, res, result, materialization_metadata(result), calls, step_failures(result))


def step_failures(result) -> list[str]:
    """``step: message`` of every failed step, to say why a run did not succeed."""
    return [f"{e.step_key}: {e.event_specific_data.error.message}" for e in result.all_events if e.is_step_failure]
