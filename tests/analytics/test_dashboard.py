"""The course dashboard: a self-contained HTML file beside the warehouse with the courses'
names and numbers, linked from the asset's metadata."""

from __future__ import annotations

from pathlib import Path

from moodle_assets.analytics.dashboard import report_path
from moodle_assets.analytics.report import num, pct
from tests.conftest import DEMO_NOW

from . import expected


def dashboard_metadata(built) -> dict:
    [event] = [
        e
        for e in built.result.get_asset_materialization_events()
        if e.materialization.asset_key.path == ["analytics", "course_dashboard"]
    ]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def test_report_is_written_beside_the_warehouse_and_linked(built):
    path = Path(built.db).parent / "reports" / "course_dashboard.html"
    meta = dashboard_metadata(built)
    assert meta["path"] == str(path.resolve())
    assert meta["report"] == path.resolve().as_uri()
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "</html>" in page
    # Self-contained: plotly.js is embedded, nothing is fetched from a CDN.
    assert "plotly.js v" in page and '<script src="http' not in page


def test_report_shows_each_course_with_its_numbers(built):
    page = (Path(built.db).parent / "reports" / "course_dashboard.html").read_text(encoding="utf-8")
    for shortname in ("DS101", "CS201", "CS305"):
        cid = expected.course_id(built.data, shortname)
        course = expected.course(built.data, cid, DEMO_NOW)
        at_risk = len(expected.at_risk(built.data, cid, DEMO_NOW))
        row = (
            f"<tr><td>{shortname}</td><td>running</td><td>{course['enrolled_learners']}</td>"
            f"<td>{course['active_7d']}</td><td>{course['active_30d']}</td>"
            f"<td>{pct(course['completion_rate'])}</td><td>{num(course['avg_grade_pct'])}</td><td>{at_risk}</td>"
        )
        assert row in page, shortname


def test_summary_markdown_in_metadata(built):
    meta = dashboard_metadata(built)
    cid = expected.course_id(built.data, "CS201")
    course = expected.course(built.data, cid, DEMO_NOW)
    at_risk = len(expected.at_risk(built.data, cid, DEMO_NOW))
    line = (
        f"| CS201 | {course['enrolled_learners']} | {pct(course['completion_rate'])} | "
        f"{num(course['avg_grade_pct'])} | {at_risk} |"
    )
    assert line in meta["summary"]
    assert meta["courses"] == 3


def test_report_path_only_for_local_files(tmp_path):
    assert report_path(str(tmp_path / "warehouse.duckdb")) == tmp_path / "reports" / "course_dashboard.html"
    assert report_path("md:moodle") is None
    assert report_path(":memory:") is None
