"""The REST API and Trainer v2, on the local backend (which runs TrainJobs for real): the
runtimes route the launch form's picker reads, a TrainJob created by runtime with its nodes,
its runtime and a scale's notice in ``extra``, and a ``kind/name`` reaching the backend
through the job routes as one URL-encoded path segment.

Each reply is also checked against openapi.yaml by the ``api`` fixture."""

from __future__ import annotations

import json

from jupyter_server.utils import url_path_join

from . import openapi_check
from .conftest import SLOW, until


async def test_runtimes_route_lists_what_a_trainjob_may_name(api):
    reply = await api("GET", "runtimes")
    assert reply.status == 200, reply.body
    assert reply.json["namespace"] == "local"
    runtimes = {r["name"]: r for r in reply.json["runtimes"]}
    assert list(runtimes) == ["torch-distributed", "jax-distributed", "xgboost-distributed"]
    assert runtimes["torch-distributed"]["mlPolicy"] == "torch"
    assert runtimes["torch-distributed"]["numNodes"] == 1


async def test_a_trainjob_by_runtime_with_extra_and_scale_notice(api, local):
    body = {"name": "tj", "runtime": "torch-distributed", "workers": 2, "cell": SLOW}
    reply = await api("POST", "jobs", body=body)
    assert reply.status == 201, reply.body
    assert reply.json["kind"] == "TrainJob" and reply.json["workers"] == 2
    assert reply.json["extra"] == {"runtime": "torch-distributed"}

    async def running():
        got = await api("GET", "jobs", "tj")
        return got.json if got.json["status"]["phase"] == "Running" else None

    job = await until(running)
    assert [r["name"] for r in job["replicas"]] == ["node-0", "node-1"]
    listed = (await api("GET", "jobs")).json["jobs"]
    assert listed[0]["extra"]["runtime"] == "torch-distributed"

    reply = await api("POST", "jobs", "tj", "scale", body={"workers": 3})
    assert reply.status == 200, reply.body
    assert reply.json["workers"] == 3
    assert "was replaced by the same job on 3 nodes (was 2)" in reply.json["extra"]["notice"]


async def test_an_unknown_runtime_is_the_backends_message(api, local):
    body = {"name": "x", "runtime": "nope", "workers": 2, "cell": SLOW}
    reply = await api("POST", "jobs", body=body)
    assert reply.status == 422, reply.body
    assert any("does not know the runtime 'nope'" in p for p in reply.json["problems"])
    assert local.list() == []


async def test_kind_slash_name_reaches_the_backend_whole(
    http_server_client, jp_auth_header, jp_base_url, local
):
    """``TrainJob/tj`` sent as ``TrainJob%2Ftj`` (one path segment, as the panel's api.ts
    encodes a name): the handler gets ``TrainJob/tj``, and the local backend, with one job
    per name, answers that it has no job by that name. (``jp_fetch`` would escape the %.)"""
    for tail in ("", "/events"):
        url = url_path_join(jp_base_url, "kf/api/jobs/TrainJob%2Ftj") + tail
        reply = await http_server_client.fetch(url, headers=jp_auth_header, raise_error=False)
        assert reply.code == 404, (tail, reply.body)
        body = json.loads(reply.body)
        assert body["reason"] == "NotFoundError" and "'TrainJob/tj'" in body["message"], body
        openapi_check.check("GET", "/kf/api/jobs/j" + tail, reply.code, reply.headers, reply.body)
