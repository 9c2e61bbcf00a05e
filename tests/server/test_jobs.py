"""Every /kf/api/ route against the real local backend, with real (tiny) jobs.

Each reply is also checked against openapi.yaml by the ``api`` fixture."""

from __future__ import annotations

import pytest

from .conftest import QUICK, SLOW, until


async def phase(api, name: str) -> str:
    reply = await api("GET", "jobs", name)
    return reply.json["status"]["phase"] if reply.status == 200 else f"HTTP {reply.status}"


async def launch(api, name: str, cell: str = QUICK, workers: int = 2, **fields):
    reply = await api(
        "POST",
        "jobs",
        body={"name": name, "framework": "pytorch", "workers": workers, "cell": cell, **fields},
    )
    assert reply.status == 201, reply.body
    return reply


async def test_config(api):
    reply = await api("GET", "config")
    assert reply.status == 200
    config = reply.json
    assert config["backend"] == "local" and config["namespace"] == "local"
    assert config["available"] is True
    assert config["eventSchema"] == "https://events.jupyter-kf.org/job/v1"
    assert [p["name"] for p in config["profiles"]] == ["small"]
    assert {f["framework"] for f in config["frameworks"]} >= {"pytorch", "tensorflow", "jax"}


async def test_spec_document_is_served(api):
    reply = await api("GET", "spec.yaml")
    assert reply.status == 200 and b"openapi: 3.0.3" in reply.body


async def test_create_run_and_read_a_two_worker_job(api, local, jp_base_url):
    reply = await launch(api, "two")
    assert reply.headers["Location"] == f"{jp_base_url}kf/api/jobs/two"
    job = reply.json
    assert job["name"] == "two" and job["kind"] == "PyTorchJob" and job["workers"] == 2
    assert job["spec"]["replicas"] == {"Master": 1, "Worker": 1}
    assert job["spec"]["code"]["origin"] == "cell"

    assert await until(lambda: _is(api, "two", "Succeeded"))
    listing = (await api("GET", "jobs")).json
    assert listing["namespace"] == "local"
    [summary] = listing["jobs"]
    assert summary["name"] == "two" and "spec" not in summary
    assert summary["status"]["phase"] == "Succeeded"
    assert {r["name"] for r in summary["replicas"]} == {"master-0", "worker-0"}

    logs = (await api("GET", "jobs", "two", "logs")).json
    assert logs["lines"][0] == "rank 0 of 2"
    logs = (await api("GET", "jobs", "two", "logs", params={"replica": "worker-0"})).json
    assert logs == {
        "name": "two",
        "replica": "worker-0",
        "lines": ["rank 1 of 2", "epoch=1 loss=0.5"],
    }
    tail = (await api("GET", "jobs", "two", "logs", params={"tail_lines": "1"})).json
    assert tail["lines"] == ["epoch=1 loss=0.5"]

    events = (await api("GET", "jobs", "two", "events")).json["events"]
    assert events and all(e["type"] in ("Normal", "Warning") for e in events)
    metrics = (await api("GET", "jobs", "two", "metrics")).json["metrics"]
    assert {m["loss"] for m in metrics} == {0.5} and len(metrics) == 2
    # The same job is what any other process sees: the folder is the source of truth.
    assert local.get("two").phase == "Succeeded"


async def _is(api, name, wanted):
    return await phase(api, name) == wanted


async def test_jobs_made_elsewhere_show_up(api, local):
    local.submit(name="from-cli", framework="tensorflow", workers=1, cell="print('hi')")
    names = [j["name"] for j in (await api("GET", "jobs")).json["jobs"]]
    assert names == ["from-cli"]


async def test_create_from_a_script_under_the_root(api, jp_root_dir, local):
    (jp_root_dir / "exp").mkdir()
    (jp_root_dir / "exp" / "helper.py").write_text("VALUE = 42\n")
    (jp_root_dir / "exp" / "train.py").write_text("import helper\nprint('value', helper.VALUE)\n")
    reply = await api(
        "POST",
        "jobs",
        body={
            "name": "scripted",
            "workers": 1,
            "script": "exp/train.py",
            "args": ["--x"],
            "profile": "small",
        },
    )
    assert reply.status == 201, reply.body
    spec = reply.json["spec"]
    assert spec["code"]["filename"] == "train.py" and spec["code"]["args"] == ["--x"]
    assert spec["code"]["files"] == {"helper.py": "VALUE = 42\n"}
    assert spec["resources"] == {"cpu": "1", "memory": "1Gi"}
    local.wait("scripted", timeout=60)
    assert (await api("GET", "jobs", "scripted", "logs")).json["lines"] == ["value 42"]


async def test_cell_imports_travel_from_the_notebook_folder(api, jp_root_dir, local):
    (jp_root_dir / "nb").mkdir()
    (jp_root_dir / "nb" / "util.py").write_text("X = 1\n")
    reply = await api(
        "POST",
        "jobs",
        body={"name": "celljob", "cell": "import util\n", "notebook": "nb/analysis.ipynb"},
    )
    assert reply.status == 201
    assert reply.json["spec"]["code"]["files"] == {"util.py": "X = 1\n"}


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (b"{not json", 400, "not JSON"),
        (b"[1, 2]", 400, "JSON object"),
        (b"", 400, "JSON object"),
        ({"name": "x", "cell": "1", "args": "no"}, 400, "args must be a list"),
        ({"name": "x", "script": 3}, 400, "script must be a string"),
        ({"name": "x", "cell": 3}, 400, "cell must be a string"),
        ({"name": "Bad_Name", "colour": "red", "workers": 0}, 422, "problems"),
        ({"name": "x", "script": "../../etc/passwd"}, 422, "outside the server's root"),
        ({"name": "x", "script": "missing.py"}, 422, "no script"),
        ({"name": "x", "script": "a.py", "cell": "1"}, 422, "not both"),
        ({"name": "x", "cell": "1", "profile": "huge"}, 422, "unknown profile"),
        ({"name": "x", "cell": "1", "workers": 9}, 422, "at most 8"),
        ({"name": "x", "framework": "caffe"}, 422, "caffe"),
    ],
)
async def test_create_refuses_bad_bodies(api, body, status, words):
    raw = body if isinstance(body, bytes) else None
    reply = await api("POST", "jobs", body=None if raw is not None else body, raw=raw)
    assert reply.status == status, reply.body
    error = reply.json
    assert words in error["message"] or words in error
    assert error["reason"] == ("BadRequest" if status == 400 else "InvalidSpecError")


async def test_invalid_spec_lists_every_problem(api):
    reply = await api("POST", "jobs", body={"name": "Bad_Name", "colour": "red"})
    assert reply.status == 422
    assert len(reply.json["problems"]) >= 1
    assert any("colour" in p for p in reply.json["problems"])


async def test_a_taken_name_is_a_conflict(api, local):
    await launch(api, "dup", workers=1)
    reply = await api("POST", "jobs", body={"name": "dup", "cell": QUICK})
    assert reply.status == 409 and reply.json["reason"] == "ConflictError"


async def test_scale_suspend_resume_a_running_job(api, local):
    await launch(api, "slow", cell=SLOW, workers=2)
    assert await until(lambda: _is(api, "slow", "Running"))
    reply = await api("POST", "jobs", "slow", "scale", body={"workers": 3})
    assert reply.status == 200, reply.body
    assert reply.json["workers"] == 3
    assert reply.json["spec"]["replicas"] == {"Master": 1, "Worker": 2}

    for bad, status in [
        ({"workers": "3"}, 400),
        ({"workers": True}, 400),
        ({}, 400),
        ({"workers": 2, "x": 1}, 400),
        ([3], 400),
        ({"workers": 0}, 422),
        ({"workers": 99}, 422),
    ]:
        reply = await api("POST", "jobs", "slow", "scale", body=bad)
        assert reply.status == status, (bad, reply.body)

    reply = await api("POST", "jobs", "slow", "suspend")
    assert reply.status == 200 and reply.json["status"]["phase"] == "Suspended"
    reply = await api("POST", "jobs", "slow", "resume")
    assert reply.status == 200 and reply.json["status"]["phase"] != "Suspended"


async def test_finished_jobs_refuse_changes(api, local):
    await launch(api, "done", workers=1)
    local.wait("done", timeout=60)
    for action, body in [("scale", {"workers": 2}), ("suspend", None), ("resume", None)]:
        reply = await api("POST", "jobs", "done", action, body=body)
        assert reply.status == 409, (action, reply.body)
        assert "Succeeded" in reply.json["message"]


async def test_delete(api, local):
    await launch(api, "gone", cell=SLOW, workers=2)
    reply = await api("DELETE", "jobs", "gone")
    assert reply.status == 204 and reply.body == b""
    assert (await api("GET", "jobs", "gone")).status == 404
    assert (await api("DELETE", "jobs", "gone")).status == 404
    assert local.list() == []


@pytest.mark.parametrize(
    ("method", "parts", "body"),
    [
        ("GET", ("jobs", "nope"), None),
        ("DELETE", ("jobs", "nope"), None),
        ("POST", ("jobs", "nope", "scale"), {"workers": 2}),
        ("POST", ("jobs", "nope", "suspend"), None),
        ("POST", ("jobs", "nope", "resume"), None),
        ("GET", ("jobs", "nope", "logs"), None),
        ("GET", ("jobs", "nope", "events"), None),
        ("GET", ("jobs", "nope", "metrics"), None),
        ("GET", ("jobs", "Not A Name!"), None),
    ],
)
async def test_unknown_jobs_are_404(api, method, parts, body):
    reply = await api(method, *parts, body=body)
    assert reply.status == 404
    assert (
        reply.json["reason"] == "NotFoundError"
        and "nope" in reply.json["message"]
        or "Not A Name" in reply.json["message"]
    )


async def test_logs_errors(api, local):
    await launch(api, "logjob", workers=1)
    local.wait("logjob", timeout=60)
    reply = await api("GET", "jobs", "logjob", "logs", params={"replica": "worker-7"})
    assert reply.status == 404 and "master-0" in reply.json["message"]
    for bad in ("-1", "ten"):
        reply = await api("GET", "jobs", "logjob", "logs", params={"tail_lines": bad})
        assert reply.status == 400 and "tail_lines" in reply.json["message"]


def test_openapi_documents_exactly_the_routes():
    """Every REST route and verb is in openapi.yaml, and the document promises no other."""
    import re

    from jupyter_kf.server.handlers import LogsWebSocket, default_handlers

    from .openapi_check import document

    served = set()
    for pattern, handler in default_handlers:
        if handler is LogsWebSocket:
            continue
        path = "/" + re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", pattern).replace("/?", "")
        for verb in ("get", "post", "delete", "put", "patch"):
            if verb in vars(handler):
                served.add((path, verb))
    documented = {
        (path, verb)
        for path, item in document()["paths"].items()
        for verb in item
        if verb in ("get", "post", "delete", "put", "patch")
    }
    assert served == documented
