"""The analytics models when sites are a partition dimension.

Each model is built per site, in the site's own file, by the same SQL a single site uses (so
course and user ids never meet another site's), and its rows are published to the shared
warehouse with a ``site`` column: ``analytics.course_overview`` there holds every site, and
a cross-site view (courses, learners, completion per site) is one GROUP BY site. The checks
read the shared tables and count ``site`` as part of every key.

The HTML course dashboard reads the shared warehouse: one section per site and a site filter
(:mod:`.dashboard`).
"""

from __future__ import annotations

from dataclasses import dataclass

from dagster import AssetExecutionContext, Failure, MaterializeResult

from moodle_assets.analytics.factory import build_model_asset, materialize_model
from moodle_assets.analytics.models import MODELS, Model
from moodle_assets.analytics.settings import AnalyticsSettings
from moodle_assets.warehouse import Warehouse, WarehouseLockedError
from moodle_assets.warehouse.publish import PublishError

from .config import Sites
from .partitions import SiteRunError
from .runtime import SiteRun


@dataclass
class _OwnFile:
    """Stands in for the warehouse resource: the site's own file."""

    warehouse: Warehouse

    def get(self) -> Warehouse:
        return self.warehouse


def materialize_site_model(
    model: Model, context: AssetExecutionContext, warehouse_res, settings: AnalyticsSettings, sites: Sites
) -> MaterializeResult:
    try:
        run = SiteRun.for_run(None, context.partition_keys, sites, warehouse_res.get(), None)
    except SiteRunError as exc:
        raise Failure(f"analytics/{model.name}: {exc}") from None
    result = materialize_model(model, context, _OwnFile(run.warehouse), settings)
    try:
        rows = run.publish(model.table)
    except (WarehouseLockedError, PublishError) as exc:
        raise Failure(f"analytics/{model.name}: publishing site {run.site.name}: {exc}") from None
    context.log.info(f"{model.name}: {rows} rows of site {run.site.name} published to {run.shared.path}")
    return result


def site_analytics_assets(sites: Sites) -> list:
    from .dashboard import site_course_dashboard

    return [*(build_model_asset(model, sites) for model in MODELS), site_course_dashboard]
