"""Environment for running the CLI in-process against the demo Moodle."""

from __future__ import annotations

from pathlib import Path

import pytest

from moodle_assets.cli import main

# Recognisable in any output: it must never appear, redacted or not.
WRONG_TOKEN = "wrong-token-SHOULD-NEVER-BE-PRINTED-4242"


@pytest.fixture()
def cli_env(demo_server, tmp_path, monkeypatch):
    """MOODLE_* pointing at the demo site and at files under tmp_path that do not exist yet."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MOODLE_URL", demo_server.url)
    monkeypatch.setenv("MOODLE_TOKEN", "demo-token-admin-0123456789abcdef")
    monkeypatch.setenv("MOODLE_DUCKDB_PATH", str(tmp_path / "db" / "warehouse.duckdb"))
    # The project folder is tmp_path: its moodle_endpoints.yaml (absent unless a test writes it)
    # is the user's file, never the one of the checkout the tests run from.
    monkeypatch.setenv("MOODLE_PROJECT_DIR", str(tmp_path))
    monkeypatch.delenv("MOODLE_ENDPOINTS_FILE", raising=False)
    demo_server.reset_calls()
    return tmp_path


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def db_path(tmp_path: Path) -> Path:
    return tmp_path / "db" / "warehouse.duckdb"
