"""What every backend promises, whatever runs the jobs."""

import pytest

from jupyter_kf.errors import (
    ConflictError,
    InvalidSpecError,
    JobFailedError,
    JobTimeoutError,
    NotFoundError,
)

HELLO = ["hello from {rank}", "step=1 loss=0.5"]


def submit(env, name, **kwargs):
    client, scenario = env
    return client.submit(scenario.job(name, **kwargs))


def test_a_job_from_submit_to_delete(env):
    client, _ = env
    job = submit(env, "hello", workers=2, prints=HELLO, seconds=1)
    assert job.name == "hello" and job.kind == "PyTorchJob" and job.workers == 2
    assert job.phase in ("Pending", "Created", "Running")
    first = next(iter(client.watch(name="hello", timeout=60)))
    assert first.type == "ADDED" and first.job.name == "hello"
    done = client.wait("hello", timeout=120)
    assert done.phase == "Succeeded" and done.status.finished
    assert done.status.has("Created") and done.status.completion_time
    assert [r.name for r in done.replicas] == ["master-0", "worker-0"]
    assert [j.name for j in client.list()] == ["hello"]
    assert "hello from 0" in list(client.logs("hello"))
    assert "hello from 1" in list(client.logs("hello", replica="worker-0"))
    assert list(client.logs("hello", tail_lines=1)) == ["step=1 loss=0.5"]
    assert {"step": 1, "loss": 0.5}.items() <= client.metrics("hello")[0].items()
    assert client.events("hello")
    client.delete("hello")
    with pytest.raises(NotFoundError):
        client.get("hello")
    assert client.list() == []


def test_watch_sees_every_phase_up_to_the_end(env):
    client, _ = env
    submit(env, "watched", seconds=2)
    seen = []
    for change in client.watch(name="watched", timeout=60):
        seen.append((change.type, change.job.phase))
        if change.job.phase == "Succeeded":
            break
    assert seen[0][0] == "ADDED"
    assert seen[-1] == ("MODIFIED", "Succeeded")
    assert ("MODIFIED", "Running") in seen or seen[0][1] == "Running"


def test_taken_name_is_a_conflict(env):
    submit(env, "dup", seconds=30)
    with pytest.raises(ConflictError):
        submit(env, "dup")


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.get("ghost"),
        lambda c: list(c.logs("ghost")),
        lambda c: c.events("ghost"),
        lambda c: c.metrics("ghost"),
        lambda c: c.scale("ghost", 2),
        lambda c: c.suspend("ghost"),
        lambda c: c.resume("ghost"),
        lambda c: c.delete("ghost"),
        lambda c: c.wait("ghost", timeout=1),
    ],
)
def test_unknown_job_is_not_found(env, call):
    with pytest.raises(NotFoundError):
        call(env[0])


def test_wait_times_out_and_reports_failure(env):
    client, _ = env
    submit(env, "slow", seconds=60)
    with pytest.raises(JobTimeoutError, match="after 1 s"):
        client.wait("slow", timeout=1)
    submit(env, "bad", exit_code=2, restart_policy="Never")
    with pytest.raises(JobFailedError, match="failed"):
        client.wait("bad", timeout=60)
    assert client.wait("bad", conditions=("Failed",), timeout=5).phase == "Failed"


def test_invalid_scale_is_refused(env):
    client, _ = env
    submit(env, "sized", seconds=60)
    with pytest.raises(InvalidSpecError):
        client.scale("sized", 0)
