"""One Dagster run in a process of its own, started on a signal, for the concurrent-runs tests.

``python concurrent_run_process.py URL DB MAX_CONCURRENCY harvest``: every unpartitioned asset;
``... calendar FIRST LAST``: a single-run backfill of calendar_events from partition FIRST to
LAST (the tags a backfill of a partition range puts on its run). The token comes from
MOODLE_TOKEN. The process builds its assets, prints ``READY``, waits for a line on stdin,
runs, and prints ``SUCCESS`` or ``FAILURE`` with the step failures.
"""

from __future__ import annotations

import sys

from dagster import EnvVar, materialize

from moodle_assets.assets.factory import build_endpoint_asset
from moodle_assets.assets.resources import MoodleResource, WarehouseResource
from moodle_assets.endpoints import load_specs

CALENDAR = "calendar_events"
# One call per course, so the backfill keeps several calls in flight like a fan-out.
CALENDAR_CONFIG = {"course_batch": 1}


def run_config(mode: str) -> dict:
    return {"ops": {f"moodle__{CALENDAR}": {"config": CALENDAR_CONFIG}}} if mode == "calendar" else {}


def assets_for(mode: str):
    specs = load_specs(include_user=False)
    if mode == "calendar":
        return [build_endpoint_asset(s, specs) for s in specs if s.name == CALENDAR]
    return [build_endpoint_asset(s, specs) for s in specs if s.partition is None]  # the catalog, as definitions


def range_tags(first: str, last: str) -> dict[str, str]:
    return {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}


def main(url: str, db: str, max_concurrency: str, mode: str, *partitions: str) -> int:
    assets = assets_for(mode)
    res = {
        "moodle": MoodleResource(
            url=url, token=EnvVar("MOODLE_TOKEN"), max_concurrency=int(max_concurrency), timeout_seconds=30
        ),
        "warehouse": WarehouseResource(path=db, lock_timeout_seconds=30),
    }
    print("READY", flush=True)
    sys.stdin.readline()
    result = materialize(
        assets,
        resources=res,
        run_config=run_config(mode),
        tags=range_tags(*partitions) if partitions else None,
        raise_on_error=False,
    )
    failures = [f"{e.step_key}: {e.event_specific_data.error.message}" for e in result.all_events if e.is_step_failure]
    print("SUCCESS" if result.success else "FAILURE " + " | ".join(failures), flush=True)
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
