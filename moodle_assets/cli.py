"""The ``moodle-assets`` command.

``demo`` is the first thing a newcomer runs: it starts the demo Moodle, materialises every
asset into DuckDB through Dagster (recorded in the local Dagster instance, so the runs show
in the UI), then opens the Dagster UI on the result. ``demo-server`` runs only the emulator.
``test`` samples one endpoint and suggests data paths; ``preflight`` checks a site and token
(both in :mod:`moodle_assets.tools`). The demo site and the calendar window it loads are
anchored to the project clock (:mod:`moodle_assets.clock`; ``MOODLE_ASSETS_NOW`` sets it).
"""

from __future__ import annotations

import argparse
import bisect
import logging
import os
import subprocess
import sys
from datetime import date, timedelta

from moodle_assets import clock
from moodle_assets.sites.command import add_sites_parser
from moodle_assets.tools.commands import add_preflight_parser, add_test_parser
from moodle_assets.tools.compare_command import add_compare_parser

DEMO_PORT = 8081
UI_PORT = 3000


def _demo_server(args: argparse.Namespace) -> int:
    from moodle_assets.demo.dataset import DemoConfig
    from moodle_assets.demo.server import serve

    serve(
        host=args.host,
        port=args.port,
        config=DemoConfig(seed=args.seed, scale=args.scale, moodle_version=args.moodle_version),
    )
    return 0


def demo_window(partition_keys: list[str], today: date, days_back: int, days_ahead: int) -> tuple[str, str] | None:
    """The first and last of the (date-named, sorted) partition keys that fall from ``days_back``
    days before ``today`` to ``days_ahead`` days after; None if none does."""
    first = bisect.bisect_left(partition_keys, (today - timedelta(days=days_back)).isoformat())
    last = bisect.bisect_right(partition_keys, (today + timedelta(days=days_ahead)).isoformat()) - 1
    return (partition_keys[first], partition_keys[last]) if first <= last else None


def run_demo_harvest(days_back: int = 100, days_ahead: int = 30) -> None:
    """Run the harvest job: every asset, then the calendar partitions around today.

    Only ``days_back`` days before and ``days_ahead`` after today are loaded (where the demo
    site's events are), however far back the partitions start, so the demo takes the same
    time every year.

    Runs go to the Dagster instance in DAGSTER_HOME, so the UI shows them as
    ``moodle_harvest`` runs with their materialisations and checks.
    """
    from dagster import DagsterInstance

    from moodle_assets.assets.jobs import HARVEST_JOB
    from moodle_assets.definitions import defs

    instance = DagsterInstance.get()
    job = defs.resolve_job_def(HARVEST_JOB)
    graph = defs.resolve_asset_graph()
    keys = sorted(graph.get_all_asset_keys())
    partitioned = [k for k in keys if graph.get(k).partitions_def is not None]
    print("Materialising every asset ...", flush=True)
    result = job.execute_in_process(
        instance=instance, asset_selection=[k for k in keys if k not in partitioned], raise_on_error=False
    )
    if not result.success:
        raise SystemExit("The demo harvest failed; see the run in the Dagster UI or the log above.")
    today = clock.today()
    for key in partitioned:
        partition_keys = graph.get(key).partitions_def.get_partition_keys()
        window = demo_window(partition_keys, today, days_back, days_ahead)
        if window is None:
            print(
                f"No {key.to_user_string()} partitions around {today}: they run {partition_keys[0]} .. "
                f"{partition_keys[-1]}",
                flush=True,
            )
            continue
        start, end = window
        print(f"Materialising {key.to_user_string()} partitions {start} .. {end} in one run ...", flush=True)
        result = job.execute_in_process(
            instance=instance,
            asset_selection=[key],
            raise_on_error=False,
            tags={"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end},
        )
        if not result.success:
            raise SystemExit("The demo calendar backfill failed; see the run in the Dagster UI.")
    # The analytics built in the first run had no calendar yet: rebuild what reads the partitions.
    downstream, todo = set(), [c for key in partitioned for c in graph.get(key).child_keys]
    while todo:
        key = todo.pop()
        if key not in downstream and graph.get(key).partitions_def is None:
            downstream.add(key)
            todo.extend(graph.get(key).child_keys)
    if downstream:
        print(f"Rebuilding {', '.join(k.to_user_string() for k in sorted(downstream))} ...", flush=True)
        if not job.execute_in_process(
            instance=instance, asset_selection=sorted(downstream), raise_on_error=False
        ).success:
            raise SystemExit("Rebuilding the assets built on the calendar failed; see the run in the Dagster UI.")


def _demo(args: argparse.Namespace) -> int:
    from moodle_assets.demo.dataset import DemoConfig, generate
    from moodle_assets.demo.server import DEMO_TOKEN, DemoServer
    from moodle_assets.sites.demo_harvest import demo_dagster_home, demo_sites_command, single_site_demo_notice

    if args.sites is not None:
        return demo_sites_command(args)
    if notice := single_site_demo_notice():
        print(notice, flush=True)

    demo_dagster_home()
    server = DemoServer(generate(DemoConfig(seed=args.seed, scale=args.scale)), port=args.port).start()
    os.environ["MOODLE_URL"] = server.url
    os.environ["MOODLE_TOKEN"] = DEMO_TOKEN
    os.environ.setdefault("MOODLE_DUCKDB_PATH", "data/warehouse.duckdb")
    print(f"Demo Moodle serving at {server.url}", flush=True)
    try:
        run_demo_harvest()
        from moodle_assets.warehouse import Warehouse

        warehouse = Warehouse()
        snapshot = warehouse.refresh_snapshot()
        print(
            f"\nDone: the assets are in {warehouse.path}"
            + (f" (snapshot for SQL clients: {snapshot})" if snapshot else "")
        )
        if args.no_ui:
            return 0
        print(
            f"\nDagster UI: http://127.0.0.1:{args.ui_port}\n"
            "  First click: Lineage (left menu) to see the groups and how they connect; click\n"
            "  moodle/enrolled_users for its row count, schema and preview; moodle/calendar_events ->\n"
            "  Partitions to launch a backfill. docs/ui.md walks through the rest.\n"
            "  Stop with Ctrl-C.\n",
            flush=True,
        )
        ui = subprocess.run(
            [
                sys.executable,
                "-m",
                "dagster",
                "dev",
                "-m",
                "moodle_assets.definitions",
                "-h",
                "127.0.0.1",
                "-p",
                str(args.ui_port),
            ],
            env=os.environ.copy(),
            check=False,
        )
        return ui.returncode
    except KeyboardInterrupt:
        return 0
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="moodle-assets", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo-server", help="Serve the demo Moodle web services on loopback.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=DEMO_PORT)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument(
        "--moodle-version",
        choices=["4.5", "5.0"],
        default="4.5",
        help="The Moodle release the site answers as (default 4.5).",
    )
    p.set_defaults(func=_demo_server)

    p = sub.add_parser("demo", help="Start the demo Moodle, materialise every asset, open the Dagster UI.")
    p.add_argument("--port", type=int, default=0, help="Demo Moodle port (default: any free port).")
    p.add_argument("--ui-port", type=int, default=UI_PORT)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--no-ui", action="store_true", help="Stop after the harvest.")
    p.add_argument(
        "--sites",
        type=int,
        metavar="N",
        help="Serve N demo sites of different sizes (the first of --scale, then smaller) and harvest them all "
        "into one warehouse, data/demo_sites/warehouse.duckdb, with a site column (docs/sites.md).",
    )
    p.set_defaults(func=_demo)

    add_test_parser(sub)
    add_preflight_parser(sub)
    add_sites_parser(sub)
    add_compare_parser(sub)

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
