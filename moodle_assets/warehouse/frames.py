"""Any table, view, model or query of the warehouse as a pandas DataFrame, in one line.

    from moodle_assets.warehouse import read_df
    read_df("analytics.course_overview")
    read_df("SELECT shortname, startdate FROM moodle_t.courses WHERE startdate >= now() - INTERVAL 1 YEAR")

pandas is imported by DuckDB only when a DataFrame is asked for, so the harvest, which never
asks, never pays for it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .paths import is_local_file
from .sql import TableName
from .warehouse import Warehouse

if TYPE_CHECKING:
    import pandas

_TABLE = re.compile(r"[A-Za-z_]\w*\.[A-Za-z_]\w*")


def read_df(
    query: str,
    path: str | None = None,
    params: Sequence[Any] | Mapping[str, Any] | None = None,
    *,
    lock_timeout: float = 30.0,
) -> pandas.DataFrame:
    """``query`` — a ``schema.name`` (``"moodle.courses"``, ``"analytics.course_overview"``) or a
    SELECT — run read-only on the warehouse at ``path`` (default: the project's, as the assets
    use it; the snapshot's path to stay off the writers' file lock) and returned as a DataFrame.
    """
    sql = f"SELECT * FROM {TableName.parse(query).sql}" if _TABLE.fullmatch(query.strip()) else query
    warehouse = Warehouse(path, lock_timeout=lock_timeout)
    if is_local_file(warehouse.path) and not os.path.exists(warehouse.path):
        raise FileNotFoundError(
            f"No warehouse at {warehouse.path}: materialise the assets first "
            "(bash scripts/demo.sh for the demo), or pass the path of yours."
        )
    with warehouse.connect(read_only=True) as con:
        return con.execute(sql, params).df()
