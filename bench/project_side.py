"""Measured side (a): the project materialises assets through Dagster, in this process.

    python bench/project_side.py URL DB_PATH --assets chain|all|incremental [--max-concurrency 4]
        [--profile OUT.prof] [--rotate N]

``incremental`` is every asset with incremental refresh and the assets they read from.

Prints one ``RESULT {json}`` line: wall and CPU seconds of the materialisation (imports and
asset building excluded), peak RSS of the process, RSS before the run, rows per table and
the client's own call count. Run it as a child process so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import CHAIN, Stopwatch, emit, peak_rss_mb, rss_mb  # noqa: E402


def incremental_closure(specs: list) -> set[str]:
    """The incremental assets and, transitively, every asset they read from."""
    by_name = {s.name: s for s in specs}
    wanted = [s.name for s in specs if s.incremental]
    names: set[str] = set()
    while wanted:
        name = wanted.pop()
        if name in names or name not in by_name:
            continue
        names.add(name)
        wanted.extend(by_name[name].upstream())
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("db")
    parser.add_argument("--assets", choices=["chain", "all", "incremental"], default="chain")
    parser.add_argument("--max-concurrency", type=int, default=None)
    parser.add_argument("--profile", metavar="PATH", help="write a cProfile of the materialisation to PATH")
    parser.add_argument(
        "--rotate", type=int, default=None, help="run config rotate for every incremental asset (default: the specs')"
    )
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.disable(logging.INFO)

    from dagster import materialize

    from moodle_assets.assets.factory import build_endpoint_asset
    from moodle_assets.assets.resources import MoodleResource, WarehouseResource
    from moodle_assets.demo.server import DEMO_TOKEN
    from moodle_assets.endpoints import load_specs
    from moodle_assets.warehouse import Warehouse

    specs = load_specs(include_user=False)
    if args.assets == "chain":
        specs = [s for s in specs if s.name in CHAIN]
    elif args.assets == "incremental":
        specs = [s for s in specs if s.name in incremental_closure(specs)]
    assets = [build_endpoint_asset(s) for s in specs]
    # Partitioned assets (calendar_events) need a partition key: left out of "all".
    kept_specs = [s for s, a in zip(specs, assets, strict=True) if a.partitions_def is None]
    assets = [a for a in assets if a.partitions_def is None]
    moodle_kwargs = {} if args.max_concurrency is None else {"max_concurrency": args.max_concurrency}
    resources = {
        "moodle": MoodleResource(url=args.url, token=DEMO_TOKEN, **moodle_kwargs),
        "warehouse": WarehouseResource(path=args.db, lock_timeout_seconds=10),
    }
    # Dagster's ephemeral instance (its SQLite storage, ~0.5 s of imports and migrations) is
    # made before the clock starts, like the imports: a deployment has its instance already.
    from dagster import DagsterInstance

    run_config = {}
    if args.rotate is not None:
        ops = {
            a.op.name: {"config": {"rotate": args.rotate}}
            for a, s in zip(assets, kept_specs, strict=True)
            if s.incremental
        }
        run_config = {"ops": ops}

    instance = DagsterInstance.ephemeral()
    rss_before = rss_mb()
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
    with Stopwatch() as watch:
        if profiler is not None:
            profiler.enable()
        result = materialize(
            assets, resources=resources, instance=instance, raise_on_error=False, run_config=run_config
        )
        if profiler is not None:
            profiler.disable()
    if profiler is not None:
        profiler.dump_stats(args.profile)
    per_asset = {}
    for event in result.get_asset_materialization_events():
        m = event.materialization
        meta = {k: v.value for k, v in m.metadata.items()}
        per_asset[m.asset_key.path[-1]] = {
            "rows": meta.get("dagster/row_count"),
            "calls": meta.get("api_calls"),
            "seconds": meta.get("duration_s"),
            **{k: meta[k] for k in ("changed_items", "rotated_items", "kept_items") if k in meta},
        }
    step_seconds = {}
    for event in result.all_events:
        if event.event_type_value == "STEP_SUCCESS":
            step_seconds[event.step_key] = round(event.event_specific_data.duration_ms / 1000, 3)
    warehouse = Warehouse(args.db, lock_timeout=10)
    tables = {name: warehouse.query(f"SELECT count(*) FROM moodle.{name}")[0][0] for name in per_asset}
    emit(
        {
            "side": "project",
            "success": result.success,
            "wall": watch.wall,
            "cpu": watch.cpu,
            "peak_rss_mb": peak_rss_mb(),
            "rss_before_mb": rss_before,
            "rows": tables,
            "assets": per_asset,
            "steps": step_seconds,
        }
    )


if __name__ == "__main__":
    main()
