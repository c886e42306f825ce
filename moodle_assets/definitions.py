"""The Definitions object Dagster loads (``dagster dev -m moodle_assets.definitions``, from any folder).

The user's ``moodle_endpoints.yaml`` (or ``$MOODLE_ENDPOINTS_FILE``) and the warehouse are
found from the project folder (:mod:`moodle_assets.project`), not the working directory, so
the same assets load wherever Dagster was started.
"""

from collections.abc import Sequence

from dagster import Definitions, EnvVar

from moodle_assets.analytics import AnalyticsSettings, analytics_assets, analytics_checks
from moodle_assets.assets.factory import build_endpoint_asset
from moodle_assets.assets.jobs import (
    build_nightly_schedule,
    harvest_job,
    moodle_executor,
    refresh_snapshot_after_harvest,
)
from moodle_assets.assets.resources import MoodleResource, WarehouseResource
from moodle_assets.assets.site_checks import build_site_check
from moodle_assets.endpoints import load_specs
from moodle_assets.endpoints.spec import EndpointSpec
from moodle_assets.sites import Sites, load_sites
from moodle_assets.sites.analytics import site_analytics_assets
from moodle_assets.sites.jobs import build_site_schedules, site_jobs

SITES_URL = "(per site: moodle_sites.yaml)"


def build_definitions(specs: Sequence[EndpointSpec], sites: Sites | None = None) -> Definitions:
    """Every endpoint of ``specs`` and the analytics, with their checks, job, schedule and sensor.

    ``sites`` (a sites file's): every asset is partitioned by site and each run loads one site
    (docs/sites.md). None: the one site of MOODLE_URL / MOODLE_TOKEN, exactly as without sites.
    """
    if sites is None:
        return Definitions(
            assets=[*(build_endpoint_asset(spec, specs) for spec in specs), *analytics_assets],
            asset_checks=[build_site_check(specs), *analytics_checks],
            jobs=[harvest_job],
            executor=moodle_executor,  # steps in the run's process unless run config asks for multiprocess
            schedules=[build_nightly_schedule(specs)],
            sensors=[refresh_snapshot_after_harvest],
            resources={
                "moodle": MoodleResource(url=EnvVar("MOODLE_URL"), token=EnvVar("MOODLE_TOKEN")),
                "warehouse": WarehouseResource(),
                "analytics": AnalyticsSettings(),
            },
        )
    return Definitions(
        assets=[*(build_endpoint_asset(spec, specs, sites) for spec in specs), *site_analytics_assets(sites)],
        asset_checks=[build_site_check(specs, sites), *analytics_checks],  # they count site in keys
        jobs=site_jobs(specs),
        executor=moodle_executor,
        schedules=build_site_schedules(specs, sites),
        sensors=[refresh_snapshot_after_harvest],
        resources={
            # each site's URL and token come from the sites file and the variable it names
            "moodle": MoodleResource(url=SITES_URL, token=""),
            "warehouse": WarehouseResource(),
            "analytics": AnalyticsSettings(),
        },
    )


def configured_sites() -> Sites | None:
    """The sites file's sites; None without a file (the single-site setup)."""
    sites = load_sites()
    return None if sites.implicit else sites


specs = load_specs()

defs = build_definitions(specs, configured_sites())
