"""The course dashboard asset: the analytics tables as one HTML report beside the warehouse.

The report is written next to the DuckDB file (``data/reports/course_dashboard.html`` for
``data/warehouse.duckdb``; a relative warehouse path is taken from the project folder, never the
working directory), atomically, so a browser tab refreshed mid-run never shows half a
page. A MotherDuck (``md:``) or in-memory warehouse has no local folder: the report is then
not written and the asset says so; the summary is still in its metadata.
"""

import os
from pathlib import Path

from dagster import AssetExecutionContext, AssetKey, Failure, MaterializeResult, MetadataValue, asset

from moodle_assets.assets.resources import WarehouseResource
from moodle_assets.warehouse import Warehouse
from moodle_assets.warehouse.paths import is_local_file, resolve_local_path

from .factory import GROUP, model_key
from .models import SCHEMA
from .report import DashboardData, render, summary, summary_markdown
from .settings import AnalyticsSettings

NAME = "course_dashboard"
REPORT_FILE = "course_dashboard.html"
READS = ("course_overview", "engagement_weekly", "at_risk_learners", "assessment_results")


def _table(name: str, site: str | None) -> str:
    """An analytics table, or one site's rows of it (site names are identifiers: moodle_sites.yaml)."""
    if site is None:
        return f"{SCHEMA}.{name}"
    return f"(SELECT * EXCLUDE (site) FROM {SCHEMA}.{name} WHERE site = '{site}')"


def at_risk_sql(site: str | None = None) -> str:
    source = _table("at_risk_learners", site)
    return f"""
SELECT courseid, reason, count(*) AS learners
FROM (SELECT courseid, unnest(reasons) AS reason FROM {source})
GROUP BY ALL
UNION ALL
SELECT courseid, '*', count(*) FROM {source} GROUP BY ALL
ORDER BY 1, 2
"""


def report_path(database_path: str) -> Path | None:
    """Where the report goes for a warehouse path; None when it is not a local file."""
    if not is_local_file(database_path):
        return None
    return Path(resolve_local_path(database_path)).resolve().parent / "reports" / REPORT_FILE


def read_dashboard_data(warehouse: Warehouse, now: int, site: str | None = None) -> DashboardData:
    """The dashboard's rows; with ``site``, that site's share of a shared warehouse of several.

    Fails naming what to materialise first when a model it reads was never built (run alone
    from the UI on a new warehouse), instead of DuckDB's bare catalog error."""
    missing = [name for name in READS if not warehouse.table_exists(f"{SCHEMA}.{name}")]
    if missing:
        keys = ", ".join(f"{SCHEMA}/{name}" for name in missing)
        raise Failure(
            f"{NAME} reads {', '.join(f'{SCHEMA}.{n}' for n in missing)}, which do not exist yet: "
            f"materialise {keys} first (or select them together with this asset)."
        )

    def rows(sql: str) -> list[dict]:
        return warehouse.query_dicts(sql)

    return DashboardData(
        courses=rows(f"SELECT * EXCLUDE (_loaded_at) FROM {_table('course_overview', site)} ORDER BY courseid"),
        weekly=rows(
            f"SELECT * EXCLUDE (_loaded_at) FROM {_table('engagement_weekly', site)} ORDER BY courseid, week_start"
        ),
        at_risk=rows(at_risk_sql(site)),
        assessments=rows(
            f"SELECT * EXCLUDE (_loaded_at, by_state) FROM {_table('assessment_results', site)} "
            "ORDER BY courseid, activity_type DESC, activity_id"
        ),
        now=now,
    )


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


@asset(
    key=AssetKey([SCHEMA, NAME]),
    description="A self-contained HTML report: completion and grades per course, weekly engagement, "
    "learners at risk and assessment results; written to reports/course_dashboard.html beside the warehouse.",
    group_name=GROUP,
    deps=[model_key(name) for name in READS],
    kinds={"html", "plotly"},
)
def course_dashboard(
    context: AssetExecutionContext, warehouse: WarehouseResource, analytics: AnalyticsSettings
) -> MaterializeResult:
    wh = warehouse.get()
    data = read_dashboard_data(wh, analytics.now_ts())
    headline = summary(data)
    metadata = {
        "summary": MetadataValue.md(summary_markdown(data)),
        "courses": headline["courses"],
        "at_risk_learners": headline["at_risk"],
    }
    path = report_path(wh.path)
    if path is None:
        context.log.info(f"{wh.path} is not a local file: the dashboard is not written, only summarised.")
        metadata["report"] = MetadataValue.text("not written: the warehouse is not a local file")
    else:
        write_atomically(path, render(data))
        metadata["path"] = MetadataValue.path(str(path))
        metadata["report"] = MetadataValue.url(path.as_uri())
        metadata["size_kb"] = round(path.stat().st_size / 1024, 1)
    return MaterializeResult(metadata=metadata)
