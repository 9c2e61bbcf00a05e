"""POST /kf/api/jobs with names, args and env of 10 KB or with control characters: 422
with a message naming the problem, and no job; a legitimate 10 KB argument goes through."""

from __future__ import annotations

import pytest

TEN_KB = 10 * 1024
BASE = {"framework": "pytorch", "workers": 1, "cell": "import sys\nprint(len(sys.argv[-1]))"}


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"name": "a" * TEN_KB}, f"({TEN_KB + len('-master-0')} characters, at most 63)"),
        ({"name": "bell\x07"}, "name 'bell\\x07' is not allowed"),
        ({"name": "nl\nname"}, "is not allowed"),
        ({"name": "ok", "args": ["a\x00b"]}, "argument 1 contains a NUL character"),
        ({"name": "ok", "env": {"K": "a\x00b"}}, "env 'K' contains a NUL character"),
        ({"name": "ok", "env": {"K\x01": "v"}}, "env name 'K\\x01' is not allowed"),
        ({"name": "ok", "env": {"K" * TEN_KB: "v\x00"}}, "contains a NUL character"),
    ],
    ids=[
        "long-name",
        "bell-name",
        "newline-name",
        "nul-arg",
        "nul-env",
        "ctl-env-name",
        "long-nul-env",
    ],
)
async def test_bad_fields_are_422_with_the_problem(api, local, fields, says):
    reply = await api("POST", "jobs", body={**BASE, **fields})
    assert reply.status == 422, reply.body[:300]
    body = reply.json
    assert body["reason"] == "InvalidSpecError"
    assert any(says in p for p in body["problems"]), body["problems"]
    assert local.list() == []


async def test_a_10_kb_argument_goes_through_intact(api, local):
    reply = await api("POST", "jobs", body={**BASE, "name": "longarg", "args": ["x" * TEN_KB]})
    assert reply.status == 201, reply.body[:300]
    job = local.wait("longarg", timeout=60)
    assert job.phase == "Succeeded"
    assert list(local.logs("longarg")) == [str(TEN_KB)]
