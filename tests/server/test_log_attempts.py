"""GET /kf/api/jobs/{name}/logs?attempt=N: one run of a replica, and .../logs/download, the
whole log as a file, against the real local backend (a master that fails once, then
succeeds); replies checked against openapi.yaml."""

from __future__ import annotations

from jupyter_kf.server.payloads import MAX_TAIL_LINES
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


async def test_the_whole_log_downloads_as_a_file_past_the_tail_limit(api, local):
    """More lines than one logs request may ask for (MAX_TAIL_LINES): the file has them all."""
    count = MAX_TAIL_LINES + 2_500
    await launch(
        api, "big-log", cell=f"for i in range({count}):\n    print('line', i)\n", workers=1
    )
    assert local.wait("big-log", timeout=60).phase == "Succeeded"
    reply = await api("GET", "jobs", "big-log", "logs", "download", params={"replica": "master-0"})
    assert reply.status == 200
    assert reply.headers["Content-Disposition"] == 'attachment; filename="big-log-master-0.log"'
    lines = reply.body.decode().splitlines()
    assert len(lines) == count and lines[0] == "line 0" and lines[-1] == f"line {count - 1}"

    await launch(api, "again-file", cell=ONCE, workers=1)
    assert local.wait("again-file", timeout=60).phase == "Succeeded"
    reply = await api("GET", "jobs", "again-file", "logs", "download", params={"attempt": "0"})
    assert reply.body.decode() == "attempt zero starts\nattempt zero fails\n"
    reply = await api("GET", "jobs", "nope", "logs", "download")
    assert reply.status == 404
    reply = await api("GET", "jobs", "again-file", "logs", "download", params={"attempt": "x"})
    assert reply.status == 400 and "attempt" in reply.json["message"]
