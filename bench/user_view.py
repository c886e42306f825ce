"""The benchmark's user view: runs launched as a user launches them, timed from process start.

bench/run.py's first view times ``dagster.materialize`` inside one warm process. What a user
waits for is a fresh process: the CLI (``dagster asset materialize``, ``dagster job
execute``) or the run worker the UI, the schedule and the daemon start, which import
Dagster, load the code location, open the instance, create the run and execute it with the
job's real executor. Each side here is one command under bench/user_side.py (wall from
process start to exit, CPU and memory of every process of the run) against the same site:

* ``import``: ``python -c "import moodle_assets.definitions"`` — the time to load the
  definitions once, the yardstick of a run's fixed cost;
* ``one call``: ``dagster asset materialize --select moodle/site_info`` (one HTTP call);
* ``chain``: ``dagster asset materialize`` of site_info and the fan-out chain;
* ``async N``: bench/async_harvester.py, the same chain by a hand-written asyncio script with
  N calls in flight (4 and 8; the better median is "the async script at its best");
* ``sequential``: bench/sequential_harvester.py from process start;
* ``harvest``: ``dagster job execute -j moodle_harvest`` with the demo day's partition, as
  the nightly schedule runs it (every asset, the analytics and their checks).

Sides are alternated round by round (A B C A B C ...) and medians reported, because the
machine's 2 CPUs are shared. The Dagster instance is a fresh DAGSTER_HOME on disk (SQLite,
as ``dagster dev`` makes), created before the clock starts, as a deployment has it.
``--user-executors`` adds the same chain/harvest/one-call runs under other executors
(``steps1``: in process, one step after another, what runs got before steps ran side by
side; ``multiprocess``: Dagster's default, a spawned process per step; ``forkserver``: forked
from a server that preloaded the project and Dagster's storage) for comparison.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import CHAIN, DEMO_NOW, parse_result

ROOT = Path(__file__).resolve().parent.parent
DEMO_TOKEN = "demo-token-admin-0123456789abcdef"
DAGSTER = str(Path(sys.executable).with_name("dagster"))
MODULE = "moodle_assets.definitions"
CHAIN_SELECTION = ",".join(f"moodle/{name}" for name in ["site_info", *CHAIN])
DAY = datetime.fromtimestamp(DEMO_NOW, UTC).strftime("%Y-%m-%d")
TIMEOUT = 3600

# What the forkserver preloads: the project and the modules a step imports to open a SQLite
# instance (otherwise ~0.9 s per step).
FORKSERVER_PRELOAD = ["dagster._core.executor.multiprocess", MODULE] + [
    f"dagster._core.{name}"
    for name in "instance.factory storage.sqlite_storage storage.runs storage.event_log storage.schedules "
    "storage.local_compute_log_manager run_coordinator scheduler".split()
]
EXECUTORS: dict[str, dict | None] = {
    "default": None,  # the job's own executor, no run config
    "in_process": {"execution": {"config": {"in_process": {}}}},
    "steps1": {"execution": {"config": {"in_process": {"max_concurrent": 1}}}},
    "steps2": {"execution": {"config": {"in_process": {"max_concurrent": 2}}}},
    "multiprocess": {"execution": {"config": {"multiprocess": {}}}},
    "forkserver": {
        "execution": {
            "config": {
                "multiprocess": {
                    "max_concurrent": 3,
                    "start_method": {"forkserver": {"preload_modules": FORKSERVER_PRELOAD}},
                }
            }
        }
    },
}


class UserView:
    """Commands against one site, each under bench/user_side.py, with calls counted by the site."""

    def __init__(self, site: Any, tmp: str) -> None:
        self.site, self.tmp = site, Path(tmp)
        self.home = self.tmp / "dagster_home"
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "dagster.yaml").write_text("")
        self.count = 0
        env = self._env()
        # The instance's SQLite storage and migrations, made before any clock starts.
        subprocess.run(
            [sys.executable, "-c", "from dagster import DagsterInstance; DagsterInstance.get()"],
            env=env,
            check=True,
            capture_output=True,
            timeout=300,
        )

    def _env(self, db: str | None = None) -> dict[str, str]:
        env = dict(
            os.environ,
            DAGSTER_HOME=str(self.home),
            MOODLE_URL=self.site.url,
            MOODLE_TOKEN=DEMO_TOKEN,
            MOODLE_ASSETS_NOW=str(DEMO_NOW),
            PYTHONPATH=str(ROOT),
        )
        if db:
            env["MOODLE_DUCKDB_PATH"] = db
        return env

    def measure(
        self,
        label: str,
        command: list[str],
        db: str | None = None,
        side: tuple[str, ...] = (),
        timeout: float = TIMEOUT,
    ) -> dict[str, Any]:
        """``command`` under bench/user_side.py (``side``: more of its options)."""
        self.count += 1
        log = self.tmp / f"user-{self.count:03d}-{label.replace(' ', '_')}.log"
        self.site.command("reset")
        done = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "user_side.py"), "--label", label, "--log", str(log), *side]
            + ["--", *command],
            env=self._env(db),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,
        )
        if done.returncode != 0:
            raise RuntimeError(f"bench/user_side.py failed for {label}:\n{done.stderr[-3000:]}")
        result = parse_result(done.stdout)
        stats = self.site.command("stats")
        result.update(
            label=label,
            server_calls=stats["calls"],
            calls=sum(stats["calls"].values()),
            server_cpu=stats["cpu"],
            log=str(log),
        )
        if not result["success"]:  # reported and kept: a failed run's time still says something
            text = log.read_text(errors="replace") if log.exists() else ""
            failed = sorted(
                {
                    parts[parts.index("STEP_FAILURE") - 1]
                    for parts in (line.split(" - ") for line in text.splitlines() if " - STEP_FAILURE - " in line)
                }
            )
            result["failed_steps"] = failed
            print(
                f"  !! {label} failed (exit {result['returncode']}); failed steps: {', '.join(failed) or '?'}; "
                f"log {log}",
                flush=True,
            )
        return result

    def _config(self, executor: str) -> list[str]:
        config = EXECUTORS[executor]
        if config is None:
            return []
        path = self.tmp / f"executor-{executor}.yaml"
        path.write_text(json.dumps(config))  # JSON is YAML
        return ["-c", str(path)]

    def import_definitions(self) -> dict[str, Any]:
        return self.measure("import", [sys.executable, "-c", f"import {MODULE}"])

    def materialize(self, label: str, selection: str, db: str, executor: str = "default", **kw: Any) -> dict[str, Any]:
        return self.measure(
            label,
            [DAGSTER, "asset", "materialize", "-m", MODULE, "--select", selection, *self._config(executor)],
            db,
            **kw,
        )

    def harvest(self, label: str, db: str, executor: str = "default", **kw: Any) -> dict[str, Any]:
        return self.measure(
            label,
            [
                DAGSTER,
                "job",
                "execute",
                "-m",
                MODULE,
                "-j",
                "moodle_harvest",
                "--tags",
                json.dumps({"dagster/partition": DAY}),
                *self._config(executor),
            ],
            db,
            **kw,
        )

    def script(self, label: str, name: str, db: str, *args: str, **kw: Any) -> dict[str, Any]:
        return self.measure(label, [sys.executable, str(ROOT / "bench" / name), self.site.url, db, *args], db, **kw)

    def run_events(self, result: dict[str, Any]) -> dict[str, Any]:
        """Seconds of the last run's phases, from its SQLite event log: process start -> run
        start (imports, code location, run creation), the steps, run end -> exit; and each
        step's first and last event (epoch seconds)."""
        import sqlite3

        runs = sorted((self.home / "history" / "runs").glob("*-*.db"), key=lambda p: p.stat().st_mtime)
        if not runs:
            return {}
        with sqlite3.connect(runs[-1]) as con:
            rows = con.execute(
                "SELECT dagster_event_type, step_key, timestamp FROM event_logs "
                "WHERE dagster_event_type IS NOT NULL ORDER BY id"
            ).fetchall()
        stamp = {}
        steps: dict[str, list[float]] = {}
        for kind, step, when in rows:
            t = datetime.fromisoformat(when).replace(tzinfo=UTC).timestamp()
            stamp.setdefault(kind, t)
            if kind in ("PIPELINE_SUCCESS", "PIPELINE_FAILURE"):
                stamp["end"] = t
            if step and kind in ("STEP_START", "STEP_SUCCESS", "STEP_FAILURE"):
                steps.setdefault(step, []).append(t)
        first = min(t for _, _, w in rows for t in [datetime.fromisoformat(w).replace(tzinfo=UTC).timestamp()])
        if "PIPELINE_START" not in stamp or "end" not in stamp:
            return {}
        busy = sum(max(ts) - min(ts) for ts in steps.values() if len(ts) > 1)
        return {
            "run_creation_s": round(stamp["PIPELINE_START"] - first, 2),
            "run_s": round(stamp["end"] - stamp["PIPELINE_START"], 2),
            "steps": len(steps),
            "step_seconds": round(busy, 2),
            "step_spans": {step: [min(ts), max(ts)] for step, ts in steps.items()},
        }


def median(results: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in results)


def spread(results: list[dict[str, Any]], key: str) -> str:
    values = [r[key] for r in results]
    return f"{min(values):.1f}-{max(values):.1f}" if len(values) > 1 else f"{values[0]:.1f}"


def summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians (and min-max) of a side's rounds."""
    out = {k: median(results, k) for k in ("wall", "cpu", "peak_rss_mb", "peak_pss_mb", "max_process_rss_mb", "calls")}
    out.update(
        rounds=len(results),
        failed=sum(not r["success"] for r in results),
        wall_range=spread(results, "wall"),
        cpu_range=spread(results, "cpu"),
        walls=[round(r["wall"], 2) for r in results],
        processes=max(r["processes"] for r in results),
    )
    for extra in ("run_creation_s", "run_s", "step_seconds", "steps"):
        values = [r["events"][extra] for r in results if r.get("events", {}).get(extra) is not None]
        if values:
            out[extra] = statistics.median(values)
    return out


def user_view(
    site: Any, tmp: str, capacity: float, rounds: int, executors: list[str], harvest: bool, sequential: bool
) -> dict[str, Any]:
    """Every user-view side against ``site``, alternated over ``rounds``; medians and targets."""
    view = UserView(site, tmp)
    sides: dict[str, list[dict[str, Any]]] = {}

    def add(name: str, result: dict[str, Any], events: bool = False) -> None:
        if events:
            result["events"] = view.run_events(result)
        sides.setdefault(name, []).append(result)
        extra = (
            f", run {result['events'].get('run_s')}s after {result['events'].get('run_creation_s')}s of run creation"
            if result.get("events")
            else ""
        )
        print(
            f"  {name:28s} wall {result['wall']:6.1f}s  CPU {result['cpu']:5.1f}s  peak RSS {result['peak_rss_mb']:5.0f} MB"
            f"  calls {result['calls']:5d}{extra}",
            flush=True,
        )

    print(f"\n== user view: fresh processes, timed from process start ({rounds} rounds, alternated)", flush=True)
    for r in range(rounds):
        add("import definitions", view.import_definitions())
        for ex in executors:
            add(
                f"one call [{ex}]",
                view.materialize(f"one-call-{ex}", "moodle/site_info", f"{tmp}/u-one-{ex}-{r}.duckdb", ex),
                events=True,
            )
        for ex in executors:
            add(
                f"chain [{ex}]",
                view.materialize(f"chain-{ex}", CHAIN_SELECTION, f"{tmp}/u-chain-{ex}-{r}.duckdb", ex),
                events=True,
            )
            add(
                "async 8",
                view.script("async8", "async_harvester.py", f"{tmp}/u-async8-{r}.duckdb", "--concurrency", "8"),
            )
            add(
                "async 4",
                view.script("async4", "async_harvester.py", f"{tmp}/u-async4-{r}.duckdb", "--concurrency", "4"),
            )
        if harvest:  # process-per-step executors once: their harvest takes minutes
            for ex in executors if r == 0 else [e for e in executors if e not in ("multiprocess", "forkserver")]:
                add(
                    f"harvest [{ex}]",
                    view.harvest(f"harvest-{ex}", f"{tmp}/u-harvest-{ex}-{r}.duckdb", ex),
                    events=True,
                )
    if sequential:
        add("sequential", view.script("sequential", "sequential_harvester.py", f"{tmp}/u-seq.duckdb"))

    out: dict[str, Any] = {
        "rounds": rounds,
        "executors": executors,
        "sides": {k: summary(v) for k, v in sides.items()},
        "raw": {
            k: [
                {x: r[x] for x in ("wall", "cpu", "peak_rss_mb", "peak_pss_mb", "calls", "processes", "success")}
                | {"events": r.get("events")}
                for r in v
            ]
            for k, v in sides.items()
        },
    }
    s = out["sides"]
    best_async = min(("async 4", "async 8"), key=lambda k: s[k]["wall"])
    out["best_async"] = best_async
    print(
        f"\n{'':30s}{'wall s (median, range)':>26s}{'CPU s':>8s}{'peak RSS':>10s}{'PSS':>6s}{'calls':>7s}{'procs':>6s}"
    )
    for name, v in s.items():
        print(
            f"  {name:28s}{v['wall']:>10.1f} ({v['wall_range']:>11s}){v['cpu']:>8.1f}{v['peak_rss_mb']:>10.0f}"
            f"{v['peak_pss_mb']:>6.0f}{v['calls']:>7.0f}{v['processes']:>6d}"
            + (f"   {v['failed']} of {v['rounds']} runs FAILED" if v["failed"] else "")
        )
    targets = {}
    default = executors[0]
    chain, script = s[f"chain [{default}]"], s[best_async]
    targets["chain_wall_ratio"] = chain["wall"] / script["wall"]
    targets["chain_cpu_ratio"] = chain["cpu"] / script["cpu"]
    # The same ratios round by round (each chain run against the async run right after it),
    # which cancels load that lasted a round.
    per_round = len(executors)
    pairs = [(c, sides[best_async][i * per_round]) for i, c in enumerate(sides[f"chain [{default}]"])]
    targets["chain_wall_ratio_paired"] = statistics.median(c["wall"] / a["wall"] for c, a in pairs)
    targets["chain_cpu_ratio_paired"] = statistics.median(c["cpu"] / a["cpu"] for c, a in pairs)
    targets["chain_wall_ratios"] = [round(c["wall"] / a["wall"], 2) for c, a in pairs]
    one, imp = s[f"one call [{default}]"], s["import definitions"]
    targets["fixed_cost_s"], targets["fixed_cost_limit_s"] = one["wall"], imp["wall"] + 2.0
    if harvest:
        h = s[f"harvest [{default}]"]
        targets["harvest_floor_s"] = h["calls"] / capacity
        targets["harvest_wall_ratio"] = h["wall"] / targets["harvest_floor_s"]
    targets["chain_calls_per_s"] = chain["calls"] / chain["wall"]
    out["targets"] = targets
    print(
        f"\n  chain [{default}] / {best_async}: wall {targets['chain_wall_ratio']:.2f} (target <= 1.15), "
        f"CPU {targets['chain_cpu_ratio']:.2f} (target <= 2); round by round: wall "
        f"{targets['chain_wall_ratio_paired']:.2f} (median of {targets['chain_wall_ratios']}), "
        f"CPU {targets['chain_cpu_ratio_paired']:.2f}"
    )
    print(f"  one-call run {one['wall']:.1f}s vs import {imp['wall']:.1f}s + 2 s = {imp['wall'] + 2:.1f}s")
    if harvest:
        print(
            f"  harvest {s[f'harvest [{default}]']['wall']:.1f}s vs floor {targets['harvest_floor_s']:.1f}s "
            f"({targets['harvest_wall_ratio']:.2f}, target <= 1.15)"
        )
    return out
