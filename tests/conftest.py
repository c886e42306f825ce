"""Shared fixtures: the demo Moodle over real HTTP on loopback, and a real DuckDB file."""

from __future__ import annotations

import warnings

import pytest

from moodle_assets.demo.dataset import DemoConfig, generate
from moodle_assets.demo.server import DEMO_TOKEN, DemoServer

# A fixed clock keeps the generated site, and so every expected value, the same on every run.
DEMO_NOW = 1795700000  # 2026-11-26

warnings.filterwarnings("ignore", category=Warning, module="dagster")


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
