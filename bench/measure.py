"""One measured side of bench/run.py's in-process view: the site as a child process, and a
harvest run against it in a child process of its own.

Every in-process figure (the chain side by side, "everything", the concurrency sweep, the
incremental refresh) is taken the same way, so that the sides are comparable: the site's
counters reset, the side started as a fresh process (bench/project_side.py or
bench/sequential_harvester.py) that reports its own wall, CPU and RSS on stdout, and the calls
the site served meanwhile, counted by the site itself, added to its result.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.common import SiteModel, parse_result

ROOT = Path(__file__).resolve().parent.parent
CHILD_TIMEOUT = 1800


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


def sequential(site: Site, db: str) -> dict[str, Any]:
    return measure(site, [str(ROOT / "bench" / "sequential_harvester.py"), site.url, db])
