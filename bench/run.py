"""The benchmark: the project against hand-written harvesters, on a model of a real site.

    .venv/bin/python bench/run.py [--scale 1|10|100] [--quick] [--only-incremental] [--active-share 0.05]
                                  [--user-rounds 3] [--only-user] [--no-user] [--user-executors default]
                                  [--only-scaled-chain [--no-script] [--window-seconds 10]
                                   [--scaled-parts chain,harvest,enrolled]]

``--only-scaled-chain --scale 10|100`` runs only the chain as a user runs it on the scaled
site, probed first and watched throughout (bench/scaled_chain.py); ``--scaled-parts`` adds
the full harvest as the schedule runs it, or the chain's head up to enrolled_users.

Starts the demo Moodle in its own process with the site model (bench/common.py SiteModel:
2 workers x 32-40 ms, calibrated on a small real Moodle 4.5 site) and probes its capacity.

First, the user view (bench/user_view.py): what a user waits for, each side a fresh process
timed from its start (bench/user_side.py: wall, CPU of every process of the run, peak RSS
of the process tree) — the chain and the full ``moodle_harvest`` job launched with the
``dagster`` CLI and the jobs' real executor, a one-call asset, the import of the
definitions, and the chain by a hand-written asyncio script (4 and 8 in flight) and by the
sequential script; alternated over ``--user-rounds`` rounds, medians reported.
``--user-executors`` adds other executors' runs (``multiprocess``: Dagster's default, a
spawned process per step; ``forkserver``). At ``--scale 10`` or ``100`` it adds the chain as a
user runs it on the bigger site, the async script beside it, and DuckDB load time per row.

Then the in-process view, on the same site, each in a child process of its own:

* the project materialising the fan-out chain through Dagster (course_index -> courses ->
  enrolled_users -> activity_completion, quizzes -> quiz_attempts);
* bench/sequential_harvester.py harvesting the same chain one call after another;
* the project materialising every unpartitioned asset ("everything");
* the project's chain at max_concurrency 1, 2, 4, 8 (the default is 4);
* incremental refresh: on a fresh site of the same model (its clock anchored to this
  machine's), a full harvest of the incremental assets and the assets they read from, a
  simulated day of activity by ``--active-share`` (5 %) of the students (bench/site.py
  ``simulate``), the incremental run, and a full harvest of the changed site: calls of the
  incremental run against the full one, and whether their tables are equal.

It prints wall time, HTTP calls by function (counted by the site), calls/s, peak RSS, CPU
seconds, rows per table and whether both harvests hold the same keys, then the targets:
project wall <= 1.15 x floor (calls / measured capacity), calls <= what the data needs,
client CPU <= 3 ms per call, peak RSS flat (+-20 %) from 1x to 10x, default concurrency
close to the best. ``--scale 10`` adds the chain on a 10x site (thousands of course x user
pairs); ``--quick`` leaves out "everything", the sweep and, at 10x, the sequential side.
Results are also written to bench/results/scale{N}.json.

This file holds the options and the order of the runs; each part has its own module:
bench/measure.py (the site as a child process, one measured side against it),
bench/in_process.py (the chain side by side, "everything", the sweep, the chain at 10x),
bench/checks.py (same keys, the calls the data needs), bench/incremental.py (the incremental
refresh) and bench/report.py (the side-by-side table and the targets' verdicts).

Never a timed test: the numbers depend on the machine (the site model shares its CPUs).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.checks import needed_calls  # noqa: E402
from bench.common import SiteModel, model_dict  # noqa: E402
from bench.in_process import chain_1x, chain_10x  # noqa: E402
from bench.incremental import incremental_refresh, print_incremental, report_incremental  # noqa: E402
from bench.measure import Site  # noqa: E402
from bench.probe import sweep as probe_sweep  # noqa: E402
from bench.report import print_targets  # noqa: E402
from bench.scaled_chain import chain_at_scale, only_scaled_chain  # noqa: E402
from bench.user_view import user_view  # noqa: E402

DEMO_TOKEN = "demo-token-admin-0123456789abcdef"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, choices=[1.0, 10.0, 100.0])
    parser.add_argument("--quick", action="store_true", help="skip 'everything', the sweep and the 10x sequential run")
    parser.add_argument("--probe-seconds", type=float, default=3.0)
    parser.add_argument(
        "--active-share",
        type=float,
        default=0.05,
        help="share of students active during the simulated day (incremental measurement)",
    )
    parser.add_argument("--only-incremental", action="store_true", help="run only the incremental measurement")
    parser.add_argument(
        "--rotate", type=int, default=None, help="the incremental run's rotate for every asset (default: the specs')"
    )
    parser.add_argument("--user-rounds", type=int, default=3, help="rounds of the user view (alternated sides)")
    parser.add_argument(
        "--user-executors",
        default="default",
        help="executors of the user view's Dagster runs, the first is the one the targets use "
        "(default = the jobs' own; in_process, multiprocess, forkserver)",
    )
    parser.add_argument("--only-user", action="store_true", help="run only the user view (and the scaled chain)")
    parser.add_argument("--no-user", action="store_true", help="skip the user view")
    parser.add_argument(
        "--only-scaled-chain", action="store_true", help="only the chain as a user runs it at --scale, watched"
    )
    parser.add_argument("--no-script", action="store_true", help="no async script beside the scaled chain")
    parser.add_argument("--window-seconds", type=float, default=10.0, help="the scaled chain's sampling window")
    parser.add_argument(
        "--scaled-parts",
        default="chain",
        help="with --only-scaled-chain, comma-separated: chain (with the script unless --no-script), harvest "
        "(moodle_harvest as the schedule runs it, against calls / capacity), enrolled (the chain up to enrolled_users)",
    )
    args = parser.parse_args()
    model = SiteModel()
    out: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "model": model_dict(model),
        "scale": args.scale,
        "quick": args.quick,
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    print(
        f"site model: {model.workers} workers x {model.service_ms:g}+U(0,{model.jitter_ms:g}) ms "
        f"(nominal {model.nominal_capacity:.1f} calls/s); machine: {os.cpu_count()} CPUs, shared by the site and "
        "the client"
    )
    tmp = tempfile.mkdtemp(prefix="moodle-bench-")
    if args.only_scaled_chain:
        out |= only_scaled_chain(
            lambda: Site(args.scale, model),
            args.scale,
            tmp,
            args.probe_seconds,
            not args.no_script,
            args.window_seconds,
            needed_calls,
            parts := tuple(p.strip() for p in args.scaled_parts.split(",") if p.strip()),
        )
        name = "chain" if parts == ("chain",) else "-".join(parts)
        write_results(out, f"user-{name}-scale{int(args.scale)}")
        return
    if args.only_incremental:
        inc = out["incremental"] = incremental_refresh(model, args.scale, args.active_share, tmp, args.rotate)
        print_incremental(inc, args.active_share)
        print("\n== targets (project)")
        report_incremental(inc)
        suffix = "" if args.rotate is None else f"-rotate{args.rotate}"
        write_results(out, f"incremental-scale{int(args.scale)}{suffix}")
        return
    with Site(1.0, model) as site:
        probe = probe_sweep(site.url, DEMO_TOKEN, (1, 2, 4, 8, 16), args.probe_seconds)
        capacity = max(probe.values())
        out["probe"] = {str(k): round(v, 1) for k, v in probe.items()}
        out["capacity"] = capacity
        print(
            "probe (calls/s by calls in flight): "
            + ", ".join(f"{k}: {v:.1f}" for k, v in probe.items())
            + f"  -> capacity {capacity:.1f} calls/s (real site: ~25 sequential, ~55 at 4 in flight)"
        )

        if not args.no_user:
            out["user"] = user_view(
                site,
                tmp,
                capacity,
                args.user_rounds,
                args.user_executors.split(","),
                harvest=not args.quick or args.only_user,
                sequential=True,
            )
    if args.only_user:
        if args.scale > 1:
            with Site(args.scale, model) as site:
                print(f"\n== user view, fan-out chain, {args.scale:g}x")
                out[f"user_chain{int(args.scale)}"] = chain_at_scale(site, tmp, capacity, f"{args.scale:g}x")
        write_results(out, f"user-scale{int(args.scale)}")
        return
    with Site(1.0, model) as site:
        out |= chain_1x(site, tmp, capacity, args.quick)

    if args.scale > 1 and not args.no_user:
        with Site(args.scale, model) as site:
            print(f"\n== user view, fan-out chain, {args.scale:g}x")
            out[f"user_chain{int(args.scale)}"] = chain_at_scale(site, tmp, capacity, f"{args.scale:g}x")

    if args.scale == 10.0:
        with Site(10.0, model) as site:
            out["chain10"] = chain_10x(site, tmp, capacity, args.quick)

    inc = incremental_refresh(model, 1.0, args.active_share, tmp)
    out["incremental"] = inc
    print_incremental(inc, args.active_share)

    print_targets(out, capacity)
    report_incremental(out["incremental"])

    write_results(out, f"scale{int(args.scale)}{'-quick' if args.quick else ''}")


def write_results(out: dict[str, Any], name: str) -> None:
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    path = results / f"{name}.json"
    path.write_text(json.dumps(out, indent=1, default=str) + "\n")
    print(f"\nresults: {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
