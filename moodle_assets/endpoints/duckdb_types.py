"""DuckDB's type names, to check a spec's declared column types when it loads (not when a
load first writes the table). No DuckDB import: the endpoints layer knows no database."""

from __future__ import annotations

import re

# DuckDB's type names and aliases (a declared column type is checked when the spec loads).
DUCKDB_TYPES = frozenset(
    """
BIGINT INT8 LONG BIT BITSTRING BLOB BYTEA BINARY VARBINARY BOOLEAN BOOL LOGICAL DATE DECIMAL NUMERIC
DOUBLE FLOAT8 FLOAT FLOAT4 REAL HUGEINT UHUGEINT INTEGER INT4 INT SIGNED INTERVAL JSON SMALLINT INT2 SHORT
TIME TIMETZ TIMESTAMP DATETIME TIMESTAMPTZ TIMESTAMP_S TIMESTAMP_MS TIMESTAMP_NS TINYINT INT1 UBIGINT
UINTEGER USMALLINT UTINYINT UUID VARCHAR CHAR BPCHAR TEXT STRING VARINT
""".split()
) | {"TIMESTAMP WITH TIME ZONE", "TIME WITH TIME ZONE", "DOUBLE PRECISION"}
_SIZED_TYPE_RE = re.compile(
    r"^(DECIMAL|NUMERIC)\(\s*\d+\s*(,\s*\d+\s*)?\)$|^(VARCHAR|CHAR|BPCHAR|TEXT|STRING)\(\s*\d+\s*\)$"
)
_NESTED_TYPE_RE = re.compile(r"^(STRUCT|MAP|UNION|ENUM)\s*\(.*\)$", re.DOTALL)


def is_duckdb_type(text: str) -> bool:
    """Whether ``text`` names a DuckDB type: BIGINT, DECIMAL(10,2), VARCHAR[], STRUCT(a INT), ..."""
    text = " ".join(text.upper().split())
    while (m := re.match(r"^(.*\S)\s*\[\d*\]$", text)) is not None:
        text = m.group(1)
    return text in DUCKDB_TYPES or bool(_SIZED_TYPE_RE.match(text) or _NESTED_TYPE_RE.match(text))
