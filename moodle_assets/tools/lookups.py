"""Lookup values for a sample call: from ``--lookup``, else from the warehouse, else an error.

A sample needs only the first value (or the first few, for an array parameter). Values
the user gives win, because they say exactly what to try; otherwise the upstream table in
DuckDB is read (read-only, and only if its file exists, so nothing is ever created); when
neither is there, the error names both ways out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from moodle_assets.endpoints.runner import LookupQuery, Resolved, lookup_sql
from moodle_assets.warehouse import Warehouse

SCHEMA = "moodle"


class LookupUnavailable(LookupError):
    """No value for a lookup: the message says to materialise the upstream asset or pass --lookup."""


def _from_flags(query: LookupQuery, given: Mapping[str, list[Any]], limit: int) -> list[dict] | None:
    keys = [f"{query.asset}.{c}" for c in query.columns]
    if not all(k in given for k in keys):
        return None
    depth = min(min(len(given[k]) for k in keys), limit)
    return [{c: given[f"{query.asset}.{c}"][i] for c in query.columns} for i in range(depth)]


def _from_warehouse(query: LookupQuery, warehouse: Warehouse, deps: tuple[str, ...], limit: int) -> list[dict] | None:
    tables = [f"{SCHEMA}.{d}" for d in deps] if query.sql else [f"{SCHEMA}.{query.asset}"]
    if not all(warehouse.table_exists(t) for t in tables):
        return None
    if query.sql is None:
        table = tables[0]
        present = {row[0] for row in warehouse.query(f"DESCRIBE {table}")}
        missing = [c for c in query.columns if c not in present]
        if missing:
            raise LookupUnavailable(
                f"table {table} in {warehouse.path} has no column {', '.join(missing)} "
                f"(it has {', '.join(sorted(present))}); fix the lookup or pass --lookup "
                + " ".join(f"{query.asset}.{c}=VALUE" for c in query.columns)
            )
    return warehouse.query_dicts(*lookup_sql(query, limit))


def sample_rows(
    resolved: Resolved, query: LookupQuery, given: Mapping[str, list[Any]], warehouse: Warehouse | None, limit: int
) -> tuple[list[dict], str]:
    """Up to ``limit`` lookup rows for one sample call, and where they came from."""
    rows = _from_flags(query, given, limit)
    if rows is not None:
        return rows, "--lookup"
    deps = resolved.spec.lookup.deps if resolved.spec.lookup else ()
    if warehouse is not None:
        rows = _from_warehouse(query, warehouse, deps, limit)
        if rows:
            source = "the lookup query" if query.sql else f"{SCHEMA}.{query.asset}"
            return rows, f"{source} in {warehouse.path}"
        if rows is not None:
            raise LookupUnavailable(
                f"{resolved.spec.name} needs {', '.join(f'{query.asset}.{c}' for c in query.columns)}, "
                f"but {'the lookup query returns' if query.sql else f'{SCHEMA}.{query.asset} has'} no rows "
                f"in {warehouse.path}; pass " + " ".join(f"--lookup {query.asset}.{c}=VALUE" for c in query.columns)
            )
    upstream = ", ".join(f"{SCHEMA}/{d}" for d in (deps if query.sql else (query.asset,)))
    raise LookupUnavailable(
        f"{resolved.spec.name} needs values of "
        + ", ".join(f"{query.asset}.{c}" for c in query.columns)
        + f": materialise asset {upstream} first, or pass "
        + " ".join(f"--lookup {query.asset}.{c}=VALUE" for c in query.columns)
    )
