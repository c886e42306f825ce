"""An asset check per asset: can this site's token call the function it needs?

Evaluated from the stored site_info table, so it costs no Moodle call and shows in the UI
which assets will fail before they are run.

Until moodle/site_info has been materialised there is nothing to evaluate from: the checks
of a run that does not include site_info then yield no result, which Dagster records as
*Skipped* (the run stays green), and the run log says to materialise moodle/site_info. A
run that includes site_info evaluates them after it (``additional_deps``).
"""

from collections.abc import Sequence
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    multi_asset_check,
)

from moodle_assets.assets.factory import asset_key
from moodle_assets.assets.resources import WarehouseResource
from moodle_assets.endpoints.availability import unavailable
from moodle_assets.endpoints.spec import EndpointSpec
from moodle_assets.warehouse import Warehouse

SITE_INFO = "site_info"
CHECK_NAME = "function_available"
NOT_EVALUATED = (
    f"not evaluated yet: materialise moodle/{SITE_INFO} (the functions the token's service offers "
    "are read from it), then run this check again"
)


def stored_site_info(warehouse: Warehouse) -> dict[str, Any] | None:
    """The stored site_info row; None before moodle/site_info has been materialised."""
    table = f"moodle.{SITE_INFO}"
    if not warehouse.table_exists(table):
        return None
    rows = warehouse.query_dicts(f"SELECT * FROM {table} LIMIT 1")
    return rows[0] if rows else None


def stored_site_infos(warehouse: Warehouse) -> dict[str, dict[str, Any]]:
    """Each site's stored site_info row by site name (the shared warehouse of several sites)."""
    table = f"moodle.{SITE_INFO}"
    if not warehouse.table_exists(table):
        return {}
    return {row["site"]: row for row in warehouse.query_dicts(f"SELECT * FROM {table} ORDER BY site")}


def build_site_check(specs: Sequence[EndpointSpec], sites: Any = None) -> AssetChecksDefinition:
    """One check per asset, evaluated from the stored site info (no Moodle call).

    With several sites it passes when every site whose site_info is stored offers the
    function, and otherwise names the sites that do not."""
    check_specs = [
        AssetCheckSpec(
            CHECK_NAME,
            asset=asset_key(s.name),
            additional_deps=[asset_key(SITE_INFO)],
            description=(
                "The token's external service offers the function this asset calls (from the stored "
                f"moodle/{SITE_INFO}; skipped until moodle/{SITE_INFO} has been materialised)."
            ),
        )
        for s in specs
        if s.name != SITE_INFO
    ]

    @multi_asset_check(specs=check_specs, name="site_functions_available", can_subset=True)
    def site_functions_available(context: AssetCheckExecutionContext, warehouse: WarehouseResource):
        selected = {k.asset_key for k in context.selected_asset_check_keys}
        wanted = [s for s in specs if s.name != SITE_INFO and asset_key(s.name) in selected]
        if sites is not None:
            yield from per_site_results(wanted, specs, stored_site_infos(warehouse.get()), context)
            return
        site = stored_site_info(warehouse.get())
        if site is None:
            # No result is yielded: Dagster shows the checks as skipped, not failed.
            context.log.warning(
                f"{CHECK_NAME} {NOT_EVALUATED}; skipped for "
                + ", ".join(asset_key(s.name).to_user_string() for s in wanted)
            )
            return
        missing = unavailable(specs, site)
        for spec in wanted:
            function = missing.get(spec.name)
            yield AssetCheckResult(
                asset_key=asset_key(spec.name),
                check_name=CHECK_NAME,
                passed=function is None,
                severity=AssetCheckSeverity.WARN,
                description=(
                    f"Add {function} to the token's external service (Site administration > Server > "
                    "Web services > External services > Functions)."
                    if function
                    else None
                ),
                metadata={"function": spec.function or "(no call)", "moodle_release": str(site.get("release", ""))},
            )

    return site_functions_available


def per_site_results(wanted, specs, infos: dict[str, dict[str, Any]], context):
    """The checks of several sites: a function one site's token lacks fails its asset's check."""
    if not infos:
        context.log.warning(
            f"{CHECK_NAME} {NOT_EVALUATED} (for each site); skipped for "
            + ", ".join(asset_key(s.name).to_user_string() for s in wanted)
        )
        return
    missing = {site: unavailable(specs, info) for site, info in infos.items()}
    for spec in wanted:
        lacking = {site: m[spec.name] for site, m in missing.items() if spec.name in m}
        yield AssetCheckResult(
            asset_key=asset_key(spec.name),
            check_name=CHECK_NAME,
            passed=not lacking,
            severity=AssetCheckSeverity.WARN,
            description=(
                "; ".join(f"site {site}: add {fn} to its token's external service" for site, fn in lacking.items())
                if lacking
                else None
            ),
            metadata={"function": spec.function or "(no call)", "sites": ", ".join(infos)},
        )
