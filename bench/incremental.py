"""bench/run.py's incremental refresh: a night's incremental run against a full harvest of the
same changed site, in calls and in the tables it leaves.

An incremental run is only worth its fewer calls if its tables equal what a full harvest
would load; a difference is acceptable only where the day's change sends no signal the
project could read (a completion overridden, a badge awarded by hand). So one fresh site
is harvested in full, changed by a simulated day (bench/site.py ``simulate``), harvested
incrementally and in full again, and every table compared; the differing rows that no
unsignalled change accounts for are counted as signals missing.
"""

from __future__ import annotations

import time
from typing import Any

from bench.common import SiteModel
from bench.measure import Site, project
from bench.report import verdict

TARGET_INCREMENTAL = 0.10


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
