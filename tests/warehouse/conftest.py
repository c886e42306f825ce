"""Fixtures for warehouse tests: real DuckDB files under tmp_path."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

from moodle_assets.warehouse import StagedRecords, Warehouse


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    return Warehouse(str(tmp_path / "data" / "warehouse.duckdb"), lock_timeout=5.0)


@pytest.fixture
def stage(tmp_path: Path):
    """Build StagedRecords in tmp_path and close them all at the end of the test."""
    created: list[StagedRecords] = []

    def build(
        records: Iterable[Mapping[str, Any]] = (), context: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> StagedRecords:
        staged = StagedRecords(staging_dir=tmp_path, **kwargs)
        created.append(staged)
        staged.add(records, context=context)
        return staged

    yield build
    for staged in created:
        staged.close()
