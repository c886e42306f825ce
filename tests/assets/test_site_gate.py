"""The per-site gate that steps running side by side share (moodle/site_gate.py).

Each step's client lives in its own thread and event loop; the gate must bound the calls in
flight across all of them, hand slots on in order, and never lose a slot to a cancelled call.
"""

from __future__ import annotations

import asyncio
import threading

from moodle_assets.moodle.site_gate import SiteGate, site_gate


def _loops_at_once(gate: SiteGate, loops: int, calls: int, limit: int, seconds: float = 0.002) -> int:
    """``loops`` threads, each an event loop making ``calls`` calls 4 at a time through ``gate``."""
    in_flight, peak, lock = [0], [0], threading.Lock()

    async def one() -> None:
        await gate.acquire(limit)
        try:
            with lock:
                in_flight[0] += 1
                peak[0] = max(peak[0], in_flight[0])
            await asyncio.sleep(seconds)
            with lock:
                in_flight[0] -= 1
        finally:
            gate.release()

    async def client() -> None:
        bound = asyncio.Semaphore(4)

        async def bounded() -> None:
            async with bound:
                await one()

        await asyncio.gather(*(bounded() for _ in range(calls)))

    threads = [threading.Thread(target=asyncio.run, args=(client(),)) for _ in range(loops)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return peak[0]


def test_clients_in_several_threads_share_one_bound():
    gate = SiteGate()
    assert _loops_at_once(gate, loops=4, calls=40, limit=3) == 3
    assert gate.in_flight == 0 and gate.peak == 3


def test_cancelled_waiters_give_their_slot_back():
    gate = SiteGate()

    async def main() -> None:
        await gate.acquire(1)  # the only slot
        waiters = [asyncio.create_task(gate.acquire(1)) for _ in range(5)]
        await asyncio.sleep(0.01)
        waiters[0].cancel()  # cancelled while queued
        gate.release()  # granted to waiters[1]...
        waiters[1].cancel()  # ...which gives up before it runs: the slot goes on to waiters[2]
        await asyncio.sleep(0.01)
        assert waiters[2].done() and not waiters[2].cancelled()
        gate.release()
        await asyncio.wait_for(waiters[3], 1)
        gate.release()
        await asyncio.wait_for(waiters[4], 1)
        gate.release()

    asyncio.run(main())
    assert gate.in_flight == 0
    assert _loops_at_once(gate, loops=2, calls=10, limit=2) == 2


def test_one_gate_per_site():
    a = site_gate("https://a.example/webservice/rest/server.php")
    assert a is site_gate("https://a.example/webservice/rest/server.php")
    assert a is not site_gate("https://b.example/webservice/rest/server.php")
