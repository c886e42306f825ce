"""The demo Moodle with the site model, in its own process, driven over stdin.

    python bench/site.py --scale 1 --workers 2 --service-ms 32 --jitter-ms 8 [--now EPOCH]

Prints ``{"url": ...}`` once listening, then answers one JSON line per command read on
stdin: ``reset`` (forget the calls seen, restart the CPU clock), ``stats`` (calls by
wsfunction since the last reset, and the server's CPU seconds) and ``simulate SHARE`` (a
day of activity by about SHARE of the students, ``moodle_assets.demo.activity.simulate_day``,
on the dataset the server is serving; answers what changed). Exits on end of input.
Counting on the server side counts what the site really served, retries included.

``--now`` anchors the dataset's clock (default: the benchmark's pinned date). The
incremental measurement anchors it to this machine's clock, as its cut-off is.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import DEMO_NOW, cpu_seconds  # noqa: E402
from moodle_assets.demo.activity import simulate_day  # noqa: E402
from moodle_assets.demo.dataset import DemoConfig, generate  # noqa: E402
from moodle_assets.demo.server import DemoServer  # noqa: E402


def day_summary(report, students: int, now: int) -> dict:
    """The simulated day as counts per change type, and the site's new clock."""
    changes = {}
    for name, value in dataclasses.asdict(report).items():
        if name != "active_users":
            changes[name] = (
                value if isinstance(value, int) else len(value) if isinstance(value, list) else int(bool(value))
            )
    # the (course, user) of the changes no signal shows: tables may differ there until the rotation
    unseen = report.completions_overridden + report.courses_completed + report.badges_issued
    return {
        "active_users": len(report.active_users),
        "students": students,
        "now": now,
        "changes": changes,
        "unsignalled": sorted({(c.courseid, c.userid) for c in unseen}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--service-ms", type=float, default=32.0)
    parser.add_argument("--jitter-ms", type=float, default=8.0)
    parser.add_argument("--now", type=int, default=DEMO_NOW, help="the dataset's clock (epoch seconds)")
    args = parser.parse_args()
    dataset = generate(DemoConfig(now=args.now, scale=args.scale))
    server = DemoServer(dataset, workers=args.workers or None, service_ms=args.service_ms, jitter_ms=args.jitter_ms)
    server.start()
    print(json.dumps({"url": server.url}), flush=True)
    cpu0 = cpu_seconds()
    try:
        for line in sys.stdin:
            command = line.strip()
            if command == "reset":
                server.reset_calls()
                cpu0 = cpu_seconds()
                print(json.dumps({"ok": True}), flush=True)
            elif command.startswith("simulate"):
                share = float(command.split()[1]) if len(command.split()) > 1 else 0.05
                report = simulate_day(server.dataset, active_share=share)
                students = {e["userid"] for e in server.dataset.enrolments if e["role"] == "student"}
                print(json.dumps(day_summary(report, len(students), server.dataset.now)), flush=True)
            elif command == "stats":
                calls = collections.Counter(call.function for call in list(server.calls))
                print(json.dumps({"calls": dict(calls), "cpu": cpu_seconds() - cpu0}), flush=True)
            else:
                print(json.dumps({"error": f"unknown command {command!r}"}), flush=True)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
