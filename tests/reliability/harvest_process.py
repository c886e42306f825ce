"""A materialisation in a process of its own, for tests that SIGKILL it.

``python harvest_process.py URL DB ASSET [pause-in-write]``: the token comes from
MOODLE_TOKEN. With ``pause-in-write`` the process stops inside the load transaction (after the
rows and bookkeeping are written, before COMMIT), prints ``WRITING`` and waits to be killed.
"""

from __future__ import annotations

import os
import sys
import time

from dagster import EnvVar, materialize

from moodle_assets.assets.factory import build_endpoint_asset
from moodle_assets.assets.resources import MoodleResource, WarehouseResource
from moodle_assets.endpoints import load_specs
from moodle_assets.warehouse import bookkeeping


def pause_inside_the_transaction() -> None:
    record_loads = bookkeeping.record_loads

    def record_then_wait(*args, **kwargs):
        record_loads(*args, **kwargs)
        print("WRITING", flush=True)
        time.sleep(120)

    bookkeeping.record_loads = record_then_wait


def main(url: str, db: str, name: str, mode: str = "") -> int:
    if mode == "pause-in-write":
        pause_inside_the_transaction()
    specs = load_specs(include_user=False)
    assets = [build_endpoint_asset(s, specs) for s in specs if s.name == name]
    print("STARTED", os.getpid(), flush=True)
    result = materialize(
        assets,
        resources={
            "moodle": MoodleResource(url=url, token=EnvVar("MOODLE_TOKEN"), max_retries=1, timeout_seconds=10),
            "warehouse": WarehouseResource(path=db, lock_timeout_seconds=10),
        },
        raise_on_error=False,
    )
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
