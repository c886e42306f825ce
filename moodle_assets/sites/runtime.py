"""One run of one site: its client settings, its own DuckDB file, and the publish after a load.

The single-site engine (:func:`moodle_assets.endpoints.pipeline.harvest_endpoint`) runs
unchanged against the site's own file and the site's own URL and token, so fan-outs read
only that site's upstream rows and incremental refresh keeps that site's items. The shared
warehouse then receives the site's rows of the table, replacing only that site's, in one
transaction (:mod:`moodle_assets.warehouse.publish`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from moodle_assets.assets.partitions import PartitionPlacer, partitions_for
from moodle_assets.endpoints.spec import EndpointSpec
from moodle_assets.moodle import ClientSettings
from moodle_assets.warehouse import Warehouse
from moodle_assets.warehouse.publish import publish_site

from .config import Sites, token_of
from .model import Site
from .partitions import site_file, site_of


class SiteSettingsError(ValueError):
    """The site's token variable is unset, or its settings are unusable."""


def client_settings_for(site: Site, moodle: Any) -> ClientSettings:
    """The site's URL, its token from its own variable and its in-flight limit; timeouts,
    retries and TLS from the run's ``moodle`` resource. The token goes only to this site's URL."""
    try:
        return moodle.client_settings(url=site.url, token=token_of(site), max_concurrency=site.max_concurrency)
    except ValueError as exc:
        raise SiteSettingsError(f"site {site.name}: {exc}") from None


@dataclass
class SiteRun:
    """Where one run of one site reads and writes."""

    site: Site
    warehouse: Warehouse  # the site's own file
    shared: Warehouse  # the warehouse analysts read
    days: list[str] | None
    placer: PartitionPlacer | None
    settings: Callable[[], ClientSettings]

    @classmethod
    def for_run(
        cls, spec: EndpointSpec | None, keys: Sequence, sites: Sites, shared: Warehouse, moodle: Any
    ) -> SiteRun:
        name, days = site_of(keys)
        site = next(s for s in sites.sites if s.name == name)
        placer = None
        if spec is not None and spec.partition is not None and days:
            placer = PartitionPlacer(partitions_for(spec.partition), days)
        own = Warehouse(site_file(shared.path, name), lock_timeout=shared.lock_timeout, snapshot_path=None)

        return cls(site, own, shared, days, placer, lambda: client_settings_for(site, moodle))

    def before_calendar_start(self) -> bool:
        """Every day of this run precedes the site's ``calendar_start``: nothing to load for it."""
        start = self.site.calendar_start
        return bool(start and self.days and all(day < start.isoformat() for day in self.days))

    def publish(self, table: str, partition_column: str | None = None) -> int:
        """The site's rows of ``table`` and its load and error records into the shared warehouse,
        in one transaction."""
        partitions = self.days if partition_column else None
        return publish_site(
            self.warehouse, self.shared, table, self.site.name, partition_column=partition_column, partitions=partitions
        )
