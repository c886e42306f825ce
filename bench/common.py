"""Shared pieces of the benchmark: the site model, process measurements, the fan-out chain."""

from __future__ import annotations

import json
import resource
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

# The demo dataset's clock is pinned, so every run harvests the same data.
DEMO_NOW = 1_795_700_000

# The fan-out chain of the issue: courses needs course_index; quiz_attempts joins quizzes
# with enrolled_users.
CHAIN = ["course_index", "courses", "enrolled_users", "activity_completion", "quizzes", "quiz_attempts"]

# Primary keys used to check that two harvests hold the same rows.
KEYS = {
    "course_index": ["id"],
    "courses": ["id"],
    "enrolled_users": ["courseid", "id"],
    "activity_completion": ["courseid", "userid", "cmid"],
    "quizzes": ["id"],
    "quiz_attempts": ["id"],
}


@dataclass(frozen=True)
class SiteModel:
    """A PHP-FPM site on a small host: ``workers`` requests served at once, each ``service_ms``
    (+ up to ``jitter_ms``, uniform).

    Calibrated on a small real Moodle 4.5 site (2 cores): ~25 calls/s to one sequential
    client, ~55 calls/s saturated with 4 calls in flight, no gain beyond. A CPU-bound PHP
    site on 2 cores behaves like 2 workers of ~36 ms each: one client waits 36 ms + its own
    round trip per call (~25/s), and 2 busy workers serve 2 / 36 ms = ~55/s.
    """

    workers: int = 2
    service_ms: float = 32.0
    jitter_ms: float = 8.0

    @property
    def nominal_capacity(self) -> float:
        """Calls per second the model serves when saturated (no client or loopback cost)."""
        return self.workers / ((self.service_ms + self.jitter_ms / 2) / 1000.0)


def cpu_seconds() -> float:
    """User + system CPU seconds of this process (all its threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    """Peak resident set size of this process, MB (Linux reports ru_maxrss in KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    """Current resident set size, MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return peak_rss_mb()


class Stopwatch:
    """Wall time and CPU time of a phase of this process."""

    def __enter__(self) -> Stopwatch:
        self.wall0, self.cpu0 = time.perf_counter(), cpu_seconds()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall0
        self.cpu = cpu_seconds() - self.cpu0


def emit(result: dict[str, Any]) -> None:
    """The last line a measured child prints: its result as JSON."""
    print("RESULT " + json.dumps(result, default=str), flush=True)


def parse_result(stdout: str) -> dict[str, Any]:
    for line in reversed(stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise RuntimeError("the measured process printed no result:\n" + stdout[-2000:])


def model_dict(model: SiteModel) -> dict[str, Any]:
    return asdict(model) | {"nominal_capacity": round(model.nominal_capacity, 1)}
