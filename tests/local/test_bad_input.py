"""Bad input: clear errors, nothing lost, nothing run through a shell."""

import pytest

from jupyter_kf.errors import ConflictError, InvalidSpecError, NotFoundError
from jupyter_kf.jobs import Code, JobSpec


def test_invalid_spec_lists_every_problem_and_creates_nothing(client):
    with pytest.raises(InvalidSpecError) as err:
        client.submit(
            name="Bad Name", framework="pytorch", workers=-1, cell="print(1)", env={"RANK": "9"}
        )
    assert len(err.value.problems) == 3
    assert client.list() == []


def test_taken_name_is_refused_and_the_job_is_untouched(client):
    client.submit(
        JobSpec.create(
            "pytorch",
            name="taken",
            workers=1,
            code=Code("import time; time.sleep(1); print('original')"),
        )
    )
    before = client.get("taken")
    with pytest.raises(ConflictError, match="a local job named 'taken' already exists"):
        client.submit(JobSpec.create("jax", name="taken", workers=3, code=Code("print('new')")))
    after = client.get("taken")
    assert after.kind == "PyTorchJob" and after.spec == before.spec
    assert client.wait("taken", timeout=30).phase == "Succeeded"
    assert list(client.logs("taken")) == ["original"]


def test_unknown_job_and_replica(client):
    with pytest.raises(NotFoundError, match="no local job named 'ghost'"):
        client.get("ghost")
    with pytest.raises(NotFoundError):
        client.get("../../etc")  # names are never paths
    client.submit(JobSpec.create("pytorch", name="one", workers=1, code=Code("print(1)")))
    with pytest.raises(NotFoundError, match="its replicas are master-0"):
        client.logs("one", replica="worker-7")


def test_nothing_goes_through_a_shell(client, tmp_path):
    canary = tmp_path / "pwned"
    args = [f"; touch {canary}", f"$(touch {canary})", f"`touch {canary}`", "&&", "|"]
    client.submit(
        JobSpec.create(
            "pytorch",
            name="shell",
            workers=1,
            code=Code("import sys, json; print(json.dumps(sys.argv[1:]))", args=args),
        )
    )
    client.wait("shell", timeout=30)
    import json

    assert json.loads(list(client.logs("shell"))[0]) == args
    assert not canary.exists()
    client.submit(
        JobSpec.create("pytorch", name="cmd", workers=1, command=["echo", f"$(touch {canary})"])
    )
    client.wait("cmd", timeout=30)
    assert list(client.logs("cmd")) == [f"$(touch {canary})"]
    assert not canary.exists()


def test_the_local_backend_refuses_more_processes_than_it_runs(client):
    with pytest.raises(InvalidSpecError, match="more than the local backend runs at once"):
        client.submit(JobSpec.create("pytorch", name="huge", workers=1000, code=Code("pass")))
    assert client.list() == []
