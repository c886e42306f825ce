"""DuckDB storage for harvested records: staging, atomic loads, lookups, snapshots.

Knows DuckDB and nothing of Moodle or Dagster, so it can be tested (and reused) alone.
"""

from .locking import WarehouseLockedError
from .paths import resolve_database_path
from .staging import StagedRecords
from .warehouse import LoadResult, MissingTableError, Warehouse

__all__ = [
    "LoadResult",
    "MissingTableError",
    "StagedRecords",
    "Warehouse",
    "WarehouseLockedError",
    "resolve_database_path",
]
