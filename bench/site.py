"""The demo Moodle with the site model, in its own process, driven over stdin.

    python bench/site.py --scale 1 --workers 2 --service-ms 32 --jitter-ms 8 [--now EPOCH]

Prints ``{"url": ..., "generate_s": ..., "rss_mb": ...}`` once listening (the seconds the
dataset took to generate and the process's resident memory then), then answers one JSON
line per command read on stdin: ``reset`` (forget the calls seen, restart the CPU clock),
``stats`` (calls by wsfunction since the last reset, and the server's CPU seconds),
``count`` (calls received since the start, resets included, with this machine's monotonic
clock, the process's RSS and CPU seconds: cheap enough to poll every second during a run,
for calls/s over time) and ``simulate SHARE`` (a day of activity by about SHARE of the
students, ``moodle_assets.demo.activity.simulate_day``, on the dataset the server is
serving; answers what changed). Exits on end of input. Counting on the server side counts
what the site really served, retries included. Commands are read by the main thread while
the server's threads answer calls.

The emulator's table scans are replaced by indexed look-ups (bench/site_lookups.py) so its
own CPU per call does not grow with ``--scale``; ``--scans`` keeps the scans, to compare
with results measured before. The generated dataset is moved out of the garbage
collector's reach (``gc.freeze``): it lives as long as the process, and a full collection
walking its millions of objects (hundreds of MB at 100x) would hold every worker.

``--now`` anchors the dataset's clock (default: the benchmark's pinned date). The
incremental measurement anchors it to this machine's clock, as its cut-off is.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import gc
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import site_lookups  # noqa: E402
from bench.common import DEMO_NOW, cpu_seconds, rss_mb  # noqa: E402
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
    parser.add_argument("--scans", action="store_true", help="keep the emulator's table scans (bench/site_lookups.py)")
    args = parser.parse_args()
    started = time.perf_counter()
    dataset = generate(DemoConfig(now=args.now, scale=args.scale))
    generated = time.perf_counter() - started
    if not args.scans:
        site_lookups.install()
        site_lookups.warm(dataset)
    gc.collect()
    gc.freeze()
    server = DemoServer(dataset, workers=args.workers or None, service_ms=args.service_ms, jitter_ms=args.jitter_ms)
    server.start()
    print(
        json.dumps(
            {
                "url": server.url,
                "generate_s": round(generated, 2),
                "ready_s": round(time.perf_counter() - started, 2),
                "rss_mb": round(rss_mb(), 1),
                "lookups": not args.scans,
            }
        ),
        flush=True,
    )
    cpu0 = cpu_seconds()
    earlier = 0  # calls received before the last reset
    try:
        for line in sys.stdin:
            command = line.strip()
            if command == "count":
                print(
                    json.dumps(
                        {
                            "calls": earlier + len(server.calls),
                            "t": time.monotonic(),
                            "rss_mb": rss_mb(),
                            "cpu": cpu_seconds(),
                        }
                    ),
                    flush=True,
                )
            elif command == "reset":
                earlier += len(server.calls)
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
