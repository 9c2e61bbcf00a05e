"""How the shared watch wakes waiting spawners (pure: no cluster, no hub).

The watch threads report changes; the hub's event loop must get one callback per burst,
not one per watch event, and a waiter must wake on a change or at its timeout.
"""

from __future__ import annotations

import asyncio
import threading
import time

from kubernetes import client

from jupyter_kf.hub.watch import WAKE_BATCH, PodWatch


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


def test_poke_wakes_only_that_pods_waiters():
    # A spawn's own progress step wakes its progress stream at once (no 0.5 s timer per
    # open progress page), and nobody else's.
    async def main():
        watch = _watch()
        watch._loop = asyncio.get_running_loop()
        mine = asyncio.ensure_future(watch.wait_change("ns", "p", 30))
        other = asyncio.ensure_future(watch.wait_change("ns", "q", 30))
        await asyncio.sleep(0)
        started = time.monotonic()
        watch.poke("ns", "p")
        await asyncio.wait_for(mine, 5)
        assert time.monotonic() - started < 1
        await asyncio.sleep(0.05)
        assert not other.done()
        other.cancel()

    asyncio.run(main())


def test_a_batch_of_changes_resumes_its_waiters_a_few_per_turn_of_the_loop():
    # A hundred pods turning ready in one watch batch must not resume a hundred spawns
    # in one turn of the loop (each runs the hub's end of a spawn before it next awaits):
    # others get the loop between batches, and every waiter still wakes at once.
    async def main():
        watch = _watch()
        loop = watch._loop = asyncio.get_running_loop()
        resumed_at: list[int] = []
        turn = 0

        async def spawn(i):
            await watch.wait_change("ns", f"p{i}", 30)
            resumed_at.append(turn)

        tasks = [asyncio.ensure_future(spawn(i)) for i in range(100)]
        await asyncio.sleep(0)
        for i in range(100):
            watch._changed.add(("ns", f"p{i}"))
        watch._flush_pending = True
        loop.call_soon(watch._flush)
        started = time.monotonic()
        while not all(t.done() for t in tasks):
            turn += 1
            await asyncio.sleep(0)  # one turn of the loop
        assert time.monotonic() - started < 1
        per_turn = [resumed_at.count(t) for t in set(resumed_at)]
        assert max(per_turn) <= WAKE_BATCH
        assert len(resumed_at) == 100
        assert not watch._waiters

    asyncio.run(main())


def test_waiters_whose_timeouts_fall_due_together_resume_a_few_per_turn():
    # Spawns that began together wait with the same timeout: their timers fire in one
    # turn, and each resumed spawn reads its pod and runs its checks before it next awaits.
    async def main():
        watch = _watch()
        loop = watch._loop = asyncio.get_running_loop()
        resumed_at: list[int] = []
        turns = [0]

        def count_turns():  # runs once in every turn of the loop
            turns[0] += 1
            loop.call_soon(count_turns)

        async def spawn(i):
            await watch.wait_change("ns", f"p{i}", 0.05)
            resumed_at.append(turns[0])

        tasks = [asyncio.ensure_future(spawn(i)) for i in range(60)]
        count_turns()
        started = time.monotonic()
        await asyncio.wait_for(asyncio.gather(*tasks), 5)
        assert time.monotonic() - started < 1
        per_turn = [resumed_at.count(t) for t in set(resumed_at)]
        assert max(per_turn) <= WAKE_BATCH
        assert len(resumed_at) == 60
        assert not watch._waiters and not watch._due

    asyncio.run(main())


def test_the_health_check_wakes_waiters_only_when_the_cache_comes_or_goes():
    # Every few seconds the supervisor checks the caches; waking every waiting spawn at
    # each check would be loop work for nothing while the cache stays in step.
    async def main():
        watch = _watch()
        watch._loop = asyncio.get_running_loop()
        waiting = asyncio.ensure_future(watch.wait_change("ns", "p", 30))
        await asyncio.sleep(0)
        watch.check_health()  # not synced, as before: nothing to tell
        await asyncio.sleep(0.05)
        assert not waiting.done()
        watch.pods.synced = True
        watch.check_health()  # the cache came: look at it
        await asyncio.wait_for(waiting, 5)
        again = asyncio.ensure_future(watch.wait_change("ns", "p", 30))
        await asyncio.sleep(0)
        watch.check_health()  # still in step
        await asyncio.sleep(0.05)
        assert not again.done()
        watch.pods.synced = False
        watch.check_health()  # it went: read the pod with a GET instead
        await asyncio.wait_for(again, 5)

    asyncio.run(main())
