"""Many sites, one warehouse: N emulated sites harvested side by side, as a deployment runs them.

    .venv/bin/python bench/sites.py --sites 1,5,20 [--max-parallel K] [--quick]

Why: with a sites file each site is one ``moodle_harvest`` run (its partition), runs of different
sites go side by side, each loads its own file (data/sites/<site>.duckdb) and publishes its rows
to the shared warehouse. What does that cost on one machine: N sites' wall against the slowest
site alone, calls per second, memory of N runs at once, and does the shared warehouse hold
exactly each site's rows?

How: N demo sites, each its own process (``--serve``) with bench/common.py's SiteModel (each its
own capacity), sizes cycling 1, 0.5, 0.25 (x 0.2 with ``--quick``), own seeds and tokens. Each
size is first harvested alone (N=1 is the largest alone). Then per N a fresh project folder
(moodle_sites.yaml, MOODLE_SITES_FILE, MOODLE_PROJECT_DIR, MOODLE_DUCKDB_PATH, the sites' token
variables, a DAGSTER_HOME made before the clock) and one ``dagster job execute -m
moodle_assets.definitions -j moodle_harvest --tags '{"dagster/partition": SITE}'`` per site under
bench/user_side.py (wall, CPU of the process tree, peak RSS): all at once, then for N > K at most
K at once, a queue in site order (``--max-parallel K``, default 4; 0: all at once only). Calls are
counted by the emulators; twice a second the RSS of all runs is summed and /proc/locks says
whether a process holds the shared file; /proc/stat gives the machine's CPU busy share. The
calendar (site x day, job moodle_calendar) is not measured: moodle_harvest leaves it out.
Writes bench/results/sites.json (sites-quick.json with --quick). Never a timed test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import DEMO_NOW, KEYS, SiteModel, cpu_seconds, model_dict, parse_result, rss_mb  # noqa: E402
from bench.user_side import _children, _memory_kb  # noqa: E402

DAGSTER = str(Path(sys.executable).with_name("dagster"))
SCALES = (1.0, 0.5, 0.25)
TIMEOUT = 1800  # per measurement
# bench/user_side.py sampling its tree at 1 Hz, not 20: at 4 Hz 20 wrappers took 1/3 of a CPU
WRAPPER = "import bench.user_side as u; u.SAMPLE_SECONDS = 1.0; u.main()"
CHECKED = {f"moodle.{t}": KEYS[t] for t in ("courses", "enrolled_users", "activity_completion", "quiz_attempts")}
CHECKED["analytics.course_overview"] = ["courseid"]


def serve(scale: float, seed: int, token: str) -> None:
    """One emulated site (as bench/site.py, with its own seed and token): ``reset`` and ``stats``."""
    from moodle_assets.demo.dataset import DemoConfig, generate
    from moodle_assets.demo.server import DemoServer

    m = SiteModel()
    dataset = generate(DemoConfig(seed=seed, scale=scale, now=DEMO_NOW))
    server = DemoServer(dataset, workers=m.workers, service_ms=m.service_ms, jitter_ms=m.jitter_ms, token=token)
    server.start()
    print(json.dumps({"url": server.url}), flush=True)
    cpu0 = cpu_seconds()
    for line in sys.stdin:
        if line.strip() == "reset":
            server.reset_calls()
            cpu0 = cpu_seconds()
            print(json.dumps({"ok": True}), flush=True)
        else:
            stats = {"calls": len(server.calls), "peak_in_flight": server.peak_in_flight}
            print(json.dumps(stats | {"cpu": cpu_seconds() - cpu0, "rss_mb": rss_mb()}), flush=True)
    server.stop()


class Emulator:
    """One site's emulator process and its sites-file entry."""

    def __init__(self, index: int, scale: float) -> None:
        self.name, self.scale, self.seed = f"s{index + 1:02d}", scale, 101 + index
        self.token, self.token_env = f"bench-token-{self.name}-0123456789", f"MOODLE_SITE_S{index + 1:02d}_TOKEN"
        argv = [sys.executable, __file__, "--serve", str(scale), str(self.seed), self.token]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        self.url = ""

    def command(self, line: str) -> dict[str, Any]:
        if line:
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine."""
    values = [float(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return sum(values) - values[3] - values[4], sum(values)


def tree_rss_mb(root: int) -> float:
    """RSS of every process below ``root`` (not ``root``, the measuring wrapper), MB."""
    total, todo = 0.0, _children(root)
    while todo:
        pid = todo.pop()
        todo.extend(_children(pid))
        total += _memory_kb(pid)[0] / 1024
    return total


def project_folder(sites: list[Emulator], base: Path, label: str) -> tuple[Path, dict[str, str]]:
    """A deployment's folder: the sites file, the warehouse path, a Dagster instance; the runs' env."""
    folder = Path(tempfile.mkdtemp(prefix=f"{label}-", dir=base))
    lines = ["sites:"] + [f"  - name: {s.name}\n    url: {s.url}\n    token_env: {s.token_env}" for s in sites]
    (folder / "moodle_sites.yaml").write_text("\n".join(lines) + "\n")
    (folder / "dagster_home").mkdir()
    (folder / "dagster_home" / "dagster.yaml").write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOODLE_", "DAGSTER_"))}
    env.update(
        DAGSTER_HOME=str(folder / "dagster_home"),
        MOODLE_PROJECT_DIR=str(folder),
        MOODLE_SITES_FILE=str(folder / "moodle_sites.yaml"),
        MOODLE_DUCKDB_PATH=str(folder / "data" / "warehouse.duckdb"),
        MOODLE_ASSETS_NOW=str(DEMO_NOW),
        PYTHONPATH=str(ROOT),
        **{s.token_env: s.token for s in sites},
    )
    code = "from dagster import DagsterInstance; DagsterInstance.get()"  # storage made before the clock
    subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, timeout=300)
    return folder, env


def harvest(sites: list[Emulator], k: int, base: Path, label: str) -> dict[str, Any]:
    """One moodle_harvest process per site, at most ``k`` at once (0: all); measured and checked."""
    folder, env = project_folder(sites, base, label)
    for s in sites:
        s.command("reset")
    pending, running, runs = list(sites), {}, {}
    peak = {"rss_mb": 0.0, "runs": 0, "samples": 0, "locked": 0}
    shared = folder / "data" / "warehouse.duckdb"
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.5):
            procs = [p for p, *_ in list(running.values())]
            total = sum(tree_rss_mb(p.pid) for p in procs)
            if total > peak["rss_mb"]:
                peak.update(rss_mb=total, runs=len(procs))
            if procs and shared.exists():  # is a process holding the shared file's lock (/proc/locks)?
                inode = str(shared.stat().st_ino)
                held = any(x.split()[-3].split(":")[-1] == inode for x in Path("/proc/locks").read_text().splitlines())
                peak.update(samples=peak["samples"] + 1, locked=peak["locked"] + held)

    busy0, total0 = machine_cpu()
    t0 = time.monotonic()
    (sampler := threading.Thread(target=sample, daemon=True)).start()
    while pending or running:
        while pending and (not k or len(running) < k):
            s = pending.pop(0)
            out = folder / f"{s.name}.result"
            argv = [sys.executable, "-c", WRAPPER, "--label", s.name, "--log", str(folder / f"{s.name}.log"), "--"]
            argv += [DAGSTER, "job", "execute", "-m", "moodle_assets.definitions", "-j", "moodle_harvest"]
            argv += ["--tags", json.dumps({"dagster/partition": s.name})]
            with out.open("w") as stdout:
                proc = subprocess.Popen(argv, env=env, cwd=folder, stdout=stdout, stderr=stdout, start_new_session=True)
            running[s.name] = (proc, time.monotonic() - t0, s, out)
        for name, (proc, start, s, out) in list(running.items()):
            if proc.poll() is not None:
                del running[name]
                result = parse_result(out.read_text())
                runs[name] = result | {"start": start, "end": time.monotonic() - t0, "scale": s.scale}
        if time.monotonic() - t0 > TIMEOUT:
            for proc, *_ in running.values():
                os.killpg(proc.pid, 15)  # the wrapper's session: its run and the run's processes
            raise RuntimeError(f"{label}: runs still going after {TIMEOUT}s: {sorted(running)} (logs in {folder})")
        time.sleep(0.1)
    wall, (busy1, total1) = max(r["end"] for r in runs.values()) - min(r["start"] for r in runs.values()), machine_cpu()
    stop.set()
    sampler.join()
    stats = {s.name: s.command("stats") for s in sites}
    for name, r in runs.items():
        r.update(calls=stats[name]["calls"], site_cpu=stats[name]["cpu"], peak_in_flight=stats[name]["peak_in_flight"])
    calls = sum(r["calls"] for r in runs.values())
    return {
        "n": len(sites),
        "max_parallel": k or len(sites),
        "wall": wall,
        "calls": calls,
        "calls_per_s": calls / wall,
        "run_cpu": sum(r["cpu"] for r in runs.values()),
        "site_cpu": sum(r["site_cpu"] for r in runs.values()),
        "machine_busy": (busy1 - busy0) / (total1 - total0),
        "own_busy": (sum(r["cpu"] + r["site_cpu"] for r in runs.values())) / (wall * (os.cpu_count() or 1)),
        "peak_run_rss_mb": max(r["max_process_rss_mb"] for r in runs.values()),
        "peak_tree_rss_mb": max(r["peak_rss_mb"] for r in runs.values()),
        "peak_sum_rss_mb": peak["rss_mb"],
        "runs_at_peak_rss": peak["runs"],
        "shared_file_locked": peak["locked"] / max(peak["samples"], 1),
        "all_succeeded": all(r["success"] for r in runs.values()),
        "failed": sorted(n for n, r in runs.items() if not r["success"]),
        "consistency": check(folder, [s.name for s in sites]),
        "folder": str(folder),
        "runs": {n: {k: v for k, v in r.items() if k not in ("side", "label")} for n, r in sorted(runs.items())},
    }


def check(folder: Path, names: list[str]) -> dict[str, Any]:
    """Per site and table: the shared rows equal the site's own file's (counts, and keys both ways),
    no key twice, no site missing or unknown."""
    import duckdb

    problems, rows = [], {}
    listed = "SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE database_name = ?"
    with duckdb.connect(str(folder / "data" / "warehouse.duckdb"), read_only=True) as con:
        present = {t for (t,) in con.execute(listed, ["warehouse"]).fetchall()}  # the file's own name
        problems += [f"{t}: not in the shared file" for t in CHECKED if t not in present]
        checked = {t: ", ".join(keys) for t, keys in CHECKED.items() if t in present}
        for table, cols in checked.items():
            rows[table] = dict(con.execute(f"SELECT site, count(*) FROM {table} GROUP BY site").fetchall())
            problems += [f"{table}: unknown site {s!r}" for s in sorted(set(rows[table]) - set(names))]
            twice = f"SELECT count(*) FROM (SELECT site, {cols} FROM {table} GROUP BY ALL HAVING count(*) > 1)"
            if n := con.execute(twice).fetchone()[0]:
                problems.append(f"{table}: {n} keys twice")
        for name in names:
            own = folder / "data" / "sites" / f"{name}.duckdb"
            if not own.exists():
                problems.append(f"{name}: no site file {own}")
                continue
            con.execute(f"ATTACH '{own}' AS own (READ_ONLY)")
            in_own = {t for (t,) in con.execute(listed, ["own"]).fetchall()}
            for table, cols in checked.items():
                if table not in in_own:
                    problems.append(f"{name} {table}: not in the site's own file")
                    continue
                [(count,)] = con.execute(f"SELECT count(*) FROM own.{table}").fetchall()
                mine, shared = f"SELECT {cols} FROM own.{table}", f"SELECT {cols} FROM {table} WHERE site = '{name}'"
                [(missing,)] = con.execute(f"SELECT count(*) FROM ({mine} EXCEPT {shared})").fetchall()
                [(extra,)] = con.execute(f"SELECT count(*) FROM ({shared} EXCEPT {mine})").fetchall()
                if (got := rows[table].get(name, 0)) != count or missing or extra:
                    problems.append(f"{name} {table}: shared {got} rows, own {count}; {missing} missing, {extra} extra")
            con.execute("DETACH own")
        infos = dict(con.execute("SELECT site, count(*) FROM moodle.site_info GROUP BY site").fetchall())
        problems += [
            f"{n}: {infos.get(n, 0)} site_info rows in the shared file, not 1" for n in names if infos.get(n) != 1
        ]
    return {"ok": not problems, "problems": problems, "rows": rows}


def queue_floor(walls: list[float], k: int) -> float:
    """The wall of the queue if the runs did not slow each other: each run as long as alone."""
    ends = [0.0] * max(1, min(k or len(walls), len(walls)))
    for w in walls:
        ends[ends.index(min(ends))] += w
    return max(ends)


def summarise(out: dict[str, Any], cpus: int) -> None:
    """Derived figures: against the sizes alone (wall, CPU), a run's fixed CPU, what bounds each wall."""
    alone = {float(s): (g["wall"], g["run_cpu"] + g["site_cpu"], g["calls"]) for s, g in out["alone"].items()}
    if len(alone) > 1:  # a run's CPU = fixed + per call, fitted on the sizes alone
        fit = statistics.linear_regression(
            [g["calls"] for g in out["alone"].values()], [g["run_cpu"] for g in out["alone"].values()]
        )
        out["run_cpu_fit"] = {"fixed_s": fit.intercept, "ms_per_call": fit.slope * 1000}
    for g in out["groups"]:
        scales = [r["scale"] for r in g["runs"].values()]
        g["slowest_alone"] = max(alone[s][0] for s in scales)
        g["ratio"] = g["wall"] / g["slowest_alone"]
        g["queue_floor"] = queue_floor([alone[s][0] for s in scales], g["max_parallel"])
        g["cpu_floor"] = sum(alone[s][1] for s in scales) / cpus
        g["run_cpu_share"] = g["run_cpu"] / sum(r["wall"] for r in g["runs"].values())
        g["bound"] = explain(g, cpus)


def explain(g: dict[str, Any], cpus: int) -> str:
    busy, own, held = g["machine_busy"], g["own_busy"], g["shared_file_locked"]
    text = (
        f"CPU: runs {g['run_cpu']:.0f} s + sites {g['site_cpu']:.0f} s = {(g['run_cpu'] + g['site_cpu']) / cpus:.0f} s "
        f"on {cpus} CPUs (as alone: {g['cpu_floor']:.0f} s); machine busy {busy:.0%} (other work "
        f"{max(busy - own, 0):.0%}); a run process used {g['run_cpu_share']:.0%} of a CPU; each run as long as "
        f"alone: {g['queue_floor']:.0f} s; the shared file was held by a process {held:.0%} of the wall"
    )
    if busy >= 0.85:
        why = "CPU: the run processes saturated the CPUs and the sites waited on them" + (
            "; the shared file (one process at a time) was held most of the wall, the next bound" if held >= 0.8 else ""
        )
    elif held >= 0.8:
        why = "the shared warehouse: one process at a time holds it, every publish waits its turn"
    elif g["wall"] <= 1.2 * g["queue_floor"]:
        why = "the sites' capacity (each run about as long as its site alone)"
    else:
        why = "mostly CPU, in bursts (the runs start, import and create their runs at once), not saturated throughout"
    return f"{text} -> bound by {why}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sites", default="1,5,20", help="the N to measure, comma-separated")
    parser.add_argument("--max-parallel", type=int, default=4, help="also run at most K at once (0: only all at once)")
    parser.add_argument("--quick", action="store_true", help="sites 5 times smaller")
    parser.add_argument("--serve", nargs=3, metavar=("SCALE", "SEED", "TOKEN"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(float(args.serve[0]), int(args.serve[1]), args.serve[2])
    ns = sorted({int(n) for n in args.sites.split(",")})
    base = 0.2 if args.quick else 1.0
    cpus, k = os.cpu_count() or 1, args.max_parallel
    emulators = [Emulator(i, SCALES[i % len(SCALES)] * base) for i in range(max(ns))]
    for e in emulators:
        e.url = e.command("")["url"]
    tmp = Path(tempfile.mkdtemp(prefix="moodle-bench-sites-"))
    out: dict[str, Any] = {
        "machine": {"cpus": cpus, "python": platform.python_version(), "platform": platform.platform()},
        "model": model_dict(SiteModel()),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3],
        "scales": [e.scale for e in emulators],
        "alone": {},
        "groups": [],
    }
    print(f"{len(emulators)} sites (scales {sorted(set(out['scales']), reverse=True)}), {cpus} CPUs; work in {tmp}")
    try:
        for e in emulators[: len(SCALES)]:
            g = harvest([e], 0, tmp, f"alone-{e.name}")
            out["alone"][str(e.scale)] = g
            print(
                f"  alone {e.name} (scale {e.scale:g}): {g['wall']:.1f}s, {g['calls']} calls, ok {g['all_succeeded']}"
            )
        for n in ns:
            for kk in [0] + ([k] if k and n > k else []):
                sites = emulators[:n]
                g = out["alone"][str(sites[0].scale)] if n == 1 else harvest(sites, kk, tmp, f"n{n}-k{kk or n}")
                out["groups"].append(dict(g))
                summarise(out, cpus)
                print(f"  N={n} K={g['max_parallel']}: {g['wall']:.1f}s, {out['groups'][-1]['bound']}", flush=True)
    finally:
        for e in emulators:
            e.close()
    head = f"{'N':>3}{'K':>4}{'wall s':>8}{'alone s':>9}{'ratio':>7}{'calls':>7}{'calls/s':>9}{'run CPU':>9}"
    print("\n" + head + f"{'busy':>6}{'RSS/run':>9}{'sum RSS':>9}{'ok':>5}{'same':>6}")
    for g in out["groups"]:
        print(
            f"{g['n']:>3}{g['max_parallel']:>4}{g['wall']:>8.1f}{g['slowest_alone']:>9.1f}{g['ratio']:>7.2f}"
            f"{g['calls']:>7}{g['calls_per_s']:>9.1f}{g['run_cpu']:>9.0f}{g['machine_busy']:>6.0%}"
            f"{g['peak_run_rss_mb']:>9.0f}{g['peak_sum_rss_mb']:>9.0f}{str(g['all_succeeded']):>5}"
            f"{str(g['consistency']['ok']):>6}"
        )
        for p in g["consistency"]["problems"][:5]:
            print(f"      ! {p}")
    path = ROOT / "bench" / "results" / f"sites{'-quick' if args.quick else ''}.json"
    path.write_text(json.dumps(out, indent=1, default=str) + "\n")
    print(f"\nresults: {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
