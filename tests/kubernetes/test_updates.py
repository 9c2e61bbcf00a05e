"""``updates`` on the Kubernetes backend: the job's state and events from the namespace's
caches, log lines and metric points from ONE follow stream per replica, shared by every
consumer of the job, resumable from a cursor."""

from __future__ import annotations

import threading
import time

import pytest

from jupyter_kf.errors import NotFoundError
from jupyter_kf.jobs import Code, Cursor, JobSpec, Update
from tests.support.waiting import wait_for

pytestmark = pytest.mark.cluster

RUN = {"jupyter-kf.test/outcome": "run"}


def lines(updates: list[Update], replica: str = "master-0") -> list[str]:
    return [line for u in list(updates) for r, line in u.logs if r == replica]


def points(updates: list[Update]) -> list[dict]:
    return [p for u in list(updates) for p in u.metrics]


class Consumer:
    """``client.updates`` read in a thread, as the widget reads it."""

    def __init__(self, client, name: str, **kwargs):
        self.stop = threading.Event()
        self.got: list[Update] = []
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(client, name, kwargs))
        self.thread.start()

    def _run(self, client, name, kwargs) -> None:
        try:
            for update in client.updates(name, stop=self.stop, **kwargs):
                self.got.append(update)
        except BaseException as exc:
            self.error = exc

    def close(self) -> float:
        started = time.monotonic()
        self.stop.set()
        self.thread.join(10)
        assert not self.thread.is_alive()
        return time.monotonic() - started


def submit(client, name: str, workers: int = 2, **annotations: str) -> None:
    client.submit(
        JobSpec.create(
            "pytorch",
            name=name,
            workers=workers,
            code=Code("print(1)"),
            pod_annotations=annotations or RUN,
        )
    )


def test_one_shared_stream_resume_stop_and_delete(user, cluster, admin_api):
    c, ns = user.client, user.namespace
    log = cluster.set_pod_logs(admin_api, ns, "live-master-0", ["starting", "step=0 loss=1.0"])
    submit(c, "live")
    first = Consumer(c, "live")
    wait_for(lambda: lines(first.got) == ["starting", "step=0 loss=1.0"], timeout=60)
    assert first.got[0].job is not None and first.got[0].job.name == "live"
    assert points(first.got) == [{"replica": "master-0", "step": 0, "loss": 1.0}]
    wait_for(lambda: any(u.events for u in first.got), timeout=30)  # the operator's events
    mark = first.got[-1].cursor
    assert mark.lines("master-0") == 2 and mark.metrics == 1

    cluster.append_pod_logs(log, ["step=1 loss=0.5", "epoch done"])
    wait_for(lambda: lines(first.got)[2:] == ["step=1 loss=0.5", "epoch done"], timeout=30)
    assert [p["step"] for p in points(first.got)] == [0, 1]

    # A second consumer of the same job shares the stream: the lines already read come from
    # the follower's buffer, new ones from the same stream.
    follower = user.backend._ns(None).followers.find("live", "master-0")
    opened = follower.opened
    second = Consumer(c, "live")
    wait_for(lambda: len(lines(second.got)) == 4, timeout=30)
    cluster.append_pod_logs(log, ["step=2 loss=0.25"])
    wait_for(lambda: lines(second.got)[-1:] == ["step=2 loss=0.25"], timeout=30)
    wait_for(lambda: lines(first.got)[-1:] == ["step=2 loss=0.25"], timeout=30)
    assert follower.opened == opened  # no second request for the log
    assert lines(second.got) == lines(first.got)

    # Resuming from a cursor: exactly what came after it, nothing repeated.
    resumed = list(c.updates("live", since=mark, timeout=3))
    assert lines(resumed) == ["step=1 loss=0.5", "epoch done", "step=2 loss=0.25"]
    assert [p["step"] for p in points(resumed)] == [1, 2]
    assert resumed[0].job is not None  # the first update always carries the state
    end = resumed[-1].cursor
    assert end.lines("master-0") == 5 and end.metrics == 3
    assert end.events == first.got[-1].cursor.events

    # Stop returns soon even when nothing changes.
    assert second.close() < 1.5
    assert second.error is None

    # Deleted: a last update says so, and the stream ends.
    c.delete("live")
    first.thread.join(30)
    assert not first.thread.is_alive() and first.error is None
    assert first.got[-1].deleted


def test_ends_after_the_job_finished_and_drained(user, cluster, admin_api):
    c, ns = user.client, user.namespace
    out = [f"epoch={i} loss={1 / (i + 1):.4f}" for i in range(5)]
    cluster.set_pod_logs(admin_api, ns, "short-master-0", out)
    submit(c, "short", workers=1, **{"jupyter-kf.test/after": "4s"})
    got = list(c.updates("short", timeout=90))
    assert got[-1].job is None or got[-1].job.phase == "Succeeded"
    phases = [u.job.phase for u in got if u.job is not None]
    assert phases[-1] == "Succeeded"
    assert lines(got) == out
    assert [p["epoch"] for p in points(got)] == [0, 1, 2, 3, 4]
    # Read again from the start after the end: the same sequence of items.
    again = list(c.updates("short", timeout=30))
    assert lines(again) == out and points(again) == points(got)
    assert again[-1].cursor == got[-1].cursor
    # And from the end: nothing but the state.
    tail = list(c.updates("short", since=got[-1].cursor, timeout=30))
    assert len(tail) == 1 and tail[0].job is not None and not tail[0].logs
    assert c.metrics("short") == points(got)  # the snapshot agrees


def test_other_replicas_and_unknown_ones(user, cluster, admin_api):
    c, ns = user.client, user.namespace
    cluster.set_pod_logs(admin_api, ns, "two-master-0", ["rank0 says step=1 x=2", "step=1 loss=2"])
    cluster.set_pod_logs(admin_api, ns, "two-worker-0", ["worker line"])
    submit(c, "two")
    got = []
    for update in c.updates("two", replicas=["worker-0"], timeout=60):
        got.append(update)
        if lines(got, "worker-0") and points(got):
            break
    assert lines(got, "worker-0") == ["worker line"]
    assert lines(got, "master-0") == []  # not asked for
    assert points(got) == [{"replica": "master-0", "step": 1, "loss": 2}]  # rank 0's, still
    assert got[-1].cursor.lines("worker-0") == 1
    with pytest.raises(NotFoundError, match="no replica 'worker-7'"):
        c.updates("two", replicas=["worker-7"])
    with pytest.raises(NotFoundError):
        c.updates("nope")
    assert Cursor.from_token(got[-1].cursor.to_token()) == got[-1].cursor
