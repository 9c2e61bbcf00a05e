"""How the shared watch wakes waiting spawners (pure: no cluster, no hub).

The watch threads report changes; the hub's event loop must get one callback per burst,
not one per watch event, and a waiter must wake on a change or at its timeout.
"""

from __future__ import annotations

import asyncio
import threading
import time

from kubernetes import client

from jupyter_kf.hub.watch import PodWatch


def _watch() -> PodWatch:
    # Never started: no thread, no request; only the waking is exercised.
    return PodWatch(
        client.ApiClient(client.Configuration()), label_selector="a=b", pod_prefix="jupyter-"
    )


def test_a_burst_of_changes_costs_the_loop_one_callback():
    async def main():
        watch = _watch()
        loop = watch._loop = asyncio.get_running_loop()
        flushes = []
        real_flush = watch._flush
        watch._flush = lambda: (flushes.append(1), real_flush())
        waiting = [asyncio.ensure_future(watch.wait_change("ns", f"p{i}", 30)) for i in range(50)]
        await asyncio.sleep(0)  # all registered

        def storm():  # a watch thread: 1,000 events about 50 pods
            for n in range(1000):
                watch._notify(("ns", f"p{n % 50}"))

        await loop.run_in_executor(None, storm)
        started = time.monotonic()
        await asyncio.wait_for(asyncio.gather(*waiting), 5)
        assert time.monotonic() - started < 1
        # one per batch the loop saw (the thread holds the GIL for ~5 ms at a time), not
        # one per event
        assert len(flushes) < 100
        assert not watch._waiters and not watch._changed

    asyncio.run(main())


def test_a_change_reported_from_another_thread_wakes_the_waiter():
    async def main():
        watch = _watch()
        watch._loop = asyncio.get_running_loop()
        waiter = asyncio.ensure_future(watch.wait_change("ns", "p", 30))
        await asyncio.sleep(0)
        thread = threading.Thread(target=watch._notify, args=(("ns", "p"),))
        thread.start()
        thread.join()
        await asyncio.wait_for(waiter, 5)

    asyncio.run(main())


def test_wait_change_returns_at_its_timeout_and_leaves_nothing_behind():
    async def main():
        watch = _watch()
        watch._loop = asyncio.get_running_loop()
        started = time.monotonic()
        await watch.wait_change("ns", "p", 0.2)
        assert 0.15 < time.monotonic() - started < 2
        assert not watch._waiters
        watch._notify(("ns", "p"))  # nobody waits: harmless
        await asyncio.sleep(0.05)
        assert not watch._changed

    asyncio.run(main())


def test_wake_all_wakes_every_waiter():
    async def main():
        watch = _watch()
        watch._loop = asyncio.get_running_loop()
        waiting = [asyncio.ensure_future(watch.wait_change("ns", f"p{i}", 30)) for i in range(5)]
        await asyncio.sleep(0)
        watch._wake_all()
        await asyncio.wait_for(asyncio.gather(*waiting), 5)

    asyncio.run(main())
