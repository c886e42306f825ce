"""Measure a command the way a user waits for it: from process start to its end, every process.

    python bench/user_side.py [--env K=V ...] [--label NAME] -- COMMAND ...

Starts COMMAND (e.g. ``dagster asset materialize ...``, ``dagster job execute ...`` or a
script) in a fresh process and reports, as one ``RESULT {json}`` line:

* ``wall``: seconds from starting the process to its exit (imports, loading the code, the
  Dagster instance, every step process and the run itself);
* ``cpu``: user + system CPU seconds of every process of the run. This process makes itself
  a *child subreaper* (``PR_SET_CHILD_SUBREAPER``), so step processes, fork servers and
  watchers whose parent does not wait for them are re-parented to it and reaped here; their
  CPU then lands in ``getrusage(RUSAGE_CHILDREN)`` like that of the direct child;
* ``peak_rss_mb``: the largest resident set of the process tree at any moment (the sum over
  its live processes, sampled every 50 ms from /proc), ``peak_pss_mb`` the same in
  proportional set size (pages shared between forked processes counted once), and
  ``max_process_rss_mb`` the largest single process (``ru_maxrss`` of the reaped children);
* ``processes``: how many distinct processes the tree had;
* with ``--series-seconds W``, ``rss_series``: the largest tree RSS (and PSS, and process
  count) of each W-second window from the command's start, so memory over a long run can be
  read (does it grow with the rows harvested, or peak at one load?), and
  ``started_monotonic`` / ``started_epoch``: the start on this machine's monotonic clock
  (the one bench/site.py stamps its call counts with) and in epoch seconds (Dagster's
  event log), to line windows up with calls and steps.

The wrapper's own CPU (the sampling) is not in the figures.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import emit  # noqa: E402

PR_SET_CHILD_SUBREAPER = 36
SAMPLE_SECONDS = 0.05


def make_subreaper() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


def _children(pid: int) -> list[int]:
    """The children of ``pid`` (of every one of its threads), from /proc."""
    out: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tasks:
        try:
            out.extend(int(c) for c in Path(f"/proc/{pid}/task/{tid}/children").read_text().split())
        except OSError:
            continue
    return out


def _memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in KB, 0 when it is gone."""
    rss = pss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    except (OSError, ValueError):
        pass
    return rss, pss


class TreeSampler(threading.Thread):
    """Samples the memory of every process below ``root`` (this process) until stopped."""

    def __init__(self, window: float = 0.0) -> None:
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.peak_rss_kb = self.peak_pss_kb = 0
        self.seen: set[int] = set()
        self.window, self.t0 = window, time.monotonic()
        self.series: list[list[int]] = []  # per window: max RSS KB, max PSS KB, max processes

    def _record(self, rss: int, pss: int, processes: int) -> None:
        index = max(int((time.monotonic() - self.t0) // self.window), 0)
        while len(self.series) <= index:
            self.series.append([0, 0, 0])
        row = self.series[index]
        row[0], row[1], row[2] = max(row[0], rss), max(row[1], pss), max(row[2], processes)

    def run(self) -> None:
        me = os.getpid()
        while not self.stop.is_set():
            todo, tree = _children(me), []
            while todo:
                pid = todo.pop()
                tree.append(pid)
                todo.extend(_children(pid))
            self.seen.update(tree)
            rss = pss = 0
            for pid in tree:
                r, p = _memory_kb(pid)
                rss, pss = rss + r, pss + p
            self.peak_rss_kb, self.peak_pss_kb = max(self.peak_rss_kb, rss), max(self.peak_pss_kb, pss)
            if self.window:
                self._record(rss, pss, len(tree))
            self.stop.wait(SAMPLE_SECONDS)


def reap_orphans(deadline: float) -> None:
    """Wait for every descendant re-parented to this process (a fork server that outlives the
    command by a moment), so their CPU is counted."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            if time.monotonic() > deadline:
                return
            time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", action="append", default=[], metavar="K=V", help="set in the command's environment")
    parser.add_argument("--label", default="")
    parser.add_argument("--log", help="write the command's output here")
    parser.add_argument("--series-seconds", type=float, default=0.0, help="also report RSS per window of this length")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    env = dict(os.environ)
    env.update(item.split("=", 1) for item in args.env)
    make_subreaper()
    sampler = TreeSampler(args.series_seconds)
    log = open(args.log, "w") if args.log else subprocess.DEVNULL  # noqa: SIM115
    sampler.start()
    started = time.perf_counter()
    sampler.t0, started_epoch = time.monotonic(), time.time()
    proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    code = proc.wait()
    wall = time.perf_counter() - started
    reap_orphans(time.monotonic() + 30)
    sampler.stop.set()
    sampler.join()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    if log is not subprocess.DEVNULL:
        log.close()
    series = {}
    if args.series_seconds:
        series = {
            "started_monotonic": sampler.t0,
            "started_epoch": started_epoch,
            "rss_series": {
                "window_s": args.series_seconds,
                "rss_mb": [round(r / 1024, 1) for r, _, _ in sampler.series],
                "pss_mb": [round(p / 1024, 1) for _, p, _ in sampler.series],
                "processes": [n for _, _, n in sampler.series],
            },
        }
    emit(
        series
        | {
            "side": args.label or os.path.basename(command[0]),
            "success": code == 0,
            "returncode": code,
            "wall": wall,
            "cpu": usage.ru_utime + usage.ru_stime,
            "peak_rss_mb": sampler.peak_rss_kb / 1024,
            "peak_pss_mb": sampler.peak_pss_kb / 1024,
            "max_process_rss_mb": usage.ru_maxrss / 1024,
            "processes": len(sampler.seen),
        }
    )


if __name__ == "__main__":
    main()
