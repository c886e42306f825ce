"""Probe the site model: calls/s with 1, 2, 4, 8, 16 calls in flight.

Each in-flight slot is a thread with its own keep-alive ``httpx.Client`` calling
``core_webservice_get_site_info`` back to back for a fixed time. The best rate seen is the
site's measured capacity, the divisor of the benchmark's floor (calls / capacity).
"""

from __future__ import annotations

import threading
import time

import httpx

REST = "/webservice/rest/server.php"


def probe(url: str, token: str, in_flight: int, seconds: float = 3.0) -> float:
    """Calls per second served with ``in_flight`` clients calling back to back."""
    done = [0] * in_flight
    deadline = [0.0]
    start = threading.Barrier(in_flight + 1)

    def worker(slot: int) -> None:
        with httpx.Client(timeout=30) as http:
            data = {"wstoken": token, "wsfunction": "core_webservice_get_site_info", "moodlewsrestformat": "json"}
            http.post(url + REST, data=data).raise_for_status()  # warm the connection
            start.wait()
            while time.perf_counter() < deadline[0]:
                http.post(url + REST, data=data).raise_for_status()
                done[slot] += 1

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(in_flight)]
    for thread in threads:
        thread.start()
    deadline[0] = time.perf_counter() + seconds + 0.0
    start.wait()
    began = time.perf_counter()
    deadline[0] = began + seconds
    for thread in threads:
        thread.join()
    return sum(done) / (time.perf_counter() - began)


def sweep(url: str, token: str, levels=(1, 2, 4, 8, 16), seconds: float = 3.0) -> dict[int, float]:
    return {level: probe(url, token, level, seconds) for level in levels}
