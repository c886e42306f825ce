"""Sites as a Dagster partition dimension, and where each site's own DuckDB file lives.

With a sites file, every Moodle asset is partitioned by site: a static partition per site
of the file. Static, not dynamic: the file is the one place sites are declared (and checked
by ``moodle-assets sites check``); adding a site is an edit and a reload of the code
location (the UI's "Reload", or the next start of ``dagster dev``), not a redeploy, and the
UI then shows the new site's partitions as never materialised. A dynamic dimension would
let a site be added by an API call that the file would not show. Time-partitioned assets
(calendar_events) are partitioned by site x day.

Each site is harvested by the single-site engine into its own file, ``sites/<name>.duckdb``
beside the shared warehouse: its incremental items, load history and errors stay its own,
and two sites' runs never write the same file. After each load the site's rows are
published to the shared warehouse (:mod:`moodle_assets.warehouse.publish`), where every
table has a ``site`` column.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from dagster import MultiPartitionKey, MultiPartitionsDefinition, PartitionsDefinition, StaticPartitionsDefinition

from moodle_assets.assets.partitions import partitions_for
from moodle_assets.endpoints.spec import EndpointSpec
from moodle_assets.project import project_path
from moodle_assets.warehouse.paths import is_local_file, resolve_local_path

from .config import Sites

SITE_DIMENSION = "site"
DAY_DIMENSION = "day"


def site_partitions(sites: Sites) -> StaticPartitionsDefinition:
    return StaticPartitionsDefinition([s.name for s in sites.sites])


def partitions_for_spec(spec: EndpointSpec, sites: Sites) -> PartitionsDefinition:
    """Site, or site x day for an endpoint with time partitions."""
    if spec.partition is None:
        return site_partitions(sites)
    return MultiPartitionsDefinition(
        {SITE_DIMENSION: site_partitions(sites), DAY_DIMENSION: partitions_for(spec.partition)}
    )


class SiteRunError(ValueError):
    """A run's partitions do not name exactly one site."""


def site_of(keys: Sequence[str | MultiPartitionKey]) -> tuple[str, list[str] | None]:
    """The one site a run's partition keys name, and its days (None for site-only partitions).

    A run covers one site: its token, its file and its in-flight limit are the site's. A
    backfill of several sites is one run per site (Dagster's default for these partitions).
    """
    if not keys:
        raise SiteRunError("this run has no site partition: pick a site (or a backfill of sites) to materialise")
    sites, days = set(), []
    for key in keys:
        if isinstance(key, MultiPartitionKey):
            sites.add(key.keys_by_dimension[SITE_DIMENSION])
            days.append(key.keys_by_dimension[DAY_DIMENSION])
        else:
            sites.add(str(key))
    if len(sites) != 1:
        raise SiteRunError(
            f"one run loads one site, this one has {len(sites)} ({', '.join(sorted(sites))}): launch a backfill, "
            "which runs each site separately"
        )
    return sites.pop(), (sorted(set(days)) if days else None)


def site_file(shared_path: str, site: str) -> str:
    """``sites/<site>.duckdb`` beside a local shared warehouse, else in the project's data folder."""
    if is_local_file(shared_path):
        folder = Path(resolve_local_path(shared_path)).parent / "sites"
    else:  # MotherDuck (md:) or in memory: the sites' working files stay on this machine
        folder = project_path("data") / "sites"
    return str(folder / f"{site}.duckdb")
