"""An asset check per asset: can this site's token call the function it needs?

Evaluated from the stored site_info table, so it costs no Moodle call and shows in the UI
which assets will fail before they are run.
"""

from typing import Sequence

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetChecksDefinition,
    multi_asset_check,
)

from moodle_assets.assets.factory import asset_key
from moodle_assets.assets.resources import WarehouseResource
from moodle_assets.endpoints.availability import unavailable
from moodle_assets.endpoints.spec import EndpointSpec

SITE_INFO = "site_info"
CHECK_NAME = "function_available"


def build_site_check(specs: Sequence[EndpointSpec]) -> AssetChecksDefinition:
    """One check per asset, evaluated from the stored site info (no Moodle call)."""
    check_specs = [
        AssetCheckSpec(
            CHECK_NAME, asset=asset_key(s.name), additional_deps=[asset_key(SITE_INFO)],
            description="The token's external service offers the function this asset calls (from site_info).",
        )
        for s in specs
        if s.name != SITE_INFO
    ]

    @multi_asset_check(specs=check_specs, name="site_functions_available", can_subset=True)
    def site_functions_available(context: AssetCheckExecutionContext, warehouse: WarehouseResource):
        rows = warehouse.get().query_dicts(f"SELECT functions, release FROM moodle.{SITE_INFO}")
        site = rows[0] if rows else {}
        missing = unavailable(specs, site)
        selected = context.selected_asset_check_keys
        for spec in specs:
            if spec.name == SITE_INFO:
                continue
            key = asset_key(spec.name)
            if not any(k.asset_key == key for k in selected):
                continue
            function = missing.get(spec.name)
            yield AssetCheckResult(
                asset_key=key, check_name=CHECK_NAME, passed=function is None,
                severity=AssetCheckSeverity.WARN,
                description=(
                    f"Add {function} to the token's external service (Site administration > Server > "
                    "Web services > External services > Functions)." if function else None
                ),
                metadata={"function": spec.function or "(no call)", "moodle_release": str(site.get("release", ""))},
            )

    return site_functions_available
