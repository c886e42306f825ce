"""``moodle-assets demo --sites N``: the demo with several Moodle sites in one warehouse.

Starts N emulated sites of different sizes and seeds (:func:`moodle_assets.sites.demo.start_demo_sites`),
writes their sites file to ``data/demo_sites/moodle_sites.yaml`` (never over a file the demo
did not write), exports each site's token variable (the emulator's public demo tokens) and
``MOODLE_SITES_FILE`` into this process, so the runs and the Dagster UI started from it see
the same sites. Then, per site, as the single-site demo does (runs in this process, recorded in
the instance of ``DAGSTER_HOME``): one ``moodle_harvest`` run, one ``moodle_calendar`` run over
the days around today, and a rebuild of the analytics that read the calendar. Prints each
site's row counts in the shared warehouse and a cross-site query, then opens the UI.

The demo's shared warehouse is ``data/demo_sites/warehouse.duckdb`` (each site's own file in
``data/demo_sites/sites/``) unless ``MOODLE_DUCKDB_PATH`` says otherwise, so it never mixes
its sites' rows into the single-site demo's ``data/warehouse.duckdb``; a warehouse that holds
a single-site harvest (tables without a ``site`` column) is refused rather than mixed.

The single-site demo switches any sites file off (:func:`single_site_demo_notice`), so a
``moodle_sites.yaml`` in the project folder never turns it into a multi-site run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from moodle_assets.project import SITES_FILE_ENV, SITES_FILE_OFF, SettingError, project_path, sites_file

from .demo import DemoSite, sites_yaml, start_demo_sites, write_sites_file

DEMO_FOLDER = "data/demo_sites"  # relative to the project folder
DEMO_SITES_FILE = f"{DEMO_FOLDER}/moodle_sites.yaml"
DEMO_WAREHOUSE = f"{DEMO_FOLDER}/warehouse.duckdb"
WAREHOUSE_ENV = "MOODLE_DUCKDB_PATH"
COUNTED = (
    "moodle.courses",
    "moodle.enrolled_users",
    "moodle.quiz_attempts",
    "moodle.calendar_events",
    "analytics.course_overview",
)
CROSS_SITE_SQL = """SELECT site, count(*) AS courses, sum(enrolled_learners) AS learners,
       sum(completed_learners) AS completed, round(avg(avg_grade_pct), 1) AS avg_grade_pct
FROM analytics.course_overview
GROUP BY site ORDER BY site"""


def single_site_demo_notice() -> str | None:
    """Switch the sites file off for the single-site demo's runs and UI (``MOODLE_SITES_FILE=none``
    in this process's environment); the notice to print when a sites file would have been used."""
    try:
        found: Path | str | None = sites_file()
    except SettingError:
        found = f"${SITES_FILE_ENV} ({os.environ.get(SITES_FILE_ENV, '').strip()})"
    os.environ[SITES_FILE_ENV] = SITES_FILE_OFF
    if found is None:
        return None
    return (
        f"Note: the demo harvests its one demo site only; it ignores the sites file {found} "
        f"({SITES_FILE_ENV}={SITES_FILE_OFF} for its runs and its UI). 'moodle-assets demo --sites 2' "
        "runs the demo with several sites; 'dagster dev' still uses your sites file."
    )


def demo_sites_environment(sites: Sequence[DemoSite]) -> dict[str, str]:
    """Write the demo's sites file; the variables its runs and UI need: the file, each site's
    (public, demo) token under the variable the file names, and the demo's shared warehouse."""
    path = project_path(DEMO_SITES_FILE)
    path.parent.mkdir(parents=True, exist_ok=True)
    ignore = path.parent / ".gitignore"  # the demo's files stay out of a checkout's git status
    if not ignore.exists():
        ignore.write_text("*\n", encoding="utf-8")
    write_sites_file(path, sites_yaml(list(sites)))
    env = {SITES_FILE_ENV: str(path), **{site.token_env: site.token for site in sites}}
    env[WAREHOUSE_ENV] = os.environ.get(WAREHOUSE_ENV) or DEMO_WAREHOUSE
    return env


def single_site_tables(path: str) -> list[str]:
    """Tables of the warehouse at ``path`` without a ``site`` column (a single-site harvest's)."""
    from moodle_assets.warehouse import Warehouse
    from moodle_assets.warehouse.paths import is_local_file

    warehouse = Warehouse(path, snapshot_path=None)
    if is_local_file(warehouse.path) and not os.path.exists(warehouse.path):
        return []
    with warehouse.connect(read_only=True) as con:
        rows = con.execute(
            """SELECT t.table_schema || '.' || t.table_name FROM information_schema.tables t
               WHERE t.table_schema IN ('moodle', 'analytics') AND t.table_type = 'BASE TABLE'
                 AND t.table_catalog = current_database()
                 AND NOT EXISTS (SELECT 1 FROM information_schema.columns c
                                 WHERE c.table_catalog = t.table_catalog AND c.table_schema = t.table_schema
                                   AND c.table_name = t.table_name AND c.column_name = 'site')
               ORDER BY 1"""
        ).fetchall()
    return [r[0] for r in rows]


def harvest_demo_sites(
    *, instance: Any = None, days_back: int = 100, days_ahead: int = 30, say: Callable[[str], None] = print
) -> str:
    """Harvest every site of ``$MOODLE_SITES_FILE`` into the shared warehouse; its path.

    Per site, one after the other: a ``moodle_harvest`` run (partition: the site), a
    ``moodle_calendar`` run over the site's days from ``days_back`` before today to
    ``days_ahead`` after, and the analytics that read the calendar rebuilt for the site.
    Raises SystemExit naming the site and run that failed.
    """
    from dagster import DagsterInstance, MultiPartitionKey, MultiPartitionsDefinition

    from moodle_assets import clock
    from moodle_assets.assets.jobs import HARVEST_JOB
    from moodle_assets.cli import demo_window
    from moodle_assets.definitions import build_definitions, configured_sites
    from moodle_assets.endpoints import load_specs
    from moodle_assets.warehouse import Warehouse

    from .jobs import CALENDAR_JOB
    from .partitions import DAY_DIMENSION, SITE_DIMENSION

    sites = configured_sites()
    if sites is None:
        raise SystemExit(f"moodle-assets demo --sites: no sites file (set {SITES_FILE_ENV})")
    shared = Warehouse().path
    mixed = single_site_tables(shared)
    if mixed:
        raise SystemExit(
            f"moodle-assets demo --sites: {shared} holds a single-site harvest (tables without a site column: "
            f"{', '.join(mixed[:3])}{', ...' if len(mixed) > 3 else ''}); the demo's sites would be mixed into it. "
            f"Unset {WAREHOUSE_ENV} (the demo then uses {DEMO_WAREHOUSE}) or point it at another file."
        )
    instance = instance or DagsterInstance.get()
    defs = build_definitions(load_specs(), sites)
    harvest, calendar = defs.resolve_job_def(HARVEST_JOB), defs.resolve_job_def(CALENDAR_JOB)
    graph = defs.resolve_asset_graph()
    timed = sorted(
        k for k in graph.get_all_asset_keys() if isinstance(graph.get(k).partitions_def, MultiPartitionsDefinition)
    )
    # what reads the calendar (and what reads that), rebuilt once the calendar is in
    downstream, todo = set(), [c for key in timed for c in graph.get(key).child_keys]
    while todo:
        key = todo.pop()
        if key not in downstream and key not in timed:
            downstream.add(key)
            todo.extend(graph.get(key).child_keys)
    today = clock.today()

    def check(result, what: str) -> None:
        if not result.success:
            failed = [e.step_key for e in result.all_events if e.is_step_failure]
            raise SystemExit(
                f"The demo's {what} failed ({', '.join(failed) or 'see the run'}); see the run in the Dagster UI "
                "or the log above."
            )

    for site in sites.sites:
        say(f"Site {site.name}: materialising every asset (moodle_harvest, partition {site.name}) ...")
        check(
            harvest.execute_in_process(instance=instance, partition_key=site.name, raise_on_error=False),
            f"harvest of site {site.name}",
        )
        for key in timed:
            days = graph.get(key).partitions_def.get_partitions_def_for_dimension(DAY_DIMENSION)
            window = demo_window(days.get_partition_keys(), today, days_back, days_ahead)
            if window is None:
                say(f"Site {site.name}: no {key.to_user_string()} partitions around {today}")
                continue
            start, end = (MultiPartitionKey({SITE_DIMENSION: site.name, DAY_DIMENSION: d}) for d in window)
            say(f"Site {site.name}: loading {key.to_user_string()} days {window[0]} .. {window[1]} in one run ...")
            check(
                calendar.execute_in_process(
                    instance=instance,
                    asset_selection=[key],
                    raise_on_error=False,
                    tags={"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end},
                ),
                f"calendar of site {site.name}",
            )
        if downstream:
            say(f"Site {site.name}: rebuilding {', '.join(k.to_user_string() for k in sorted(downstream))} ...")
            check(
                harvest.execute_in_process(
                    instance=instance, partition_key=site.name, asset_selection=sorted(downstream), raise_on_error=False
                ),
                f"rebuild of site {site.name}'s calendar analytics",
            )
    return shared


def site_counts(path: str, tables: Sequence[str] = COUNTED) -> dict[str, dict[str, int]]:
    """``{table: {site: rows}}`` of the shared warehouse (a table not there: empty)."""
    from moodle_assets.warehouse import Warehouse

    counts: dict[str, dict[str, int]] = {}
    with Warehouse(path, snapshot_path=None).connect(read_only=True) as con:
        present = {
            f"{s}.{t}"
            for s, t in con.execute(
                "SELECT table_schema, table_name FROM information_schema.tables WHERE table_catalog = current_database()"
            ).fetchall()
        }
        for table in tables:
            rows = (
                con.execute(f"SELECT site, count(*) FROM {table} GROUP BY site").fetchall() if table in present else []
            )
            counts[table] = {str(site): n for site, n in rows}
    return counts


def report(path: str, site_names: Sequence[str]) -> str:
    """Rows per site of a few tables, and a cross-site query with its result."""
    from moodle_assets.warehouse import Warehouse

    counts = site_counts(path)
    width = max(len(t) for t in COUNTED)
    lines = [f"Rows per site in {path}:", "  " + "table".ljust(width) + "".join(f"{n:>10}" for n in site_names)]
    for table, by_site in counts.items():
        lines.append("  " + table.ljust(width) + "".join(f"{by_site.get(n, 0):>10}" for n in site_names))
    with Warehouse(path, snapshot_path=None).connect(read_only=True) as con:
        cursor = con.execute(CROSS_SITE_SQL)
        header = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    lines += ["", "Every site in one query (each table has a site column):", "", CROSS_SITE_SQL, ""]
    cells = [header, *[["" if v is None else str(v) for v in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines += ["  " + "  ".join(v.rjust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


def demo_dagster_home() -> None:
    """DAGSTER_HOME for both demos (the same instance, so the UI shows every run).

    One Moodle asset at a time across all runs (each keeps a few calls in flight), so a
    backfill launched from the UI next to a full run cannot flood the site.
    """
    home = Path(os.environ.get("DAGSTER_HOME", ".dagster_home")).resolve()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    settings = home / "dagster.yaml"
    if not settings.exists():
        settings.write_text("concurrency:\n  pools:\n    default_limit: 1\n")


def run_demo_sites(sites: Sequence[DemoSite], *, instance: Any = None, say: Callable[[str], None] = print) -> str:
    """Everything but the UI: the sites file and variables into this process's environment, the
    harvest of every site, the snapshot, the report. Returns the shared warehouse's path."""
    from moodle_assets.warehouse import Warehouse

    try:
        own = sites_file()
    except SettingError:
        own = None
    os.environ.update(demo_sites_environment(sites))
    if own is not None and own != project_path(DEMO_SITES_FILE):
        say(f"Note: the demo uses its own sites file, {os.environ[SITES_FILE_ENV]}, not {own}.")
    say(f"Sites file: {os.environ[SITES_FILE_ENV]}")
    for site in sites:
        say(f"  {site.name:<8} {site.server.url}  seed {site.seed}, scale {site.scale:g}, token in ${site.token_env}")
    shared = harvest_demo_sites(instance=instance, say=say)
    snapshot = Warehouse(shared).refresh_snapshot()
    say(
        f"\nDone: both sites are in {shared}"
        + (f" (snapshot for SQL clients: {snapshot})" if snapshot else "")
        + f"; each site's own file is in {Path(shared).parent / 'sites'}\n"
    )
    say(report(shared, [s.name for s in sites]))
    return shared


def demo_sites_command(args: argparse.Namespace) -> int:
    """``moodle-assets demo --sites N``."""
    demo_dagster_home()
    try:
        sites = start_demo_sites(args.sites, port=args.port, seed=args.seed, scale=args.scale)
    except (ValueError, OSError) as exc:
        print(f"moodle-assets demo: {exc}")
        return 2
    try:
        print(f"{len(sites)} demo Moodle sites serving", flush=True)
        run_demo_sites(sites, say=lambda text: print(text, flush=True))
        if args.no_ui:
            return 0
        names = ", ".join(s.name for s in sites)
        print(
            f"\nDagster UI: http://127.0.0.1:{args.ui_port}\n"
            f"  Every asset is partitioned by site ({names}): open moodle/courses -> Partitions to see\n"
            "  each site's partition; Materialize asks which sites (all of them: one run per site).\n"
            "  moodle/calendar_events is partitioned by site x day. Stop with Ctrl-C.\n",
            flush=True,
        )
        command = [sys.executable, "-m", "dagster", "dev", "-m", "moodle_assets.definitions"]
        ui = subprocess.run([*command, "-h", "127.0.0.1", "-p", str(args.ui_port)], env=os.environ.copy(), check=False)
        return ui.returncode
    except KeyboardInterrupt:
        return 0
    finally:
        for site in sites:
            site.server.stop()


__all__ = [
    "demo_sites_command",
    "demo_sites_environment",
    "harvest_demo_sites",
    "report",
    "run_demo_sites",
    "single_site_demo_notice",
    "site_counts",
]
