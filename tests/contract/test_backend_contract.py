"""What every backend promises, whatever runs the jobs."""

import pytest

from jupyter_kf.errors import ConflictError, InvalidSpecError, JobFailedError, JobTimeoutError, NotFoundError
from jupyter_kf.jobs import Code, JobSpec

HELLO = Code("import os\nprint('hello from', os.environ['RANK'])\nprint('step=1 loss=0.5')\n")


def test_a_job_from_submit_to_delete(client):
    job = client.submit(JobSpec.create("pytorch", name="hello", workers=2, code=HELLO))
    assert job.name == "hello" and job.kind == "PyTorchJob" and job.workers == 2
    assert job.phase in ("Pending", "Created", "Running", "Succeeded")
    first = next(iter(client.watch(name="hello", timeout=60)))
    assert first.type == "ADDED" and first.job.name == "hello"
    done = client.wait("hello", timeout=120)
    assert done.phase == "Succeeded" and done.status.finished
    assert done.status.has("Created") and done.status.completion_time
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


def test_watch_sees_every_phase_up_to_the_end(client):
    client.submit(JobSpec.create("pytorch", name="watched", workers=1,
                                 code=Code("import time; time.sleep(1)")))
    seen = []
    for change in client.watch(name="watched", timeout=60):
        seen.append((change.type, change.job.phase))
        if change.job.phase == "Succeeded":
            break
    assert seen[0][0] == "ADDED"
    assert seen[-1] == ("MODIFIED", "Succeeded")
    assert ("MODIFIED", "Running") in seen or seen[0][1] == "Running"


def test_taken_name_is_a_conflict(client):
    client.submit(JobSpec.create("pytorch", name="dup", workers=1, code=Code("print(1)")))
    with pytest.raises(ConflictError):
        client.submit(JobSpec.create("pytorch", name="dup", workers=1, code=Code("print(2)")))


@pytest.mark.parametrize("call", [
    lambda c: c.get("ghost"), lambda c: list(c.logs("ghost")), lambda c: c.events("ghost"),
    lambda c: c.metrics("ghost"), lambda c: c.scale("ghost", 2), lambda c: c.suspend("ghost"),
    lambda c: c.resume("ghost"), lambda c: c.delete("ghost"), lambda c: c.wait("ghost", timeout=1),
])
def test_unknown_job_is_not_found(client, call):
    with pytest.raises(NotFoundError):
        call(client)


def test_wait_times_out_and_reports_failure(client):
    client.submit(JobSpec.create("pytorch", name="slow", workers=1,
                                 code=Code("import time; time.sleep(60)")))
    with pytest.raises(JobTimeoutError, match="after 1 s"):
        client.wait("slow", timeout=1)
    client.submit(JobSpec.create("pytorch", name="bad", workers=1, restart_policy="Never",
                                 code=Code("raise SystemExit(2)")))
    with pytest.raises(JobFailedError, match="failed"):
        client.wait("bad", timeout=60)
    assert client.wait("bad", conditions=("Failed",), timeout=5).phase == "Failed"


def test_invalid_scale_is_refused(client):
    client.submit(JobSpec.create("pytorch", name="sized", workers=1,
                                 code=Code("import time; time.sleep(60)")))
    with pytest.raises(InvalidSpecError):
        client.scale("sized", 0)
