"""The streaming contract: ``updates`` tells a job's story the same way on every backend
(its phases in order, its events, its metric points, its replicas' lines), and a consumer
that stops anywhere and resumes from its last cursor gets everything exactly once."""

from __future__ import annotations

import threading
import time

import pytest

from jupyter_kf.errors import NotFoundError
from jupyter_kf.jobs import Update
from tests.support.waiting import wait_for

from .test_backend_contract import submit

PRINTS = ["hello from {rank}", "step=1 loss=0.5", "step=2 loss=0.25", "bye from {rank}"]
ORDER = ["Pending", "Created", "Running", "Succeeded"]
REPLICAS = ["master-0", "worker-0"]


def story(updates: list[Update]) -> dict:
    """What a consumer learnt from ``updates``, whatever the batching."""
    phases = []
    for u in updates:
        if u.job is not None and (not phases or phases[-1] != u.job.phase):
            phases.append(u.job.phase)
    return {
        "phases": phases,
        "events": [(e.reason, e.message) for u in updates for e in u.events],
        "metrics": [
            {k: v for k, v in p.items() if k in ("replica", "step", "loss")}
            for u in updates
            for p in u.metrics
        ],
        "logs": {r: [line for u in updates for rr, line in u.logs if rr == r] for r in REPLICAS},
    }


def follow(client, name, since=None, **kwargs) -> list[Update]:
    return list(client.updates(name, since=since, replicas=REPLICAS, timeout=120, **kwargs))


def test_updates_tell_the_whole_story_in_order(env):
    client, _ = env
    submit(env, "story", workers=2, prints=PRINTS, seconds=2)
    updates = follow(client, "story")
    assert updates[0].job is not None and updates[0].job.name == "story"
    told = story(updates)
    assert told["phases"][-1] == "Succeeded"
    assert [ORDER.index(p) for p in told["phases"]] == sorted(
        ORDER.index(p) for p in told["phases"]
    )
    assert told["logs"] == {
        "master-0": ["hello from 0", "step=1 loss=0.5", "step=2 loss=0.25", "bye from 0"],
        "worker-0": ["hello from 1", "step=1 loss=0.5", "step=2 loss=0.25", "bye from 1"],
    }
    rank0 = [(p["step"], p["loss"]) for p in told["metrics"] if p.get("replica") == "master-0"]
    assert rank0 == [(1, 0.5), (2, 0.25)]
    # The stream and the snapshots agree: the same events (Kubernetes orders events of the
    # same second arbitrarily, so as a multiset), the same points in order.
    assert sorted(told["events"]) == sorted((e.reason, e.message) for e in client.events("story"))
    assert told["metrics"] == [
        {k: v for k, v in p.items() if k in ("replica", "step", "loss")}
        for p in client.metrics("story")
    ]
    # Positions count what was yielded.
    last = updates[-1].cursor
    assert (last.events, last.metrics) == (len(told["events"]), len(told["metrics"]))
    assert last.lines("master-0") == 4 and last.lines("worker-0") == 4
    # Streams that were drained stay drained: a resumed stream after the end has nothing.
    again = follow(client, "story", since=last)
    assert len(again) == 1 and again[0].job.phase == "Succeeded"
    assert (again[0].events, again[0].metrics, again[0].logs) == ((), (), ())


def test_resuming_from_any_cursor_loses_and_repeats_nothing(env):
    client, _ = env
    submit(env, "resumed", workers=2, prints=PRINTS, seconds=3)
    # A consumer that stops after its first update, while the job runs, and resumes.
    stream = client.updates("resumed", replicas=REPLICAS, timeout=120)
    head = [next(stream)]
    stream.close()
    assert head[0].job is not None
    rest = follow(client, "resumed", since=head[0].cursor)
    whole = follow(client, "resumed")
    assert story(head + rest)["logs"] == story(whole)["logs"]
    assert story(head + rest)["metrics"] == story(whole)["metrics"]
    assert story(head + rest)["events"] == story(whole)["events"]
    # From every cursor of the whole stream, the rest is exactly what followed it.
    for i, update in enumerate(whole[:-1]):
        tail = follow(client, "resumed", since=update.cursor)
        for key in ("logs", "metrics", "events"):
            assert story(whole[: i + 1] + tail)[key] == story(whole)[key], (i, key)


def test_stop_and_timeout_end_a_live_stream(env):
    client, _ = env
    submit(env, "endless", workers=1, prints=["up"], seconds=120)
    started = time.monotonic()
    updates = list(client.updates("endless", timeout=1.5))
    assert 1.4 <= time.monotonic() - started < 30
    assert updates[0].job is not None and not updates[-1].deleted
    stop = threading.Event()
    got: list[Update] = []
    reader = threading.Thread(target=lambda: got.extend(client.updates("endless", stop=stop)))
    reader.start()
    wait_for(lambda: got, what="the first update")
    assert got[0].job is not None
    stop.set()
    reader.join(10)
    assert not reader.is_alive()


def test_a_deleted_job_ends_its_stream(env):
    client, _ = env
    submit(env, "doomed", workers=1, prints=["up"], seconds=120)
    got: list[Update] = []
    reader = threading.Thread(target=lambda: got.extend(client.updates("doomed", timeout=120)))
    reader.start()
    wait_for(lambda: got, what="the first update")
    client.delete("doomed")
    reader.join(60)
    assert not reader.is_alive()
    assert got[-1].deleted


@pytest.mark.parametrize(
    "call",
    [
        lambda c: next(iter(c.updates("ghost"))),
        lambda c: next(iter(c.updates("known", replicas=["worker-9"]))),
    ],
)
def test_unknown_job_or_replica_is_not_found(env, call):
    submit(env, "known", seconds=60)
    with pytest.raises(NotFoundError):
        call(env[0])
