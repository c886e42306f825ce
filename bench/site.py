"""The demo Moodle with the site model, in its own process, driven over stdin.

    python bench/site.py --scale 1 --workers 2 --service-ms 32 --jitter-ms 8

Prints ``{"url": ...}`` once listening, then answers one JSON line per command read on
stdin: ``reset`` (forget the calls seen, restart the CPU clock) and ``stats`` (calls by
wsfunction since the last reset, and the server's CPU seconds). Exits on end of input.
Counting on the server side counts what the site really served, retries included.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import DEMO_NOW, cpu_seconds  # noqa: E402
from moodle_assets.demo.dataset import DemoConfig, generate  # noqa: E402
from moodle_assets.demo import server as demo_server  # noqa: E402
from moodle_assets.demo.server import DemoServer  # noqa: E402

# The demo's handler sends the headers and the body in two writes on an unbuffered socket;
# with Nagle's algorithm on, the body waits for the client's delayed ACK (~40 ms on Linux),
# which caps one keep-alive connection at ~22 calls/s whatever the model says. A real
# site's web server does not stall like that, so the benchmark switches Nagle off.
demo_server._RequestHandler.disable_nagle_algorithm = True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--service-ms", type=float, default=32.0)
    parser.add_argument("--jitter-ms", type=float, default=8.0)
    args = parser.parse_args()
    dataset = generate(DemoConfig(now=DEMO_NOW, scale=args.scale))
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
            elif command == "stats":
                calls = collections.Counter(call.function for call in list(server.calls))
                print(json.dumps({"calls": dict(calls), "cpu": cpu_seconds() - cpu0}), flush=True)
            else:
                print(json.dumps({"error": f"unknown command {command!r}"}), flush=True)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
