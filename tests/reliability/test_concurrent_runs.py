"""Two runs at once, in two processes, against one site and one DuckDB file.

A single-run backfill of 60 calendar partitions starts while a full harvest of every other
asset is under way. Both succeed, the file ends up exactly as a sequential run leaves it
(every table, every calendar partition, no duplicates), and the site never has more calls in
flight than the two runs' ``max_concurrency`` together: each run holds at most its own.
Across runs it is the ``moodle_api`` pool that bounds how many Moodle assets call the site at
once; every Moodle asset is in it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from moodle_assets.assets.factory import POOL
from moodle_assets.demo.dataset import DemoConfig, generate
from moodle_assets.demo.server import DEMO_TOKEN, DemoServer
from tests.assets.helpers import endpoint_assets, resources, rows, run
from tests.conftest import DEMO_NOW
from tests.reliability.concurrent_run_process import CALENDAR, range_tags, run_config
from tests.reliability.reliability_helpers import ordered_columns

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("concurrent_run_process.py")
CALENDAR_FUNCTION = "core_calendar_get_calendar_events"
ENROL = "core_enrol_get_enrolled_users"
MAX_CONCURRENCY = 3  # per run (per asset: each run here executes one asset at a time)

# 60 daily partitions around the demo site's "now", where its events are.
_DEMO_DAY = datetime.fromtimestamp(DEMO_NOW, UTC).date()
FIRST = (_DEMO_DAY - timedelta(days=42)).isoformat()
LAST = (_DEMO_DAY + timedelta(days=17)).isoformat()


def test_every_moodle_asset_is_in_the_moodle_api_pool():
    from moodle_assets.definitions import defs

    moodle = [a for a in defs.assets if any(k.path[0] == "moodle" for k in a.keys)]
    assert len(moodle) >= 28
    assert {a.key.to_user_string(): a.op.pool for a in moodle} == {a.key.to_user_string(): POOL for a in moodle}
    assert POOL == "moodle_api"


@pytest.fixture(scope="module")
def busy_site():
    """A small site that serves four requests at a time, 5 ms each, like a modest PHP-FPM pool."""
    with DemoServer(generate(DemoConfig(now=DEMO_NOW, scale=0.3)), workers=4, service_ms=5) as server:
        yield server


def _calendar_assets():
    return endpoint_assets([CALENDAR])


def _start(args: list[str]) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "MOODLE_CALENDAR_START")}
    env.update(MOODLE_TOKEN=DEMO_TOKEN, PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=str(ROOT),
    )


def _go(process: subprocess.Popen) -> None:
    process.stdin.write("go\n")
    process.stdin.flush()


def _finish(process: subprocess.Popen, timeout: float = 120) -> str:
    out, _ = process.communicate(timeout=timeout)
    return out.strip().splitlines()[-1] if out.strip() else f"exit {process.returncode}"


def _wait_for(condition, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


def _contents(db: str) -> dict[str, list[tuple]]:
    """Every table of schema moodle, without load times; bookkeeping without its timestamps."""
    tables = [
        r[0]
        for r in rows(db, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'moodle' ORDER BY 1")
    ]
    out = {}
    for name in tables:
        if name == "_loads":
            sql = "SELECT table_name, partition_key, row_count FROM moodle._loads ORDER BY ALL"
        elif name == "_errors":
            sql = "SELECT table_name, partition_key, item::VARCHAR, function, errorcode, message FROM moodle._errors ORDER BY ALL"
        else:
            sql = f'SELECT {ordered_columns(db, name)} FROM moodle."{name}" ORDER BY ALL'
        out[name] = rows(db, sql)
    return out


def _sequential(site, folder: Path) -> dict[str, list[tuple]]:
    """The same two runs one after the other, in this process: what the file must end up as."""
    folder.mkdir()
    db = str(folder / "warehouse.duckdb")
    res = resources(site.url, DEMO_TOKEN, db, max_concurrency=MAX_CONCURRENCY)
    assert run([a for a in endpoint_assets() if a.partitions_def is None], res).success
    assert run(_calendar_assets(), res, run_config=run_config("calendar"), tags=range_tags(FIRST, LAST)).success
    return _contents(db)


def test_a_backfill_and_a_full_harvest_at_once_leave_the_tables_of_a_sequential_run(busy_site, tmp_path):
    partitions = _calendar_assets()[0].partitions_def.get_partition_keys()
    window = partitions[partitions.index(FIRST) : partitions.index(LAST) + 1]
    assert len(window) == 60

    db = str(tmp_path / "warehouse.duckdb")
    harvest = _start([busy_site.url, db, str(MAX_CONCURRENCY), "harvest"])
    backfill = _start([busy_site.url, db, str(MAX_CONCURRENCY), "calendar", FIRST, LAST])
    try:
        # The sequential runs go while the two processes start up (each waits for "go" before its run).
        sequential = _sequential(busy_site, tmp_path / "sequential")
        assert harvest.stdout.readline().strip() == "READY"
        assert backfill.stdout.readline().strip() == "READY"
        busy_site.reset_calls()
        _go(harvest)
        # The backfill starts once the harvest has loaded courses (the calendar's lookup) and
        # is fanning out over them.
        _wait_for(lambda: any(c.function == ENROL for c in busy_site.calls))
        started_at = len(busy_site.calls)
        _go(backfill)
        backfill_result = _finish(backfill)
        calls_when_backfill_done = len(busy_site.calls)
        harvest_result = _finish(harvest)
    finally:
        for process in (harvest, backfill):
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
    assert (harvest_result, backfill_result) == ("SUCCESS", "SUCCESS")

    # The two runs really overlapped: the backfill's calls came while the harvest went on calling.
    functions = [c.function for c in busy_site.calls]
    assert CALENDAR_FUNCTION not in functions[:started_at]
    courses = rows(db, "SELECT count(*) FROM moodle.courses")[0][0]
    assert functions.count(CALENDAR_FUNCTION) == courses >= 3  # one per course
    assert len(functions) > calls_when_backfill_done + 100

    # Never more in flight than each run's bound: one run's asset at a time holds at most
    # MAX_CONCURRENCY calls, so the site sees at most two runs' worth.
    assert busy_site.peak_in_flight <= 2 * MAX_CONCURRENCY, busy_site.peak_by_function
    assert max(busy_site.peak_by_function.values()) <= MAX_CONCURRENCY, busy_site.peak_by_function

    # The file is exactly what the two runs one after the other leave.
    concurrent = _contents(db)
    assert set(concurrent) == set(sequential)
    differ = {
        name: (
            sorted(set(concurrent[name]) - set(sequential[name]))[:2],
            sorted(set(sequential[name]) - set(concurrent[name]))[:2],
        )
        for name in concurrent
        if concurrent[name] != sequential[name]
    }
    assert differ == {}

    # Every calendar partition of the window was loaded once, and no event is there twice.
    loads = rows(
        db,
        "SELECT partition_key, count(*) FROM moodle._loads WHERE table_name = 'moodle.calendar_events' "
        "GROUP BY ALL ORDER BY 1",
    )
    assert loads == [(key, 1) for key in window]
    assert rows(db, "SELECT id FROM moodle.calendar_events GROUP BY id HAVING count(*) > 1") == []
    assert rows(
        db, "SELECT count(*), min(_partition) >= ?, max(_partition) <= ? FROM moodle.calendar_events", [FIRST, LAST]
    ) == [(len(sequential[CALENDAR]), True, True)]
    assert len(sequential[CALENDAR]) > 50
    # One load per unpartitioned table: neither run overwrote the other's work with a second.
    assert (
        rows(
            db, "SELECT count(*) FROM moodle._loads WHERE partition_key IS NULL GROUP BY table_name HAVING count(*) > 1"
        )
        == []
    )
