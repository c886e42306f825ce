"""Shared fixtures: the demo Moodle over real HTTP on loopback, and a real DuckDB file."""

from __future__ import annotations

import socketserver
import warnings

import pytest

from moodle_assets import clock
from moodle_assets.demo.dataset import DemoConfig, generate
from moodle_assets.demo.server import DEMO_TOKEN, DemoServer

# A fixed clock keeps the generated site, and so every expected value, the same on every run.
DEMO_NOW = 1795700000  # 2026-11-26

warnings.filterwarnings("ignore", category=Warning, module="dagster")


@pytest.fixture(scope="session", autouse=True)
def project_clock():
    """The project clock stands at DEMO_NOW for the whole session, in this process and (through
    MOODLE_ASSETS_NOW) in every process a test starts, so {now} macros, the incremental cut-off,
    the `test` command and analytics measure from the demo site's moment, whatever the date."""
    with clock.frozen(DEMO_NOW, environment=True) as moment:
        yield moment


@pytest.fixture(scope="session", autouse=True)
def servers_stop_promptly():
    """HTTP servers in this process (the demo Moodle sites, the tests' own small servers) look for
    a shutdown request every 0.5 s by default, so stopping one waited about half a second, some
    40 times a session. A 0.05 s poll stops them at once; serving is unchanged."""
    serve_forever = socketserver.BaseServer.serve_forever

    def serve(self, poll_interval=0.05):
        return serve_forever(self, poll_interval)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socketserver.BaseServer, "serve_forever", serve)
        yield


@pytest.fixture(scope="session")
def demo_dataset():
    return generate(DemoConfig(now=DEMO_NOW))


@pytest.fixture(scope="session")
def demo_server(demo_dataset):
    with DemoServer(demo_dataset) as server:
        yield server


@pytest.fixture()
def demo_token() -> str:
    return DEMO_TOKEN


@pytest.fixture(scope="session")
def analytics_warehouse(tmp_path_factory):
    """A third of the demo site harvested once, with the analytics built over it
    (tests/analytics/conftest.py), for the analytics tests and the docs' SQL."""
    from tests.analytics.conftest import build

    return build(tmp_path_factory)
