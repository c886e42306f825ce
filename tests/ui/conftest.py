"""UI tests: the code location as the Dagster webserver serves it, and (opt-in) the demo in a browser.

Browser tests (``@pytest.mark.browser``) need Chromium and Playwright and take minutes, so they
are skipped unless asked for: ``pytest -m browser tests/ui`` or ``MOODLE_ASSETS_BROWSER=1``.
"""

from __future__ import annotations

import os

import pytest

BROWSER_ENV = "MOODLE_ASSETS_BROWSER"


def browser_tests_requested(config: pytest.Config) -> bool:
    if os.environ.get(BROWSER_ENV, "").strip().lower() in {"1", "true", "yes"}:
        return True
    expr = (config.option.markexpr or "").replace(" ", "")
    return "browser" in expr and "notbrowser" not in expr


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if browser_tests_requested(config):
        return
    skip = pytest.mark.skip(reason=f"browser test: run with -m browser or {BROWSER_ENV}=1")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)
