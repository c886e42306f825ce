"""The sampled rows as in-memory tables, and which samples an asset is made from."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import duckdb

from moodle_assets.common import KEY_PREFIX, quote_identifier
from moodle_assets.endpoints.lookups import QUERY
from moodle_assets.endpoints.runner import LookupQuery, lookup_sql
from moodle_assets.endpoints.spec import EndpointSpec
from moodle_assets.warehouse.column_types import JSON, VARCHAR, type_of, widen

# ------------------------------------------------------------------ samples


def data_upstream(spec: EndpointSpec) -> tuple[str, ...]:
    """The assets whose rows this one's calls are made from (lookups, an explode's parent)."""
    fan_out = spec.fan_out
    names = [asset for asset in (fan_out.assets if fan_out else ()) if asset != QUERY]
    if spec.lookup:
        names.extend(spec.lookup.deps)
    if spec.explode:
        names.append(spec.explode.asset)
    return tuple(dict.fromkeys(names))


def pick_user(records: Sequence[Mapping[str, Any]], me: Any) -> dict | None:
    """A user to sample per-user functions with: a student, never the token's own user (a
    function asked about its caller checks nothing) nor the guest."""
    others = [
        dict(r)
        for r in records
        if isinstance(r, Mapping) and r.get("id") not in (None, me) and r.get("username") != "guest"
    ]
    students = [
        r
        for r in others
        if any(isinstance(role, Mapping) and role.get("shortname") == "student" for role in r.get("roles") or [])
    ]
    return (students or others or [None])[0]


def _cell(value: Any, column_type: str | None) -> Any:
    """A value as its column takes it: nested values as JSON text, widened scalars as text."""
    if value is None:
        return None
    if column_type == JSON:
        return json.dumps(value)
    if column_type == VARCHAR and not isinstance(value, str):
        return json.dumps(value) if isinstance(value, (list, dict, bool)) else str(value)
    return value


class SampleTables:
    """The sampled rows as tables ``moodle.<asset>`` of an in-memory DuckDB, so the lookups of
    later samples are read with the runner's own lookup SQL (:func:`lookup_sql`), as a harvest
    reads them from the warehouse. Scalars become typed columns and nested values JSON, as in
    the warehouse; declared column types are kept for tables that stay empty."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict]] = {}
        self._con = duckdb.connect(":memory:")
        self._con.execute("CREATE SCHEMA moodle")

    def close(self) -> None:
        self._con.close()

    def get(self, asset: str) -> list[dict]:
        return self.rows.get(asset) or []

    def put(self, asset: str, records: list[dict], declared: Mapping[str, str] | None = None) -> None:
        self.rows[asset] = records
        types: dict[str, str | None] = {k: str(v).upper() for k, v in (declared or {}).items()}
        for record in records:
            for key, value in record.items():
                types[key] = widen(types.get(key), type_of(value))
        table = f"{KEY_PREFIX}.{quote_identifier(asset)}"
        self._con.execute(f"DROP TABLE IF EXISTS {table}")
        if not types:
            return
        names = list(types)
        self._con.execute(
            f"CREATE TABLE {table} (" + ", ".join(f"{quote_identifier(n)} {types[n] or VARCHAR}" for n in names) + ")"
        )
        if records:
            self._con.executemany(
                f"INSERT INTO {table} VALUES ({', '.join('?' for _ in names)})",
                [[_cell(r.get(n), types[n]) for n in names] for r in records],
            )

    def first_row(self, query: LookupQuery) -> list[dict]:
        """The first lookup row of ``query`` (none when a table it reads has no rows or columns)."""
        sql, params = lookup_sql(query, 1)
        try:
            cursor = self._con.execute(sql, params)
            found = [d[0] for d in cursor.description]
            return [dict(zip(found, row, strict=True)) for row in cursor.fetchall()]
        except duckdb.Error:
            return []
