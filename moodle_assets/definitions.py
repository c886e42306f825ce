"""The Definitions object Dagster loads (``dagster dev`` in the project root)."""

from dagster import Definitions, EnvVar

from moodle_assets.analytics import AnalyticsSettings, analytics_assets, analytics_checks
from moodle_assets.assets.factory import build_endpoint_asset
from moodle_assets.assets.jobs import build_nightly_schedule, harvest_job, refresh_snapshot_after_harvest
from moodle_assets.assets.resources import MoodleResource, WarehouseResource
from moodle_assets.assets.site_checks import build_site_check
from moodle_assets.endpoints import load_specs

specs = load_specs()

defs = Definitions(
    assets=[*(build_endpoint_asset(spec, specs) for spec in specs), *analytics_assets],
    asset_checks=[build_site_check(specs), *analytics_checks],
    jobs=[harvest_job],
    schedules=[build_nightly_schedule(specs)],
    sensors=[refresh_snapshot_after_harvest],
    resources={
        "moodle": MoodleResource(url=EnvVar("MOODLE_URL"), token=EnvVar("MOODLE_TOKEN")),
        "warehouse": WarehouseResource(),
        "analytics": AnalyticsSettings(),
    },
)
