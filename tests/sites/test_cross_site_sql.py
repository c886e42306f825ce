"""The cross-site query of docs/sites.md, on a small hand-made warehouse of two sites.

Each site's analytics.course_overview is written by hand in its own file (as a site's run
leaves it), published to a shared file, and the query from the docs is run on it. The
expected figures are worked out here by hand.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from moodle_assets.warehouse import Warehouse
from moodle_assets.warehouse.publish import publish_site_rows

ROOT = Path(__file__).resolve().parents[2]
# courseid, enrolled_learners, completion_tracked, completed_learners
NORTH = [(2, 10, 8, 4), (3, 5, 5, 5)]
SOUTH = [(2, 20, 10, 1)]  # course 2 again: another site's course 2


def site_file(path: Path, rows) -> Warehouse:
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA analytics")
        con.execute(
            "CREATE TABLE analytics.course_overview (courseid BIGINT, enrolled_learners BIGINT, "
            "completion_tracked BIGINT, completed_learners BIGINT)"
        )
        con.executemany("INSERT INTO analytics.course_overview VALUES (?, ?, ?, ?)", rows)
    return Warehouse(str(path), snapshot_path=None)


def docs_query() -> str:
    text = (ROOT / "docs" / "sites.md").read_text(encoding="utf-8")
    [sql] = [block for block in re.findall(r"```sql\n(.*?)```", text, re.S) if "course_overview" in block]
    return sql


def test_the_docs_cross_site_query_gives_the_hand_worked_figures(tmp_path):
    shared = Warehouse(str(tmp_path / "warehouse.duckdb"), snapshot_path=None)
    publish_site_rows(site_file(tmp_path / "north.duckdb", NORTH), shared, "analytics.course_overview", "north")
    publish_site_rows(site_file(tmp_path / "south.duckdb", SOUTH), shared, "analytics.course_overview", "south")
    rows = shared.query(docs_query())
    # north: 2 courses, 10 + 5 learners, (4 + 5) / (8 + 5) completed; south: 1, 20, 1 / 10
    assert [(site, courses, learners) for site, courses, learners, _ in rows] == [("north", 2, 15), ("south", 1, 20)]
    assert [round(rate, 4) for *_, rate in rows] == [round(9 / 13, 4), 0.1]
