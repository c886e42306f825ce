"""Every query README.md and docs/tables.md show runs on a demo warehouse and returns rows.

The queries are read from the documents themselves: each ```sql block (statement by statement),
the SQL of the one-liners — ``duckdb ... -c "..."``, ``.sql('''...''')`` / ``.sql("...")`` and
``read_df("...")`` — and whole queries in running text (`` `SELECT ...` ``), wherever they appear. They run the way an analyst runs them: on the file
opened directly with ``duckdb.connect`` (no ATTACH), or through ``read_df``.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from moodle_assets.warehouse import read_df

ROOT = Path(__file__).resolve().parents[1]
DOCS = {"README.md": 4, "docs/tables.md": 14}  # document -> at least this many queries in it

_FENCE = re.compile(r"```(\w*)\n(.*?)```", re.DOTALL)
_ONE_LINERS = [
    re.compile(r"\.sql\('''(.*?)'''\)", re.DOTALL),
    re.compile(r'\.sql\("((?:[^"\\]|\\.)*)"\)'),
    re.compile(r'\bduckdb\b[^\n`]*?\s-c\s+"((?:[^"\\]|\\.)*)"'),
    re.compile(r"(?<!`)`((?:SELECT|WITH) [^`]*)`"),  # a whole query in running text
]
_READ_DF = re.compile(r"""read_df\(\s*(['"])(.*?)\1""", re.DOTALL)


def queries(document: str) -> list[tuple[str, str]]:
    """(how it is run, query) for every query the document shows."""
    text = (ROOT / document).read_text(encoding="utf-8")
    found: list[tuple[str, str]] = []
    for lang, body in _FENCE.findall(text):
        if lang == "sql":
            found += [("sql", s.query.strip()) for s in duckdb.extract_statements(body)]
    for pattern in _ONE_LINERS:
        found += [("sql", q.strip()) for q in pattern.findall(text)]
    found += [("read_df", q.strip()) for _, q in _READ_DF.findall(text)]
    return found


def cases() -> list:
    return [
        pytest.param(document, how, query, id=f"{document}:{i}")
        for document in DOCS
        for i, (how, query) in enumerate(queries(document))
    ]


@pytest.mark.parametrize("document", list(DOCS))
def test_the_documents_show_their_queries(document):
    """The extraction finds what the documents show (a query written another way would be missed)."""
    assert len(queries(document)) >= DOCS[document]


@pytest.mark.parametrize(("document", "how", "query"), cases())
def test_every_documented_query_returns_rows(analytics_warehouse, document, how, query):
    if how == "read_df":
        frame = read_df(query, analytics_warehouse.db)
        assert len(frame) > 0, query
        return
    with duckdb.connect(analytics_warehouse.db, read_only=True) as con:
        rows = con.sql(query).fetchall()
    assert rows, query


def test_the_file_opened_directly_has_every_schema(analytics_warehouse):
    """What an analyst sees first: the catalog is named after the file, not like a schema, and
    SHOW ALL TABLES lists the raw tables, their time views and the models."""
    with duckdb.connect(analytics_warehouse.db, read_only=True) as con:
        assert con.sql("SELECT current_database()").fetchall() == [("warehouse",)]
        listed = {(schema, name) for _, schema, name, *_ in con.sql("SHOW ALL TABLES").fetchall()}
        assert con.sql("SELECT count(*) FROM moodle.courses").fetchall()[0][0] > 0
    assert {("moodle", "courses"), ("moodle_t", "courses"), ("analytics", "course_overview")} <= listed


def test_the_documents_name_the_default_files():
    for document in DOCS:
        text = (ROOT / document).read_text(encoding="utf-8")
        named = set(re.findall(r"data/[\w.]+\.duckdb", text)) - {"data/moodle.duckdb"}  # the old default, once
        assert named <= {"data/warehouse.duckdb", "data/warehouse_snapshot.duckdb"}, (document, named)
