"""DuckDB storage for harvested records: staging, atomic loads, lookups, snapshots.

Knows DuckDB and nothing of Moodle or Dagster, so it can be tested (and reused) alone.
"""

from .frames import read_df
from .locking import WarehouseLockedError
from .notes import TableNotes
from .paths import resolve_database_path
from .staging import StagedRecords
from .warehouse import LoadResult, MissingTableError, Warehouse

__all__ = [
    "LoadResult",
    "MissingTableError",
    "StagedRecords",
    "TableNotes",
    "Warehouse",
    "WarehouseLockedError",
    "read_df",
    "resolve_database_path",
]
