"""GET /kf/api/jobs/{name}/updates: one job's new events, metric points and log lines as a
long poll, resumable from the cursor of any reply (each reply is checked against
openapi.yaml by the ``api`` fixture)."""

from __future__ import annotations

import asyncio
import time

import pytest

from jupyter_kf.server.streams import MAX_LINES
from jupyter_kf.server.watcher import JobWatcher

from .conftest import SLOW

TICKING = (
    "import time\n"
    "for i in range(6):\n"
    "    print(f'step={i} loss={1 / (i + 1):.3f}', flush=True)\n"
    "    time.sleep(0.25)\n"
)


async def poll(api, name: str, **params) -> dict:
    reply = await api("GET", "jobs", name, "updates", params={k: str(v) for k, v in params.items()})
    assert reply.status == 200, reply.body
    return reply.json


async def follow(api, name: str, since: str = "", **params) -> tuple[list[dict], str]:
    """Every reply from ``since`` until ``done``, and the last cursor."""
    replies, state = [], ""
    for _ in range(500):
        reply = await poll(api, name, since=since, state=state, timeout=30, **params)
        replies.append(reply)
        since, state = reply["cursor"], reply["state"]
        if reply["done"]:
            return replies, since
    raise AssertionError("the stream never ended")


def lines_of(replies: list[dict], replica: str = "master-0") -> list[str]:
    return [line for r in replies for line in r["logs"].get(replica, [])]


async def test_a_running_job_streams_to_its_end(api):
    reply = await api("POST", "jobs", body={"name": "live", "workers": 2, "cell": TICKING})
    assert reply.status == 201
    replies, _ = await follow(api, "live")
    assert replies[0]["job"]["name"] == "live"  # the first reply carries the job
    assert lines_of(replies) == [f"step={i} loss={1 / (i + 1):.3f}" for i in range(6)]
    assert len(replies) > 2  # the lines came while the job ran, not all at the end
    points = [p for r in replies for p in r["metrics"] if p["replica"] == "master-0"]
    assert [p["step"] for p in points] == list(range(6))
    reasons = [e["reason"] for r in replies for e in r["events"]]
    assert reasons.count("Started") == 2 and reasons[-1] == "Succeeded"
    phases = [r["job"]["status"]["phase"] for r in replies if r["job"]]
    assert phases[-1] == "Succeeded"
    # A job's state comes only when it changed: never twice the same in a row.
    states = [r["state"] for r in replies if r["job"]]
    assert all(a != b for a, b in zip(states, states[1:], strict=False))


async def test_bounded_replies_and_resuming_lose_and_repeat_nothing(api, local):
    total = MAX_LINES * 2 + 10
    cell = f"for i in range({total}):\n    print('line', i)\n"
    await api("POST", "jobs", body={"name": "big", "workers": 1, "cell": cell})
    await asyncio.to_thread(local.wait, "big", timeout=60)
    replies, _ = await follow(api, "big", replica="master-0")
    assert [len(r["logs"].get("master-0", [])) for r in replies[:2]] == [MAX_LINES, MAX_LINES]
    assert not replies[0]["done"]
    assert lines_of(replies) == [f"line {i}" for i in range(total)]
    # A consumer that went away after the first reply resumes from its cursor.
    rest, _ = await follow(api, "big", since=replies[0]["cursor"])
    assert lines_of(replies[:1]) + lines_of(rest) == [f"line {i}" for i in range(total)]
    events = [e["reason"] for r in rest for e in r["events"]]
    assert events == [e["reason"] for r in replies[1:] for e in r["events"]]


async def test_nothing_new_waits_then_answers_empty(api, local):
    local.submit(name="quiet", framework="pytorch", workers=1, cell=SLOW)
    first = await poll(api, "quiet")
    assert first["job"]["name"] == "quiet" and not first["done"]
    cursor, state = first["cursor"], first["state"]
    # Until the job has printed and settled, there is news; then a poll waits it out.
    for _ in range(50):
        started = time.monotonic()
        reply = await poll(api, "quiet", since=cursor, state=state, timeout=1)
        if not (reply["job"] or reply["events"] or reply["logs"] or reply["metrics"]):
            break
        cursor, state = reply["cursor"], reply["state"]
    else:
        raise AssertionError("the job never went quiet")
    assert time.monotonic() - started >= 0.9
    assert reply == {
        "cursor": cursor,
        "state": state,
        "job": None,
        "events": [],
        "metrics": [],
        "logs": {},
        "deleted": False,
        "done": False,
    }
    local.delete("quiet")
    gone = await api(
        "GET", "jobs", "quiet", "updates", params={"since": cursor, "state": state, "timeout": "5"}
    )
    assert gone.status == 404 or gone.json["deleted"]


@pytest.mark.parametrize(
    ("name", "params", "status"),
    [
        ("nope", {}, 404),
        ("known", {"replica": "worker-9"}, 404),
        ("known", {"since": "not-a-cursor"}, 400),
        ("known", {"timeout": "61"}, 400),
        ("known", {"timeout": "soon"}, 400),
    ],
)
async def test_bad_requests(api, local, name, params, status):
    local.submit(name="known", framework="pytorch", workers=1, cell=SLOW)
    reply = await api("GET", "jobs", name, "updates", params=params)
    assert reply.status == status, reply.body


async def test_the_watcher_stops_at_once(local):
    """One watch for the server's life, ended by its stop event, not by a timer."""
    sent: list[dict] = []
    watcher = JobWatcher(local, None, sent.append, loop=asyncio.get_running_loop())
    watcher.start()
    local.submit(name="seen", framework="pytorch", workers=1, cell=SLOW)
    deadline = time.monotonic() + 60
    while not any(e["name"] == "seen" for e in sent):
        assert time.monotonic() < deadline, "no event for the job"
        await asyncio.sleep(0.1)
    watcher.stop()
    started = time.monotonic()
    while watcher.alive:
        assert time.monotonic() - started < 3, "the watch did not end when stopped"
        await asyncio.sleep(0.05)
