"""The small type lattice records are mapped onto.

Moodle answers in JSON, so every value is a bool, number, string, null, object or list.
Scalars become typed columns; objects and lists become DuckDB ``JSON`` so nothing is lost.
When a field changes type between records (or between loads) the column widens along
BOOLEAN < BIGINT < DOUBLE < VARCHAR < JSON instead of failing: every type on the chain
can hold the text of the ones before it, and JSON can hold any value at all.
"""

from __future__ import annotations

from typing import Any

BOOLEAN = "BOOLEAN"
BIGINT = "BIGINT"
DOUBLE = "DOUBLE"
VARCHAR = "VARCHAR"
JSON = "JSON"

LATTICE: tuple[str, ...] = (BOOLEAN, BIGINT, DOUBLE, VARCHAR, JSON)
_RANK = {name: rank for rank, name in enumerate(LATTICE)}

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def type_of(value: Any) -> str | None:
    """DuckDB type for one Python value decoded from JSON; None for null (no information).

    Integers beyond int64 become VARCHAR: DOUBLE would round them, and the staged JSON text
    keeps every digit, which DuckDB copies verbatim into a VARCHAR column.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int):
        return BIGINT if INT64_MIN <= value <= INT64_MAX else VARCHAR
    if isinstance(value, float):
        return DOUBLE
    if isinstance(value, str):
        return VARCHAR
    if isinstance(value, (dict, list, tuple)):
        return JSON
    return VARCHAR


def widen(current: str | None, new: str | None) -> str | None:
    """The narrowest type that holds values of both types.

    Types outside the lattice (a column someone created by hand as INTEGER or TIMESTAMP)
    only meet themselves; anything else widens them to VARCHAR, or JSON if one side is JSON.
    """
    if current is None:
        return new
    if new is None or new == current:
        return current
    if current in _RANK and new in _RANK:
        return current if _RANK[current] >= _RANK[new] else new
    return JSON if JSON in (current, new) else VARCHAR


def normalise_declared(type_name: str) -> str:
    """Validate a caller-declared column type (``courseid BIGINT``) against the lattice."""
    upper = type_name.strip().upper()
    aliases = {
        "INTEGER": BIGINT,
        "INT": BIGINT,
        "INT64": BIGINT,
        "TEXT": VARCHAR,
        "STRING": VARCHAR,
        "BOOL": BOOLEAN,
        "FLOAT": DOUBLE,
        "FLOAT8": DOUBLE,
    }
    upper = aliases.get(upper, upper)
    if upper not in _RANK:
        raise ValueError(f"Unsupported column type {type_name!r}; use one of {', '.join(LATTICE)}.")
    return upper
