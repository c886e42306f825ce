"""The benchmark: the project against hand-written harvesters, on a model of a real site.

    .venv/bin/python bench/run.py [--scale 1|10|100] [--quick] [--only-incremental] [--active-share 0.05]
                                  [--user-rounds 3] [--only-user] [--no-user] [--user-executors default]
                                  [--only-scaled-chain [--no-script] [--window-seconds 10]]

``--only-scaled-chain --scale 10|100`` runs only the chain as a user runs it on the scaled
site, probed first and watched throughout (bench/scaled_chain.py).

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

Never a timed test: the numbers depend on the machine (the site model shares its CPUs).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import CHAIN, KEYS, SiteModel, model_dict, parse_result  # noqa: E402
from bench.probe import sweep as probe_sweep  # noqa: E402
from bench.scaled_chain import chain_at_scale, only_scaled_chain  # noqa: E402
from bench.user_view import user_view  # noqa: E402

DEMO_TOKEN = "demo-token-admin-0123456789abcdef"
CHILD_TIMEOUT = 1800
TARGET_WALL = 1.15
TARGET_CPU_MS = 3.0
TARGET_RSS = 0.20
TARGET_INCREMENTAL = 0.10
ENROL_PAGE = 100  # enrolled_users page size (template default)


class Site:
    """bench/site.py as a child process."""

    def __init__(self, scale: float, model: SiteModel, now: int | None = None) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "bench" / "site.py"),
                "--scale",
                str(scale),
                "--workers",
                str(model.workers),
                "--service-ms",
                str(model.service_ms),
                "--jitter-ms",
                str(model.jitter_ms),
            ]
            + ([] if now is None else ["--now", str(now)]),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        self.info = self._read()  # url, generation seconds, RSS once ready
        self.url = self.info["url"]

    def _read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the site process ended")
        return json.loads(line)

    def command(self, name: str) -> dict:
        self.proc.stdin.write(name + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)

    def __enter__(self) -> Site:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def measure(site: Site, argv: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run one measured side in a child process; add the calls the site served meanwhile."""
    site.command("reset")
    env = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
    done = subprocess.run(
        [sys.executable, *argv], capture_output=True, text=True, cwd=ROOT, env=env, timeout=CHILD_TIMEOUT
    )
    if done.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result = parse_result(done.stdout)
    stats = site.command("stats")
    result["server_calls"] = stats["calls"]
    result["server_cpu"] = stats["cpu"]
    result["calls"] = sum(stats["calls"].values())
    return result


def project(
    site: Site,
    db: str,
    assets: str = "chain",
    concurrency: int | None = None,
    now: int | None = None,
    rotate: int | None = None,
) -> dict[str, Any]:
    """The project's harvest of ``assets`` in a child process; ``now`` sets its clock (epoch seconds)."""
    argv = [str(ROOT / "bench" / "project_side.py"), site.url, db, "--assets", assets]
    if concurrency is not None:
        argv += ["--max-concurrency", str(concurrency)]
    if rotate is not None:
        argv += ["--rotate", str(rotate)]
    return measure(site, argv, {"MOODLE_ASSETS_NOW": str(now)} if now is not None else None)


def incremental_refresh(
    model: SiteModel, scale: float, share: float, tmp: str, rotate: int | None = None
) -> dict[str, Any]:
    """Full harvest, a realistic day (``share`` of the students active, plus the staff and
    scheduled-task changes of ``simulate_day``), the incremental run the next night, and a full
    harvest of the changed site into a new file; every table compared.

    The site's dataset is anchored to this machine's clock and the first harvest runs on it;
    the next night's runs set the project's clock to the site's, a day later, as a real night
    would be.
    """
    from moodle_assets.warehouse.compare import compare

    with Site(scale, model, now=int(time.time())) as site:
        first = project(site, f"{tmp}/inc.duckdb", "all")
        day = site.command(f"simulate {share}")
        second = project(site, f"{tmp}/inc.duckdb", "all", now=day["now"], rotate=rotate)
        full = project(site, f"{tmp}/inc-full.duckdb", "all", now=day["now"])
    differences = compare(f"{tmp}/inc.duckdb", f"{tmp}/inc-full.duckdb")
    return {
        "first": first,
        "day": day,
        "incremental": second,
        "full": full,
        "same_tables": {t: not d for t, d in differences.items()},
        "unexplained": unexplained(differences, day.get("unsignalled", [])),
        "differing_columns": {t: d.columns for t, d in differences.items() if d},
        "differing_rows": {t: len(d.only_left) + len(d.only_right) for t, d in differences.items() if d},
    }


def unexplained(differences: dict, unsignalled: list) -> dict[str, int]:
    """Differing rows per table that no unsignalled change of the day (a completion overridden,
    a badge awarded by hand: same course and user) accounts for: each is a signal missing."""
    pairs = {tuple(p) for p in unsignalled}
    users = {user for _, user in pairs}
    out = {}
    for table, difference in differences.items():
        rows = difference.only_left + difference.only_right
        bad = [
            r
            for r in rows
            if not (
                (int(r.get("courseid") or r.get("id") or 0), int(r.get("userid") or 0)) in pairs
                or (table == "user_badges" and int(r.get("userid") or 0) in users)
            )
        ]
        if bad:
            out[table] = len(bad)
    return out


def print_incremental(inc: dict[str, Any], share: float) -> None:
    second, full, day = inc["incremental"], inc["full"], inc["day"]
    changes = ", ".join(f"{k} {v}" for k, v in day["changes"].items())
    print(
        f"\n== incremental refresh, {share:.0%} of students active ({day['active_users']} of {day['students']}); "
        f"the day's changes: {changes}"
    )
    print(f"{'':34s}{'first full':>14s}{'incremental':>14s}{'full again':>14s}")
    for label, fmt in [
        ("wall s", lambda r: f"{r['wall']:.1f}"),
        ("HTTP calls (site)", lambda r: f"{r['calls']}"),
        ("client CPU s", lambda r: f"{r['cpu']:.2f}"),
    ]:
        print(f"{label:34s}" + "".join(f"{fmt(r):>14s}" for r in (inc["first"], second, full)))
    print("calls by function (incremental / full again)")
    for fn in sorted(full["server_calls"], key=lambda f: -full["server_calls"][f]):
        print(f"  {fn:50s}{second['server_calls'].get(fn, 0):>8d}{full['server_calls'][fn]:>8d}")
    print("incremental assets' plans (calls: changed + rotated + new or failed items; kept)")
    for name, a in sorted(second["assets"].items()):
        if "kept_items" in a:
            print(
                f"  {name:34s}{a['calls'] or 0:>6d} calls: {a.get('changed_items', 0)} changed, "
                f"{a.get('rotated_items', 0)} rotated, {a['kept_items']} kept"
            )
    differ = [t for t, ok in inc["same_tables"].items() if not ok]
    print(
        f"tables equal a full harvest: {len(inc['same_tables']) - len(differ)} of {len(inc['same_tables'])}"
        + (f"; DIFFER: {', '.join(differ)}" if differ else "")
    )
    for table, columns in inc.get("differing_columns", {}).items():
        rows = inc.get("differing_rows", {}).get(table, "?")
        print(f"  {table}: {rows} rows differ, in columns {', '.join(columns) or '(row multiplicity only)'}")
    print(f"incremental calls: {second['calls']} of {full['calls']} ({second['calls'] / full['calls']:.1%})")


def sequential(site: Site, db: str) -> dict[str, Any]:
    return measure(site, [str(ROOT / "bench" / "sequential_harvester.py"), site.url, db])


# ----------------------------------------------------------------- checks


def project_keys(db: str, table: str) -> set[tuple]:
    from moodle_assets.warehouse import Warehouse

    cols = ", ".join(KEYS[table])
    return set(Warehouse(db, lock_timeout=10).query(f"SELECT {cols} FROM moodle.{table}"))


def sequential_keys(db: str, table: str) -> set[tuple]:
    import duckdb

    cols = ", ".join(KEYS[table])
    with duckdb.connect(db, read_only=True) as con:
        return set(con.execute(f"SELECT {cols} FROM {table}").fetchall())


def compare_keys(project_db: str, sequential_db: str) -> dict[str, bool]:
    return {t: project_keys(project_db, t) == sequential_keys(sequential_db, t) for t in CHAIN}


def needed_calls(project_db: str) -> dict[str, int]:
    """What the chain's data strictly needs, by function, from the harvested tables.

    Every array-taking function batched at the template's batch size; search_courses stops
    on its total; enrolled users cost ceil(n / page size) pages per course (one call for a
    course without enrolments); one call per course x user and quiz x enrolled user pair
    (Moodle has no batched form of those two functions).
    """
    from moodle_assets.warehouse import Warehouse

    w = Warehouse(project_db, lock_timeout=10)
    courses = w.query("SELECT count(*) FROM moodle.course_index")[0][0]
    per_course = dict(w.query("SELECT courseid, count(*) FROM moodle.enrolled_users GROUP BY courseid"))
    course_ids = [r[0] for r in w.query("SELECT id FROM moodle.courses")]
    pairs = w.query("SELECT count(*) FROM (SELECT DISTINCT courseid, id FROM moodle.enrolled_users)")[0][0]
    quiz_pairs = w.query(
        "SELECT count(*) FROM (SELECT DISTINCT q.id, e.id FROM moodle.quizzes q "
        "JOIN moodle.enrolled_users e ON e.courseid = q.course)"
    )[0][0]
    return {
        "core_course_search_courses": max(1, math.ceil(courses / 100)),
        "core_course_get_courses": max(1, math.ceil(courses / 100)),
        "core_enrol_get_enrolled_users": sum(max(1, math.ceil(per_course.get(c, 0) / ENROL_PAGE)) for c in course_ids),
        "core_completion_get_activities_completion_status": pairs,
        "mod_quiz_get_quizzes_by_courses": max(1, math.ceil(len(course_ids) / 50)),
        "mod_quiz_get_user_attempts": quiz_pairs,
    }


# ----------------------------------------------------------------- printing


def rate(result: dict) -> float:
    return result["calls"] / result["wall"] if result["wall"] else 0.0


def cpu_ms(result: dict) -> float:
    return 1000 * result["cpu"] / max(result["calls"], 1)


def verdict(ok: bool) -> str:
    return "MET " if ok else "MISS"


def print_side_by_side(
    title: str, p: dict, s: dict | None, match: dict | None, capacity: float, need: dict | None
) -> None:
    print(f"\n== {title}")
    cols = [("project", p)] + ([("sequential", s)] if s else [])
    print(f"{'':34s}" + "".join(f"{name:>14s}" for name, _ in cols))
    floor = p["calls"] / capacity
    rows = [
        ("wall s", lambda r: f"{r['wall']:.1f}"),
        ("HTTP calls (site)", lambda r: f"{r['calls']}"),
        ("calls/s", lambda r: f"{rate(r):.1f}"),
        ("floor s (calls / capacity)", lambda r: f"{r['calls'] / capacity:.1f}"),
        ("wall / floor", lambda r: f"{r['wall'] / (r['calls'] / capacity):.2f}"),
        ("client CPU s", lambda r: f"{r['cpu']:.2f}"),
        ("client CPU ms / call", lambda r: f"{cpu_ms(r):.2f}"),
        ("site CPU s", lambda r: f"{r['server_cpu']:.2f}"),
        ("peak RSS MB", lambda r: f"{r['peak_rss_mb']:.0f}"),
        ("RSS before run MB", lambda r: f"{r['rss_before_mb']:.0f}"),
    ]
    for label, fmt in rows:
        print(f"{label:34s}" + "".join(f"{fmt(r):>14s}" for _, r in cols))
    functions = sorted(set(p["server_calls"]) | set(s["server_calls"] if s else {}))
    print("calls by function" + (" (need = what the data strictly needs)" if need else ""))
    for fn in functions:
        line = f"  {fn:50s}" + "".join(f"{r['server_calls'].get(fn, 0):>8d}" for _, r in cols)
        if need is not None:
            line += f"   need {need.get(fn, 0)}"
        print(line)
    print("rows by table" + (" (keys equal?)" if match else ""))
    for table in sorted(p["rows"]):
        line = f"  {table:50s}" + "".join(f"{r['rows'].get(table, 0):>8d}" for _, r in cols)
        if match and table in match:
            line += "   same keys" if match[table] else "   KEYS DIFFER"
        print(line)
    if s:
        print(
            f"ratios project/sequential: wall {p['wall'] / s['wall']:.2f}, calls {p['calls'] / s['calls']:.2f}, "
            f"CPU {p['cpu'] / s['cpu']:.2f}, peak RSS {p['peak_rss_mb'] / s['peak_rss_mb']:.2f}"
        )
    print(f"project wall {p['wall']:.1f}s vs floor {floor:.1f}s")


def report_incremental(inc: dict[str, Any]) -> None:
    second, full = inc["incremental"], inc["full"]
    share = second["calls"] / full["calls"]
    print(
        f"  {verdict(share <= TARGET_INCREMENTAL)} incremental run <= 10 % of a full harvest's calls: "
        f"{second['calls']} vs {full['calls']} ({share:.1%})"
    )
    unexplained = inc.get("unexplained", {})
    print(
        f"  {verdict(not unexplained)} incremental tables equal a full harvest for every change a signal "
        f"covers ({sum(inc['same_tables'].values())} of {len(inc['same_tables'])} equal; the rest differ "
        + (f"where no signal explains it: {unexplained})" if unexplained else "only in rows of unsignalled changes)")
    )


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
        )
        write_results(out, f"user-chain-scale{int(args.scale)}")
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
        p1 = project(site, f"{tmp}/p1.duckdb")
        s1 = sequential(site, f"{tmp}/s1.duckdb")
        match = compare_keys(f"{tmp}/p1.duckdb", f"{tmp}/s1.duckdb")
        need = needed_calls(f"{tmp}/p1.duckdb")
        out["chain"] = {"project": p1, "sequential": s1, "same_keys": match, "need": need}
        print_side_by_side("fan-out chain, 1x", p1, s1, match, capacity, need)

        if not args.quick:
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

    if args.scale > 1 and not args.no_user:
        with Site(args.scale, model) as site:
            print(f"\n== user view, fan-out chain, {args.scale:g}x")
            out[f"user_chain{int(args.scale)}"] = chain_at_scale(site, tmp, capacity, f"{args.scale:g}x")

    if args.scale == 10.0:
        with Site(10.0, model) as site:
            p10 = project(site, f"{tmp}/p10.duckdb")
            s10 = None if args.quick else sequential(site, f"{tmp}/s10.duckdb")
            match10 = compare_keys(f"{tmp}/p10.duckdb", f"{tmp}/s10.duckdb") if s10 else None
            need10 = needed_calls(f"{tmp}/p10.duckdb")
            out["chain10"] = {"project": p10, "sequential": s10, "same_keys": match10, "need": need10}
            print_side_by_side("fan-out chain, 10x", p10, s10, match10, capacity, need10)

    inc = incremental_refresh(model, 1.0, args.active_share, tmp)
    out["incremental"] = inc
    print_incremental(inc, args.active_share)

    # ------------------------------------------------------------- targets
    print("\n== targets (project)")
    floor = p1["calls"] / capacity
    print(
        f"  {verdict(p1['wall'] <= TARGET_WALL * floor)} wall <= 1.15 x floor: chain 1x {p1['wall']:.1f}s vs "
        f"{TARGET_WALL * floor:.1f}s ({p1['wall'] / floor:.2f} x floor)"
    )
    if "everything" in out:
        e = out["everything"]
        ef = e["calls"] / capacity
        print(
            f"  {verdict(e['wall'] <= TARGET_WALL * ef)} wall <= 1.15 x floor: everything 1x {e['wall']:.1f}s vs "
            f"{TARGET_WALL * ef:.1f}s ({e['wall'] / ef:.2f} x floor)"
        )
    if "chain10" in out:
        p10 = out["chain10"]["project"]
        f10 = p10["calls"] / capacity
        print(
            f"  {verdict(p10['wall'] <= TARGET_WALL * f10)} wall <= 1.15 x floor: chain 10x {p10['wall']:.1f}s vs "
            f"{TARGET_WALL * f10:.1f}s ({p10['wall'] / f10:.2f} x floor)"
        )
    for label, result, needs in [("1x", p1, need)] + (
        [("10x", out["chain10"]["project"], out["chain10"]["need"])] if "chain10" in out else []
    ):
        extra = {
            fn: result["server_calls"].get(fn, 0) - n
            for fn, n in needs.items()
            if result["server_calls"].get(fn, 0) > n
        }
        other = {fn: c for fn, c in result["server_calls"].items() if fn not in needs}
        total_need = sum(needs.values())
        print(
            f"  {verdict(not extra and not other)} calls <= need ({label}): {result['calls']} vs {total_need}; "
            f"extra {extra or '-'}{'; not needed ' + str(other) if other else ''}"
        )
    print(
        f"  {verdict(cpu_ms(p1) <= TARGET_CPU_MS)} client CPU <= 3 ms/call: chain 1x {cpu_ms(p1):.2f} ms/call "
        f"(sequential script {cpu_ms(s1):.2f})"
    )
    if "everything" in out:
        print(
            f"  {verdict(cpu_ms(out['everything']) <= TARGET_CPU_MS)} client CPU <= 3 ms/call: everything "
            f"{cpu_ms(out['everything']):.2f} ms/call"
        )
    if "chain10" in out:
        p10 = out["chain10"]["project"]
        print(f"  {verdict(cpu_ms(p10) <= TARGET_CPU_MS)} client CPU <= 3 ms/call: chain 10x {cpu_ms(p10):.2f} ms/call")
        growth = p10["peak_rss_mb"] / p1["peak_rss_mb"] - 1
        over1 = p1["peak_rss_mb"] - p1["rss_before_mb"]
        over10 = p10["peak_rss_mb"] - p10["rss_before_mb"]
        print(
            f"  {verdict(abs(growth) <= TARGET_RSS)} peak RSS flat 1x -> 10x: {p1['peak_rss_mb']:.0f} -> "
            f"{p10['peak_rss_mb']:.0f} MB ({growth:+.0%}); growth during the run {over1:.0f} -> {over10:.0f} MB"
        )
        s10 = out["chain10"]["sequential"]
        if s10:
            print(f"       sequential script: {s1['peak_rss_mb']:.0f} -> {s10['peak_rss_mb']:.0f} MB")
    if "sweep" in out:
        walls = {int(k): v["wall"] for k, v in out["sweep"].items()}
        best = min(walls, key=walls.get)
        print(
            f"  {verdict(walls[4] <= 1.05 * walls[best])} default max_concurrency 4 within 5 % of the best "
            f"({best}: {walls[best]:.1f}s; 4: {walls[4]:.1f}s)"
        )

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
