"""How bench/run.py prints the in-process view: the sides' table and the targets' verdicts.

The figures are kept in the results file as measured; this module only turns them into the
side-by-side table (wall against the floor that the site's capacity sets, calls by function
against what the data needs, rows and whether the keys match) and into one MET/MISS line per
target, so that a run's outcome reads at a glance and the targets live in one place.
"""

from __future__ import annotations

from typing import Any

TARGET_WALL = 1.15
TARGET_CPU_MS = 3.0
TARGET_RSS = 0.20


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


def print_targets(out: dict[str, Any], capacity: float) -> None:
    """The project's targets on the in-process view (the incremental one is bench/incremental.py's)."""
    p1, s1, need = out["chain"]["project"], out["chain"]["sequential"], out["chain"]["need"]
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
