"""``client.train(func)`` and the names a kubeflow TrainingClient user already knows
(create_job, get_job, list_jobs, get_job_logs, wait_for_job_conditions, is_job_*,
delete_job), on real worker processes."""

from __future__ import annotations

import pytest

from jupyter_kf import Client
from jupyter_kf.errors import InvalidSpecError, JobFailedError, JobTimeoutError, NotFoundError
from jupyter_kf.jobs import Code, JobSpec


def greet(greeting, times=1):
    """Runs on every worker: its own source is shipped, not a pickle."""
    import os

    print(greeting * times, "from rank", os.environ["RANK"], "of", os.environ["WORLD_SIZE"])


def hold():
    import time

    time.sleep(600)


def fail_on_rank_zero():
    import os
    import sys

    sys.exit(3 if os.environ["RANK"] == "0" else 0)


def test_train_runs_the_function_on_every_worker(client: Client):
    job = client.train(greet, name="greeting", args=("hi",), kwargs={"times": 2}, workers=2)
    assert job.name == "greeting" and job.workers == 2
    done = client.wait("greeting", timeout=120)
    assert done.phase == "Succeeded"
    assert list(client.logs("greeting")) == ["hihi from rank 0 of 2"]
    assert list(client.logs("greeting", replica="worker-0")) == ["hihi from rank 1 of 2"]


def test_train_refuses_what_cannot_be_shipped(client: Client):
    with pytest.raises(InvalidSpecError):
        client.train(lambda: None, name="lam")
    with pytest.raises(InvalidSpecError) as info:
        client.train(greet, name="Bad_Name", args=("x",))
    assert "Bad_Name" in str(info.value)
    assert client.list() == []


def test_training_client_names(client: Client):
    spec = JobSpec.create("pytorch", name="alias", workers=2, code=Code(
        "import os\nprint('rank', os.environ['RANK'])\n"))  # fmt: skip
    created = client.create_job(spec)
    assert created.name == "alias"
    assert client.get_job("alias").name == "alias"
    assert [j.name for j in client.list_jobs()] == ["alias"]
    job = client.wait_for_job_conditions(
        "alias", expected_conditions=("Succeeded",), wait_timeout=120
    )
    assert job.phase == "Succeeded"
    assert client.is_job_succeeded("alias")
    assert not client.is_job_running("alias") and not client.is_job_failed("alias")
    assert list(client.get_job_logs("alias")) == ["rank 0"]
    assert list(client.get_job_logs("alias", replica="worker-0", tail_lines=1)) == ["rank 1"]
    client.delete_job("alias")
    with pytest.raises(NotFoundError):
        client.get_job("alias")


def test_wait_for_job_conditions_on_failure_and_timeout(client: Client):
    client.train(hold, name="slow")
    client.train(fail_on_rank_zero, name="flaky", workers=2, restart_policy="Never")
    job = client.wait_for_job_conditions("flaky", expected_conditions=("Failed",), wait_timeout=120)
    assert job.phase == "Failed" and client.is_job_failed("flaky")
    assert {r.name: r.exit_code for r in job.replicas}["master-0"] == 3
    with pytest.raises(JobFailedError) as failed:  # it can never succeed now: no 600 s wait
        client.wait_for_job_conditions("flaky", wait_timeout=600)
    assert "flaky" in str(failed.value)
    with pytest.raises(JobTimeoutError):
        client.wait_for_job_conditions("slow", expected_conditions=("Succeeded",), wait_timeout=0.5)
