"""The fan-out chain as a user runs it on a scaled site, watched throughout.

    .venv/bin/python bench/run.py --only-scaled-chain --scale 10|100 [--no-script]

A requirement asks, at 10x and 100x, for calls/s >= 90 % of the site's capacity
*throughout* the chain, peak RSS <= 300 MB not growing with the site's size beyond one
load's staging, and DuckDB load time linear in rows. One figure per run (calls / wall)
cannot say "throughout": a run can average 85 % with a stretch at 50 %, and a peak RSS
cannot say whether memory grows with the rows harvested. So while the command runs:

* a thread polls the site's ``count`` (bench/site.py: calls received so far, stamped with
  the machine's monotonic clock) every ``POLL`` seconds; calls per ``--window-seconds``
  window (10 s) are interpolated from those samples on a grid that starts at the command's
  start, and given as a share of the capacity probed on this same site just before
  (bench/probe.py); the first and last window (process start, the last step's tail) are
  left out of the summary (min, median, share of windows >= 90 %);
* bench/user_side.py records the process tree's largest RSS per window on the same grid;
* Dagster's event log gives each step's span, so a low window or the RSS peak can be put
  on a step.

The site's own RSS and CPU per window come from the same samples (it keeps every call it
received). Then, unless ``--no-script``, the hand-written async script (8 in flight) the
same way, as the yardstick of what the site and this machine allow; the capacity probed
again (4 and 8 in flight) to see whether it drifted during the long run; and DuckDB load
time per table (bench/load_time.py). Results: bench/results/user-chain-scale{N}.json; a
results file of the other scale, when present, is read for the RSS and load comparisons.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from bench.common import parse_result
from bench.probe import sweep as probe_sweep
from bench.user_view import CHAIN_SELECTION, DEMO_TOKEN, ROOT, UserView

POLL = 1.0
WINDOW = 10.0
TARGET_SHARE = 0.90
TARGET_RSS_MB = 300.0
TIMEOUT = 4 * 3600  # the chain at 100x takes ~40 minutes; a hung run still ends


class SharedSite:
    """A bench/measure.py ``Site`` whose stdin commands come from two threads: the measured run's
    (reset, stats) and the call sampler's (count)."""

    def __init__(self, site: Any) -> None:
        self._site, self.url, self._lock = site, site.url, threading.Lock()

    def command(self, name: str) -> dict:
        with self._lock:
            return self._site.command(name)


class CallSampler(threading.Thread):
    """The site's ``count`` every ``POLL`` seconds: (site clock, calls so far, site RSS MB, site
    CPU s), and how long each answer took (the site must stay responsive while it serves)."""

    def __init__(self, site: SharedSite) -> None:
        super().__init__(daemon=True)
        self.site, self.stop = site, threading.Event()
        self.samples: list[tuple[float, int, float, float]] = []
        self.answer_ms: list[float] = []

    def run(self) -> None:
        while True:
            asked = time.perf_counter()
            count = self.site.command("count")
            self.answer_ms.append(1000 * (time.perf_counter() - asked))
            self.samples.append((count["t"], count["calls"], count["rss_mb"], count["cpu"]))
            if self.stop.wait(POLL):
                count = self.site.command("count")  # one sample after the command ended
                self.samples.append((count["t"], count["calls"], count["rss_mb"], count["cpu"]))
                return


def _at(samples: list[tuple[float, int, float, float]], t: float, column: int = 1) -> float:
    """A sampled column at time ``t``, linear between the samples around it."""
    if t <= samples[0][0]:
        return samples[0][column]
    for (t0, *a), (t1, *b) in zip(samples, samples[1:], strict=False):
        if t0 <= t <= t1:
            v0, v1 = a[column - 1], b[column - 1]
            return v0 + (v1 - v0) * (t - t0) / (t1 - t0) if t1 > t0 else v1
    return samples[-1][column]


def watch(sampler: CallSampler, result: dict[str, Any], capacity: float, window: float) -> dict[str, Any]:
    """Calls/s per window (and the site's RSS), the tree's RSS per window, each step's share."""
    t0, samples = result["started_monotonic"], sampler.samples
    end = t0 + result["wall"]
    edges = [t0 + k * window for k in range(math.ceil(result["wall"] / window))] + [end]
    rates, site_rss = [], []
    for a, b in zip(edges, edges[1:], strict=False):
        rates.append((_at(samples, b) - _at(samples, a)) / (b - a))
        inside = [s[2] for s in samples if a <= s[0] <= b]
        site_rss.append(round(max(inside or [_at(samples, b, 2)]), 1))
    pct = [100 * r / capacity for r in rates]
    inner = pct[1:-1]
    tree = result.get("rss_series", {}).get("rss_mb", [])
    out: dict[str, Any] = {
        "window_s": window,
        "calls_per_s": [round(r, 1) for r in rates],
        "pct_of_capacity": [round(p, 1) for p in pct],
        "inner_windows": len(inner),
        "min_pct": round(min(inner), 1) if inner else None,
        "median_pct": round(statistics.median(inner), 1) if inner else None,
        "share_ge_90": round(sum(p >= 100 * TARGET_SHARE for p in inner) / len(inner), 3) if inner else None,
        "tree_rss_mb": tree,
        "site_rss_mb": site_rss,
        "site_cpu_s": round(_at(samples, end, 3) - _at(samples, t0, 3), 1),
        # the raw samples (seconds and calls since the command's start, site RSS MB), for other windows
        "samples": [[round(t - t0, 2), round(c - _at(samples, t0)), round(rss, 1)] for t, c, rss, _ in samples],
        "count_answer_ms": {
            "median": round(statistics.median(sampler.answer_ms), 2),
            "max": round(max(sampler.answer_ms), 2),
            "samples": len(sampler.answer_ms),
        },
    }
    peak = max(range(len(tree)), key=tree.__getitem__) if tree else -1
    if tree:
        quarter = max(len(tree) // 4, 1)
        out["rss_summary"] = {
            "peak_mb": tree[peak],
            "peak_at_s": peak * window,
            "median_mb": statistics.median(tree),
            "first_quarter_median_mb": statistics.median(tree[:quarter]),
            "last_quarter_median_mb": statistics.median(tree[-quarter:]),
        }
    spans = result.get("events", {}).get("step_spans", {})
    steps = {}
    for step, (first, last) in sorted(spans.items(), key=lambda kv: kv[1][0]):
        a, b = first - result["started_epoch"], last - result["started_epoch"]
        covered = [i for i in range(len(pct)) if i * window < b and (i + 1) * window > a]
        steps[step] = {
            "start_s": round(a, 1),
            "end_s": round(b, 1),
            "median_pct": round(statistics.median(pct[i] for i in covered), 1) if covered else None,
            "max_tree_rss_mb": max((tree[i] for i in covered if i < len(tree)), default=None),
        }
        if peak in covered:
            out["rss_summary"].setdefault("peak_during", []).append(step)
    out["steps"] = steps
    return out


def watched(
    view: UserView, site: SharedSite, capacity: float, window: float, run: Callable[..., dict], dagster: bool
) -> dict:
    """``run(side=..., timeout=...)`` with the call sampler going; its result with ``watch``
    (and, for a Dagster run, its steps from the event log)."""
    sampler = CallSampler(site)
    sampler.start()
    try:
        result = run(side=("--series-seconds", str(window)), timeout=TIMEOUT)
    finally:
        sampler.stop.set()
        sampler.join()
    if dagster:
        result["events"] = view.run_events(result)
    if "rss_series" in result and len(sampler.samples) > 1:
        result["watch"] = watch(sampler, result, capacity, window)
    return result


def print_side(name: str, r: dict[str, Any], capacity: float) -> None:
    w = r.get("watch", {})
    print(
        f"  {name}: wall {r['wall']:.1f}s, {r['calls']} calls, {r['calls'] / r['wall']:.1f} calls/s "
        f"({r['calls'] / r['wall'] / capacity:.0%} of {capacity:.1f}), CPU {r['cpu']:.1f}s, peak RSS "
        f"{r['peak_rss_mb']:.0f} MB (PSS {r['peak_pss_mb']:.0f}, largest process {r['max_process_rss_mb']:.0f})"
        + ("" if r["success"] else "  FAILED"),
        flush=True,
    )
    if not w:
        return
    print(
        f"    calls/s per {w['window_s']:g} s window, first and last left out ({w['inner_windows']} windows): "
        f"min {w['min_pct']}%, median {w['median_pct']}%, {w['share_ge_90']:.0%} of windows >= 90 % of capacity"
    )
    inner = list(enumerate(w["pct_of_capacity"]))[1:-1]
    low = [f"{i * w['window_s']:g}s {p:.0f}%" for i, p in inner if p < 100 * TARGET_SHARE]
    print(f"    windows under 90 % (start: share): {', '.join(low[:20]) or '-'}" + (" ..." if len(low) > 20 else ""))
    if "rss_summary" in w:
        s = w["rss_summary"]
        print(
            f"    tree RSS per window: peak {s['peak_mb']:.0f} MB at {s['peak_at_s']:g}s "
            f"({', '.join(s.get('peak_during', [])) or 'no step'}), median {s['median_mb']:.0f}, "
            f"first quarter {s['first_quarter_median_mb']:.0f} -> last quarter {s['last_quarter_median_mb']:.0f}"
        )
        per_minute = max(int(60 // w["window_s"]), 1)
        tree = w["tree_rss_mb"]
        print(
            "    max RSS per minute: "
            + " ".join(f"{max(tree[i : i + per_minute]):.0f}" for i in range(0, len(tree), per_minute))
        )
    site = w["site_rss_mb"]
    print(
        f"    site: CPU {w['site_cpu_s']}s, RSS {site[0]:.0f} -> {site[-1]:.0f} MB; its count answered in "
        f"{w['count_answer_ms']['median']} ms (max {w['count_answer_ms']['max']})"
    )
    for step, v in w["steps"].items():
        print(
            f"    {step:32s} {v['start_s']:7.1f}-{v['end_s']:7.1f}s  calls/s {v['median_pct']}% (median of its "
            f"windows)  tree RSS max {v['max_tree_rss_mb']} MB"
        )


def load_times(db: str) -> dict[str, Any]:
    """bench/load_time.py on the chain's warehouse: per table rows, staging and load seconds."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "load_time.py"), db],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    if done.returncode != 0:
        print(f"  load times failed:\n{done.stderr[-2000:]}", flush=True)
        return {}
    tables = parse_result(done.stdout)["tables"]
    for table, v in tables.items():
        print(
            f"    load {table:22s} {v['rows']:>8d} rows  stage {v['stage_s']:.3f}s  load {v['load_s']:.3f}s "
            f"({v['load_us_per_row']:.1f} us/row)"
        )
    return tables


def chain_at_scale(
    site: Any, tmp: str, capacity: float, label: str, with_script: bool = True, window: float = WINDOW
) -> dict[str, Any]:
    """The chain as a user runs it on a bigger site, watched; the async script beside it; load times."""
    shared = SharedSite(site)
    view = UserView(shared, tmp)
    out: dict[str, Any] = {}
    db = f"{tmp}/u-chain-{label}.duckdb"
    out["chain"] = watched(
        view,
        shared,
        capacity,
        window,
        lambda **kw: view.materialize(f"chain-{label}", CHAIN_SELECTION, db, **kw),
        dagster=True,
    )
    print_side(f"chain [{label}]", out["chain"], capacity)
    if with_script:
        out["async8"] = watched(
            view,
            shared,
            capacity,
            window,
            lambda **kw: view.script(
                f"async8-{label}", "async_harvester.py", f"{tmp}/u-async8-{label}.duckdb", "--concurrency", "8", **kw
            ),
            dagster=False,
        )
        print_side(f"async 8 [{label}]", out["async8"], capacity)
        print(f"  chain / script wall {out['chain']['wall'] / out['async8']['wall']:.2f}")
    out["load_time"] = load_times(db)
    return out


# The chain's head: enrolled_users is where the biggest courses page one after another.
ENROLLED_SELECTION = "moodle/site_info,moodle/course_index,moodle/courses,moodle/enrolled_users"


def run_at_scale(site: Any, tmp: str, capacity: float, label: str, part: str, window: float = WINDOW) -> dict[str, Any]:
    """``harvest``: the nightly harvest as the schedule runs it (``dagster job execute -j
    moodle_harvest``) against its floor, its own calls at the probed capacity; ``enrolled``: the
    chain's head up to enrolled_users (a few minutes even at 100x). Watched like the chain."""
    shared = SharedSite(site)
    view = UserView(shared, tmp)
    db = f"{tmp}/u-{part}-{label}.duckdb"

    def command(**kw: Any) -> dict[str, Any]:
        if part == "harvest":
            return view.harvest(f"harvest-{label}", db, **kw)
        return view.materialize(f"{part}-{label}", ENROLLED_SELECTION, db, **kw)

    run = watched(view, shared, capacity, window, command, dagster=True)
    print_side(f"{part} [{label}]", run, capacity)
    floor = run["calls"] / capacity
    run["floor_s"], run["wall_over_floor"] = round(floor, 1), round(run["wall"] / floor, 3)
    if part == "harvest":
        verdict = "MET " if run["wall"] <= 1.15 * floor else "MISS"
        print(
            f"  {verdict} harvest <= 1.15 x calls / capacity: {run['wall']:.1f}s / {floor:.1f}s = {run['wall_over_floor']:.2f}"
        )
    return {part: run}


def only_scaled_chain(
    open_site: Callable[[], Any],
    scale: float,
    tmp: str,
    probe_seconds: float,
    with_script: bool,
    window: float = WINDOW,
    need: Callable[[str], dict[str, int]] | None = None,
    parts: tuple[str, ...] = ("chain",),
) -> dict[str, Any]:
    """The whole mode: the scaled site started, probed, the chain (and/or the full harvest)
    watched, the verdicts."""
    out: dict[str, Any] = {"window_s": window}
    started = time.perf_counter()
    with open_site() as site:
        out["site"] = dict(site.info, start_s=round(time.perf_counter() - started, 2))
        print(
            f"site {scale:g}x: dataset generated in {site.info.get('generate_s')}s, ready in "
            f"{out['site']['start_s']}s, RSS {site.info.get('rss_mb')} MB",
            flush=True,
        )
        probe = probe_sweep(site.url, DEMO_TOKEN, (1, 2, 4, 8, 16), probe_seconds)
        capacity = max(probe.values())
        out["probe"], out["capacity"] = {str(k): round(v, 1) for k, v in probe.items()}, capacity
        print("probe: " + ", ".join(f"{k}: {v:.1f}" for k, v in probe.items()) + f" -> capacity {capacity:.1f} calls/s")
        label, chain = f"{scale:g}x", None
        if "chain" in parts:
            print(f"\n== the fan-out chain as a user runs it, {scale:g}x, watched every {window:g} s", flush=True)
            out[f"user_chain{int(scale)}"] = chain = chain_at_scale(site, tmp, capacity, label, with_script, window)
        for part in (p for p in parts if p != "chain"):
            print(f"\n== {part} as a user runs it, {scale:g}x, watched every {window:g} s", flush=True)
            out[f"user_{part}{int(scale)}"] = run_at_scale(site, tmp, capacity, label, part, window)
        after = probe_sweep(site.url, DEMO_TOKEN, (4, 8), probe_seconds)
        out["probe_after"] = {str(k): round(v, 1) for k, v in after.items()}
        out["site_after"] = site.command("count")
        print("probe after the runs: " + ", ".join(f"{k}: {v:.1f}" for k, v in after.items()))
    if chain is None:
        return out
    if need is not None and chain["chain"]["success"]:
        out["need"] = need(f"{tmp}/u-chain-{label}.duckdb")
    verdicts(out, chain, scale)
    return out


def verdicts(out: dict[str, Any], chain: dict[str, Any], scale: float) -> None:
    """The requirement's three parts, with the other scale's results file when there is one."""
    c, w = chain["chain"], chain["chain"].get("watch", {})
    other = 100 if scale == 10 else 10
    path = ROOT / "bench" / "results" / f"user-chain-scale{other}.json"
    before = json.loads(path.read_text()).get(f"user_chain{other}") if path.exists() else None
    print(f"\n== targets, {scale:g}x")
    if w:
        print(
            f"  {'MET ' if w['min_pct'] >= 90 else 'MISS'} calls/s >= 90 % of capacity throughout: min {w['min_pct']}%, "
            f"median {w['median_pct']}%, {w['share_ge_90']:.0%} of {w['inner_windows']} windows"
        )
    line = f"peak RSS <= {TARGET_RSS_MB:.0f} MB: {c['peak_rss_mb']:.0f} MB"
    if before:
        line += f" ({other:g}x: {before['chain']['peak_rss_mb']:.0f} MB)"
    print(f"  {'MET ' if c['peak_rss_mb'] <= TARGET_RSS_MB else 'MISS'} {line}")
    if "need" in out:
        calls = c["server_calls"]
        extra = {f: calls.get(f, 0) - n for f, n in out["need"].items() if calls.get(f, 0) > n}
        print(f"  calls {c['calls']} vs what the data needs {sum(out['need'].values())}; extra {extra or '-'}")
    loads = chain.get("load_time", {})
    if loads:
        print("  load per row (us), this scale" + (f" / {other:g}x" if before else ""))
        for table, v in loads.items():
            then = (before or {}).get("load_time", {}).get(table)
            print(
                f"    {table:22s} {v['rows']:>8d} rows {v['load_s']:.3f}s {v['load_us_per_row']:.1f}"
                + (f"   / {then['rows']} rows {then['load_s']:.3f}s {then['load_us_per_row']:.1f}" if then else "")
            )
