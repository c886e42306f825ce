"""Fixtures for fault-injection runs: a demo site whose faults each test sets, and a warehouse
already holding a fault-free harvest to compare against (and to prove left intact)."""

from __future__ import annotations

import dataclasses
import shutil

import pytest

from moodle_assets.assets import resources as resources_module
from moodle_assets.demo.dataset import DemoConfig, generate
from moodle_assets.demo.server import DEMO_TOKEN, DemoServer
from tests.assets.helpers import endpoint_assets, resources, run
from tests.conftest import DEMO_NOW
from tests.reliability.reliability_helpers import BASE_ASSETS, table

# Retried faults would wait the real backoff (0.5 s doubling); the tests shorten it where every
# run's client settings are made, overriding whatever the resource was configured with.
FAST_BACKOFF = {"backoff_base": 0.02, "backoff_max": 2.0}


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch):
    made_by_resource = resources_module.MoodleResource.client_settings

    def fast(self):
        return dataclasses.replace(made_by_resource(self), **FAST_BACKOFF)

    monkeypatch.setattr(resources_module.MoodleResource, "client_settings", fast)


@pytest.fixture(scope="session")
def faulty_server():
    """A demo site of its own, so faults never reach the shared demo server."""
    with DemoServer(generate(DemoConfig(now=DEMO_NOW))) as server:
        yield server


@pytest.fixture()
def site(faulty_server):
    faulty_server.faults = None
    faulty_server.reset_calls()
    yield faulty_server
    faulty_server.faults = None


@pytest.fixture(scope="session")
def baseline(faulty_server, tmp_path_factory):
    """A fault-free harvest of the reliability assets: the file, and each table's contents."""
    faulty_server.faults = None
    db = str(tmp_path_factory.mktemp("baseline") / "warehouse.duckdb")
    result = run(endpoint_assets(BASE_ASSETS), resources(faulty_server.url, DEMO_TOKEN, db))
    assert result.success
    return db, {name: table(db, name) for name in BASE_ASSETS}


@pytest.fixture()
def db(baseline, tmp_path):
    """A copy of the baseline warehouse for one test to run into (and perhaps break)."""
    path = tmp_path / "warehouse.duckdb"
    shutil.copyfile(baseline[0], path)
    return str(path)
