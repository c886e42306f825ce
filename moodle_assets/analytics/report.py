"""Render the course dashboard: one self-contained HTML file from the analytics tables.

Plotly draws the charts and its JavaScript is embedded once in the page, so the file opens
offline, can be mailed or attached to a ticket, and needs no server. The numbers also
appear in a plain HTML table, readable without JavaScript and searchable.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import plotly.graph_objects as go

REASON_LABELS = {"never_accessed": "never opened", "inactive": "inactive", "overdue_work": "overdue work"}


@dataclass
class DashboardData:
    """What the dashboard shows, read from the analytics tables by the asset."""

    courses: list[dict[str, Any]]  # analytics.course_overview rows
    weekly: list[dict[str, Any]]  # analytics.engagement_weekly rows
    at_risk: list[dict[str, Any]]  # per course: courseid, reason, learners
    assessments: list[dict[str, Any]] = field(default_factory=list)  # analytics.assessment_results rows
    now: int = 0


def pct(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{100 * value:.{digits}f}%"


def num(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def at_risk_by_course(data: DashboardData) -> dict[int, int]:
    """Distinct learners at risk per course id (a learner may have several reasons)."""
    totals: dict[int, int] = {}
    for row in data.at_risk:
        if row["reason"] == "*":
            totals[row["courseid"]] = row["learners"]
    return totals


def _figure_html(fig: go.Figure, first: bool) -> str:
    fig.update_layout(margin={"l": 50, "r": 20, "t": 50, "b": 50}, height=360, template="plotly_white")
    return fig.to_html(
        full_html=False, include_plotlyjs=True if first else False, config={"displaylogo": False, "responsive": True}
    )


def figures(data: DashboardData) -> list[go.Figure]:
    """The four charts. Built from plotly's graph objects alone: plotly express and pandas
    would say the two grouped charts in a line each, but importing them costs the dashboard
    step about 0.7 s, at the very end of a nightly harvest, after the last Moodle asset."""
    names = [c["shortname"] for c in data.courses]
    completion = go.Figure(
        go.Bar(
            x=names,
            y=[None if c["completion_rate"] is None else 100 * c["completion_rate"] for c in data.courses],
            text=[pct(c["completion_rate"], 0) for c in data.courses],
            textposition="outside",
        )
    )
    completion.update_layout(title="Course completion rate (%)", yaxis={"range": [0, 105]})

    grades = go.Figure(
        go.Bar(
            x=names,
            y=[c["avg_grade_pct"] for c in data.courses],
            text=[num(c["avg_grade_pct"]) for c in data.courses],
            textposition="outside",
            marker_color="#2a9d8f",
        )
    )
    grades.update_layout(title="Average course grade (0-100)", yaxis={"range": [0, 105]})
    return [completion, grades, _engagement(data), _at_risk(data)]


def _engagement(data: DashboardData) -> go.Figure:
    """A line per course: discussions started + submissions + quiz attempts, week by week."""
    lines: dict[str, list[tuple[str, int]]] = {}
    for row in data.weekly:
        course = row["course_shortname"] if row["course_shortname"] is not None else str(row["courseid"])
        activity = row["discussions_started"] + row["submissions"] + row["quiz_attempts"]
        lines.setdefault(course, []).append((str(row["week_start"]), activity))
    figure = go.Figure(
        [
            go.Scatter(x=[w for w, _ in points], y=[a for _, a in points], mode="lines+markers", name=course)
            for course, points in ((c, sorted(lines[c])) for c in sorted(lines))
        ]
    )
    figure.update_layout(
        title="Weekly engagement: discussions + submissions + quiz attempts",
        xaxis_title="week starting",
        legend_title_text="",
    )
    return figure


def _at_risk(data: DashboardData) -> go.Figure:
    """Grouped bars: learners at risk per course, one bar per reason."""
    short = {c["courseid"]: c["shortname"] for c in data.courses}
    courses: list[str] = []
    by_reason: dict[str, dict[str, int]] = {}
    for row in data.at_risk:
        if row["reason"] == "*":
            continue
        course = short.get(row["courseid"], str(row["courseid"]))
        if course not in courses:
            courses.append(course)
        by_reason.setdefault(REASON_LABELS.get(row["reason"], row["reason"]), {})[course] = row["learners"]
    order = [label for label in REASON_LABELS.values() if label in by_reason]
    order += sorted(set(by_reason) - set(order))
    figure = go.Figure(
        [go.Bar(x=list(by_reason[label]), y=list(by_reason[label].values()), name=label) for label in order]
    )
    figure.update_layout(
        title="Learners at risk, by reason (a learner may have several)",
        barmode="group",
        yaxis_title="learners",
        legend_title_text="",
        xaxis={"categoryorder": "array", "categoryarray": courses},
    )
    return figure


def _charts(data: DashboardData, with_plotly: bool = True) -> list[str]:
    return [_figure_html(fig, first=with_plotly and i == 0) for i, fig in enumerate(figures(data))]


def _course_table(data: DashboardData) -> str:
    risk = at_risk_by_course(data)
    head = (
        "Course",
        "Status",
        "Learners",
        "Active 7 d",
        "Active 30 d",
        "Completion",
        "Avg grade",
        "At risk",
        "Assignments",
        "Quizzes",
    )
    rows = []
    for c in data.courses:
        cells = (
            c["shortname"],
            c["status"],
            c["enrolled_learners"],
            c["active_7d"],
            c["active_30d"],
            pct(c["completion_rate"]),
            num(c["avg_grade_pct"]),
            risk.get(c["courseid"], 0),
            c["assignments"],
            c["quizzes"],
        )
        rows.append(cells)
    return _html_table(head, rows)


def _html_table(head: tuple[str, ...], rows: list[tuple]) -> str:
    """A plain HTML table: the header cells, then one row per tuple of values (escaped)."""
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in cells) + "</tr>" for cells in rows)
    return (
        "<table><thead><tr>"
        + "".join(f"<th>{h}</th>" for h in head)
        + "</tr></thead><tbody>"
        + body
        + "</tbody></table>"
    )


def _assessment_table(data: DashboardData) -> str:
    head = ("Course", "Activity", "Type", "Completed", "Avg score", "Median", "Pass rate", "Late")
    rows = []
    for a in data.assessments:
        cells = (
            a["course_shortname"],
            a["name"],
            a["activity_type"],
            a["completed"],
            num(a["avg_score_pct"]),
            num(a["median_score_pct"]),
            pct(a["pass_rate"]),
            "–" if a["late_submissions"] is None else a["late_submissions"],
        )
        rows.append(cells)
    return _html_table(head, rows)


def summary(data: DashboardData) -> dict[str, Any]:
    """Headline numbers, shared by the page and the asset's markdown metadata."""
    learners = sum(c["enrolled_learners"] for c in data.courses)
    tracked = sum(c["completion_tracked"] for c in data.courses)
    completed = sum(c["completed_learners"] for c in data.courses)
    return {
        "courses": len(data.courses),
        "learners": learners,
        "active_7d": sum(c["active_7d"] for c in data.courses),
        "completion_rate": completed / tracked if tracked else None,
        "at_risk": sum(at_risk_by_course(data).values()),
    }


def summary_markdown(data: DashboardData) -> str:
    s = summary(data)
    risk = at_risk_by_course(data)
    lines = [
        f"**{s['courses']} courses, {s['learners']} learner enrolments, {s['active_7d']} active in 7 days, "
        f"completion {pct(s['completion_rate'])}, {s['at_risk']} at risk.**",
        "",
        "| course | learners | completion | avg grade | at risk |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {c['shortname']} | {c['enrolled_learners']} | {pct(c['completion_rate'])} | "
        f"{num(c['avg_grade_pct'])} | {risk.get(c['courseid'], 0)} |"
        for c in data.courses
    ]
    return "\n".join(lines)


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }
h1 { margin-bottom: 0.2rem; } .muted { color: #666; }
.cards { display: flex; gap: 1rem; margin: 1.5rem 0; flex-wrap: wrap; }
.card { border: 1px solid #ddd; border-radius: 8px; padding: 0.8rem 1.2rem; min-width: 140px; }
.card b { display: block; font-size: 1.6rem; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }
table { border-collapse: collapse; width: 100%; margin: 1rem 0 2rem; font-size: 0.9rem; }
th, td { border-bottom: 1px solid #eee; padding: 0.35rem 0.6rem; text-align: right; }
th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align: left; }
"""


def render_body(data: DashboardData, with_plotly: bool = True) -> str:
    """The cards, tables and charts of one warehouse (or one site's share of it)."""
    s = summary(data)
    cards = [
        ("Courses", s["courses"]),
        ("Learner enrolments", s["learners"]),
        ("Active in 7 days", s["active_7d"]),
        ("Completion", pct(s["completion_rate"])),
        ("At risk", s["at_risk"]),
    ]
    charts = _charts(data, with_plotly)
    return f"""<div class="cards">{"".join(f'<div class="card">{html.escape(k)}<b>{html.escape(str(v))}</b></div>' for k, v in cards)}</div>
<h2>Courses</h2>
{_course_table(data)}
<div class="grid"><div>{charts[0]}</div><div>{charts[1]}</div></div>
<h2>Engagement over time</h2>
{charts[2]}
<h2>Learners at risk</h2>
{charts[3]}
<h2>Assessments</h2>
{_assessment_table(data)}
"""


def render(data: DashboardData, body: str | None = None, controls: str = "") -> str:
    when = datetime.fromtimestamp(data.now, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Course dashboard</title><style>{_STYLE}</style></head>
<body>
<h1>Course dashboard</h1>
<p class="muted">Figures as of {when}, from the analytics tables of the Moodle warehouse.</p>
{controls}{render_body(data) if body is None else body}</body></html>
"""
