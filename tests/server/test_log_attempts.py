"""GET /kf/api/jobs/{name}/logs?attempt=N: one run of a replica, against the real local
backend (a master that fails once, then succeeds); replies checked against openapi.yaml."""

from __future__ import annotations

from tests.local.test_log_attempts import ONCE

from .test_jobs import launch


async def test_logs_of_one_attempt(api, local):
    await launch(api, "again", cell=ONCE, workers=1)
    assert local.wait("again", timeout=60).phase == "Succeeded"

    def get(**params):
        return api("GET", "jobs", "again", "logs", params=params)

    reply = await get(attempt="0")
    assert reply.status == 200, reply.body
    assert reply.json["attempt"] == 0
    assert reply.json["lines"] == ["attempt zero starts", "attempt zero fails"]
    assert (await get(attempt="1", tail_lines="1")).json["lines"] == ["attempt one done"]
    assert len((await get()).json["lines"]) == 4  # no attempt: the whole log

    reply = await get(attempt="4")
    assert reply.status == 404 and "its attempts are 0, 1" in reply.json["message"]
    reply = await get(attempt="-1")
    assert reply.status == 400 and "attempt must be >= 0" in reply.json["message"]
