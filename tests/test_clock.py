"""The project clock: one "now" for the demo site, macros, loads, the `test` command and analytics,
settable in-process and, through MOODLE_ASSETS_NOW, for every process started afterwards."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from moodle_assets import clock
from moodle_assets.analytics import AnalyticsSettings
from moodle_assets.assets.factory import build_endpoint_asset
from moodle_assets.cli import demo_window
from moodle_assets.demo.dataset import DemoConfig, generate
from moodle_assets.demo.server import DEMO_TOKEN
from moodle_assets.endpoints import load_specs
from moodle_assets.endpoints.macros import MacroContext, render
from tests.assets.helpers import resources, run
from tests.conftest import DEMO_NOW

ROOT = Path(__file__).resolve().parents[1]
DAY = 86400
# Far from DEMO_NOW and from the system clock, so no test can pass by reading either.
ELSEWHERE = datetime(2031, 5, 17, 8, 30, tzinfo=UTC)
UPDATES_FILE = """
- name: recent_updates
  function: core_course_get_updates_since
  params: {courseid: 2, since: "{now-1}"}
  data_path: "$.instances[*]"
"""


@pytest.fixture()
def system_clock(monkeypatch):
    """The clock as an installation without MOODLE_ASSETS_NOW has it."""
    monkeypatch.setattr(clock, "_override", None)
    monkeypatch.delenv(clock.ENV, raising=False)


def test_tests_stand_at_the_demo_moment():
    assert clock.now() == datetime.fromtimestamp(DEMO_NOW, UTC)
    assert os.environ[clock.ENV] == str(DEMO_NOW)


def test_unset_it_is_the_system_clock(system_clock):
    before = datetime.now(UTC)
    moment = clock.now()
    assert before <= moment <= datetime.now(UTC)
    assert moment.tzinfo is UTC
    assert clock.today() == moment.date() or clock.today() == datetime.now(UTC).date()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1795700000", datetime(2026, 11, 26, 13, 33, 20, tzinfo=UTC)),
        (" 1795700000.5 ", datetime(2026, 11, 26, 13, 33, 20, 500000, tzinfo=UTC)),
        ("2026-11-26T13:33:20Z", datetime(2026, 11, 26, 13, 33, 20, tzinfo=UTC)),
        ("2026-11-26T15:33:20+02:00", datetime(2026, 11, 26, 13, 33, 20, tzinfo=UTC)),
        ("2026-11-26T13:33:20", datetime(2026, 11, 26, 13, 33, 20, tzinfo=UTC)),  # no zone: UTC
        ("2026-11-26", datetime(2026, 11, 26, tzinfo=UTC)),
    ],
)
def test_environment_variable_sets_it(system_clock, monkeypatch, text, expected):
    monkeypatch.setenv(clock.ENV, text)
    assert clock.now() == expected and clock.now().utcoffset() == timedelta(0)
    assert clock.now_ts() == int(expected.timestamp())


@pytest.mark.parametrize("text", ["tomorrow", "2026-13-01", "inf", "nan"])
def test_a_bad_environment_value_is_refused_by_name(system_clock, monkeypatch, text):
    monkeypatch.setenv(clock.ENV, text)
    with pytest.raises(ValueError, match=f"^{clock.ENV}: {text!r} is not a moment"):
        clock.now()


def test_in_process_setting_wins_and_frozen_restores(system_clock, monkeypatch):
    monkeypatch.setenv(clock.ENV, "1700000000")
    with clock.frozen(ELSEWHERE) as moment:
        assert clock.now() == moment == ELSEWHERE
        assert os.environ[clock.ENV] == "1700000000"  # the environment is left alone
    assert clock.now_ts() == 1700000000
    with clock.frozen("2030-01-01", environment=True):
        assert os.environ[clock.ENV] == str(int(datetime(2030, 1, 1, tzinfo=UTC).timestamp()))
    assert os.environ[clock.ENV] == "1700000000"
    clock.set_now(ELSEWHERE.timestamp())
    assert clock.now() == ELSEWHERE
    clock.set_now(None)
    assert clock.now_ts() == 1700000000


def test_every_consumer_reads_it():
    with clock.frozen(ELSEWHERE):
        ts = int(ELSEWHERE.timestamp())
        assert generate(DemoConfig(scale=0.1)).now == ts
        assert AnalyticsSettings().now_ts() == ts
        assert AnalyticsSettings(now=5).now_ts() == 5
        assert render("{now-1}", MacroContext()) == ts - DAY
        assert render("{now}", MacroContext(date_format="%Y-%m-%d")) == "2031-05-17"


def test_a_load_sends_the_clock_moment(demo_server, tmp_path):
    """{now-1} in a materialised endpoint is a day before the project clock, not the system's."""
    path = tmp_path / "moodle_endpoints.yaml"
    path.write_text(UPDATES_FILE)
    spec = next(s for s in load_specs(path) if s.name == "recent_updates")
    first = len(demo_server.calls)
    with clock.frozen(ELSEWHERE):
        assert run(
            [build_endpoint_asset(spec)], resources(demo_server.url, DEMO_TOKEN, str(tmp_path / "m.duckdb"))
        ).success
    sent = [dict(c.fields) for c in demo_server.calls[first:] if c.function == "core_course_get_updates_since"]
    assert [s["since"] for s in sent] == [str(int(ELSEWHERE.timestamp()) - DAY)]


def test_separate_processes_agree_through_the_environment(tmp_path):
    """A demo server and the `test` command in two processes, on a day neither the demo's
    fixed moment nor the system clock is: the site has updates within the command's last day."""
    env = {
        **os.environ,
        clock.ENV: ELSEWHERE.isoformat(),
        "PYTHONPATH": str(ROOT),
        "MOODLE_ENDPOINTS_FILE": str(tmp_path / "none.yaml"),
        "MOODLE_DUCKDB_PATH": str(tmp_path / "m.duckdb"),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "moodle_assets.cli", "demo-server", "--port", "0", "--scale", "0.2"],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = ""
        while "listening on" not in line:
            line = server.stderr.readline()
            assert line, "the demo server exited before listening"
        url = re.search(r"listening on (\S+)", line).group(1)
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "moodle_assets.cli",
                "test",
                "--function",
                "core_course_get_updates_since",
                "--param",
                "courseid=2",
                "--param",
                "since={now-1}",
                "--data-path",
                "$.instances[*]",
            ],
            env={**env, "MOODLE_URL": url, "MOODLE_TOKEN": DEMO_TOKEN},
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        server.kill()  # SIGKILL: a SIGTERM is ignored when the suite runs under a parent that ignores it
        server.wait(timeout=30)
    assert done.returncode == 0, done.stderr
    assert f"  since={int(ELSEWHERE.timestamp()) - DAY}" in done.stdout.splitlines()
    found = re.search(r"^Records at \$\.instances\[\*\]: (\d+)", done.stdout, re.M)
    assert found and int(found.group(1)) > 0, done.stdout


def test_the_demo_loads_the_same_window_of_partitions_every_year():
    keys = [(date(2025, 1, 1) + timedelta(days=i)).isoformat() for i in range(3000)]
    assert demo_window(keys, date(2026, 11, 26), 100, 30) == ("2026-08-18", "2026-12-26")
    start, end = demo_window(keys, date(2032, 6, 1), 100, 30)
    assert keys.index(end) - keys.index(start) + 1 == 131
    assert demo_window(keys, date(2025, 2, 1), 100, 30) == ("2025-01-01", "2025-03-03")
    assert demo_window(keys, date(2040, 1, 1), 100, 30) is None
    assert demo_window(keys, date(2020, 1, 1), 100, 30) is None
    weeks = [(date(2025, 1, 5) + timedelta(weeks=i)).isoformat() for i in range(200)]
    assert demo_window(weeks, date(2026, 11, 26), 100, 30) == ("2026-08-23", "2026-12-20")
