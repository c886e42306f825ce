"""The course dashboard of several sites: one page, one section per site, a site filter.

Built from the shared warehouse after any site's run (it is not partitioned: it shows every
site whose analytics are published). Each site's section is the single-site dashboard of
that site's rows; the filter at the top shows one site or all of them, in the browser, with
no server. Course ids repeat across sites, so nothing is merged across sections; the
cross-site figures are one query (docs/sites.md).
"""

import html

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from moodle_assets.analytics.dashboard import NAME, READS, read_dashboard_data, report_path, write_atomically
from moodle_assets.analytics.factory import GROUP, model_key
from moodle_assets.analytics.models import SCHEMA
from moodle_assets.analytics.report import render, render_body, summary
from moodle_assets.analytics.settings import AnalyticsSettings
from moodle_assets.assets.resources import WarehouseResource
from moodle_assets.warehouse import Warehouse

FILTER_SCRIPT = """<script>
document.getElementById('site-filter').addEventListener('change', function (e) {
  document.querySelectorAll('section.site').forEach(function (s) {
    s.style.display = (!e.target.value || s.dataset.site === e.target.value) ? '' : 'none';
  });
  window.dispatchEvent(new Event('resize'));
});
</script>
"""


def published_sites(warehouse: Warehouse) -> list[str]:
    if not warehouse.table_exists(f"{SCHEMA}.course_overview"):
        return []
    return [r[0] for r in warehouse.query(f"SELECT DISTINCT site FROM {SCHEMA}.course_overview ORDER BY site")]


def render_sites(warehouse: Warehouse, now: int, sites: list[str]) -> tuple[str, dict[str, dict]]:
    """The page and each site's headline figures."""
    sections, headlines, first = [], {}, None
    for i, site in enumerate(sites):
        data = read_dashboard_data(warehouse, now, site)
        first = first or data
        headlines[site] = summary(data)
        name = html.escape(site)
        sections.append(
            f'<section class="site" data-site="{name}"><h2>Site {name}</h2>\n'
            f"{render_body(data, with_plotly=i == 0)}</section>\n"
        )
    options = "".join(f'<option value="{html.escape(s)}">{html.escape(s)}</option>' for s in sites)
    controls = (
        f'<p><label>Site <select id="site-filter"><option value="">every site</option>{options}</select></label></p>\n'
    )
    return render(first, body="".join(sections), controls=controls + FILTER_SCRIPT), headlines


@asset(
    key=AssetKey([SCHEMA, NAME]),
    description="A self-contained HTML report of every site: completion and grades per course, weekly engagement, "
    "learners at risk and assessment results, with a site filter; written to reports/course_dashboard.html "
    "beside the shared warehouse.",
    group_name=GROUP,
    deps=[model_key(name) for name in READS],
    kinds={"html", "plotly"},
)
def site_course_dashboard(
    context: AssetExecutionContext, warehouse: WarehouseResource, analytics: AnalyticsSettings
) -> MaterializeResult:
    wh = warehouse.get()
    sites = published_sites(wh)
    if not sites:
        context.log.warning("No site's analytics are published yet: materialise the analytics of a site first.")
        return MaterializeResult(metadata={"sites": 0})
    page, headlines = render_sites(wh, analytics.now_ts(), sites)
    metadata = {
        "sites": len(sites),
        "summary": MetadataValue.md(
            "| site | courses | at risk |\n|---|---|---|\n"
            + "\n".join(f"| {s} | {h['courses']} | {h['at_risk']} |" for s, h in headlines.items())
        ),
    }
    path = report_path(wh.path)
    if path is None:
        context.log.info(f"{wh.path} is not a local file: the dashboard is not written, only summarised.")
    else:
        write_atomically(path, page)
        metadata["path"] = MetadataValue.path(str(path))
        metadata["report"] = MetadataValue.url(path.as_uri())
    return MaterializeResult(metadata=metadata)
