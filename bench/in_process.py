"""bench/run.py's in-process view: the project's harvest beside a hand-written sequential one.

The user view times what a user waits for; this view isolates the harvest itself, each side
in a child process of its own on the same site (bench/measure.py), so that the project can be
held to the floor the site's capacity sets, to the calls its data needs and to the sequential
script's keys: the fan-out chain side by side at 1x, every unpartitioned asset
("everything"), the chain at max_concurrency 1, 2, 4, 8 (is the default of 4 close to the
best?), and the chain on a 10x site (does memory stay flat as the site grows?).
"""

from __future__ import annotations

from typing import Any

from bench.checks import compare_keys, needed_calls
from bench.measure import Site, project, sequential
from bench.report import print_side_by_side, rate


def chain_1x(site: Site, tmp: str, capacity: float, quick: bool) -> dict[str, Any]:
    """The chain side by side; unless ``quick``, "everything" and the concurrency sweep."""
    out: dict[str, Any] = {}
    p1 = project(site, f"{tmp}/p1.duckdb")
    s1 = sequential(site, f"{tmp}/s1.duckdb")
    match = compare_keys(f"{tmp}/p1.duckdb", f"{tmp}/s1.duckdb")
    need = needed_calls(f"{tmp}/p1.duckdb")
    out["chain"] = {"project": p1, "sequential": s1, "same_keys": match, "need": need}
    print_side_by_side("fan-out chain, 1x", p1, s1, match, capacity, need)

    if not quick:
        everything = project(site, f"{tmp}/all.duckdb", "all")
        out["everything"] = everything
        print_side_by_side(
            "everything (every unpartitioned asset), 1x, project", everything, None, None, capacity, None
        )
        print("  seconds per asset (step / harvest+load):")
        for name, a in sorted(everything["assets"].items(), key=lambda kv: -(kv[1]["seconds"] or 0)):
            step = everything["steps"].get(f"moodle__{name}", 0)
            print(f"    {name:28s} calls {a['calls'] or 0:5d}  step {step:6.2f}s  asset {a['seconds'] or 0:6.2f}s")

        sweep: dict[int, dict] = {}
        for level in (1, 2, 4, 8):
            sweep[level] = p1 if level == 4 else project(site, f"{tmp}/c{level}.duckdb", concurrency=level)
        out["sweep"] = {str(k): {"wall": v["wall"], "calls": v["calls"], "cpu": v["cpu"]} for k, v in sweep.items()}
        print("\n== concurrency sweep, fan-out chain, 1x (max_concurrency: wall s, calls/s)")
        for level, r in sweep.items():
            print(f"  {level}: {r['wall']:.1f}s  {rate(r):.1f} calls/s  CPU {r['cpu']:.1f}s")
    return out


def chain_10x(site: Site, tmp: str, capacity: float, quick: bool) -> dict[str, Any]:
    """The chain on the 10x site; the sequential side too unless ``quick``."""
    p10 = project(site, f"{tmp}/p10.duckdb")
    s10 = None if quick else sequential(site, f"{tmp}/s10.duckdb")
    match10 = compare_keys(f"{tmp}/p10.duckdb", f"{tmp}/s10.duckdb") if s10 else None
    need10 = needed_calls(f"{tmp}/p10.duckdb")
    print_side_by_side("fan-out chain, 10x", p10, s10, match10, capacity, need10)
    return {"project": p10, "sequential": s10, "same_keys": match10, "need": need10}
