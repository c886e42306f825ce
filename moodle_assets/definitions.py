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


def build_definitions(specs: Sequence[EndpointSpec]) -> Definitions:
    """Every endpoint of ``specs`` and the analytics, with their checks, job, schedule and sensor."""
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


specs = load_specs()

defs = build_definitions(specs)
