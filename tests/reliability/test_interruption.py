"""A run killed mid-fetch or mid-write leaves the previous table; a locked file names its holder."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from moodle_assets.demo.faults import Fault, FaultPlan
from moodle_assets.demo.server import DEMO_TOKEN
from tests.assets.helpers import rows
from tests.reliability.reliability_helpers import errors, failure_messages, harvest, table

ENROL = "core_enrol_get_enrolled_users"
ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("harvest_process.py")


def _start(args: list[str]) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    env.update(MOODLE_TOKEN=DEMO_TOKEN, PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=str(ROOT)
    )


def _wait_for(condition, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def _kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    process.stdout.close()


def _assert_intact_then_rerun(site, db: str, baseline, before: list[tuple], loads_before: int) -> None:
    assert table(db, "enrolled_users", loaded_at=True) == before
    assert rows(db, "SELECT count(*) FROM moodle._loads")[0][0] == loads_before
    assert rows(db, "SELECT table_name FROM information_schema.tables WHERE table_name LIKE '%loading%'") == []
    site.faults = None
    assert harvest(site, db, ["enrolled_users"]).success
    assert table(db, "enrolled_users") == baseline[1]["enrolled_users"]
    assert rows(db, "SELECT courseid, id FROM moodle.enrolled_users GROUP BY ALL HAVING count(*) > 1") == []
    assert errors(db, "enrolled_users") == []


def test_sigkill_while_fetching_leaves_the_previous_table_and_a_rerun_completes(site, db, baseline):
    before = table(db, "enrolled_users", loaded_at=True)
    loads_before = rows(db, "SELECT count(*) FROM moodle._loads")[0][0]
    site.faults = FaultPlan([Fault("slow", function=ENROL, seconds=0.3)])
    process = _start([str(SCRIPT), site.url, db, "enrolled_users"])
    try:
        _wait_for(lambda: sum(c.function == ENROL for c in site.calls) >= 3)
        assert process.poll() is None
    finally:
        _kill(process)
    _assert_intact_then_rerun(site, db, baseline, before, loads_before)


def test_sigkill_inside_the_write_transaction_leaves_the_previous_table(site, db, baseline):
    before = table(db, "enrolled_users", loaded_at=True)
    loads_before = rows(db, "SELECT count(*) FROM moodle._loads")[0][0]
    process = _start([str(SCRIPT), site.url, db, "enrolled_users", "pause-in-write"])
    try:
        _wait_for(lambda: process.stdout.readline().strip() == "WRITING")
    finally:
        _kill(process)
    _assert_intact_then_rerun(site, db, baseline, before, loads_before)


def test_a_file_locked_by_another_process_waits_then_fails_naming_the_pid(site, db, baseline):
    before = table(db, "course_index", loaded_at=True)
    holder = _start(
        [
            "-c",
            "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); print('HELD', flush=True); time.sleep(60)",
            db,
        ]
    )
    try:
        assert holder.stdout.readline().strip() == "HELD"
        started = time.monotonic()
        result = harvest(site, db, ["course_index"], lock_timeout_seconds=2)
        waited = time.monotonic() - started
    finally:
        _kill(holder)
    assert not result.success and waited >= 2
    locked = [m for m in failure_messages(result) if "is locked by process PID" in m]
    assert len(locked) == 1
    assert f"is locked by process PID {holder.pid} (" in locked[0]
    assert re.search(
        r"; gave up after 2\.\ds of retries\. Close that connection \(a notebook, DuckDB CLI or "
        r"UI on this file\) or wait for the run holding it to finish; to read while runs write, "
        r"query the snapshot \S+warehouse_snapshot\.duckdb instead\.",
        locked[0],
    )
    assert table(db, "course_index", loaded_at=True) == before
    assert harvest(site, db, ["course_index"]).success
    assert table(db, "course_index") == baseline[1]["course_index"]


def test_the_locked_failure_headline_names_the_pid(site, db):
    holder = _start(
        [
            "-c",
            "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); print('HELD', flush=True); time.sleep(60)",
            db,
        ]
    )
    try:
        assert holder.stdout.readline().strip() == "HELD"
        result = harvest(site, db, ["course_index"], lock_timeout_seconds=0.5)
    finally:
        _kill(holder)
    [message] = failure_messages(result)
    assert message.startswith(f"course_index: DuckDB database {db} is locked by process PID {holder.pid} (")
