"""A failing pod as the real kubelet reports it, read into a replica (backends/kubernetes/convert)
and told in one line (jobs/explain): the statuses are the shapes tests/realnode sees on the
real node — a container in CrashLoopBackOff, one running again after its last crash when the
operator fails the job at its backoff limit, an OOMKilled one under a memory limit."""

from __future__ import annotations

import pytest

from jupyter_kf.backends.base import _reached
from jupyter_kf.backends.kubernetes.convert import job_from_cr, replica_of_pod
from jupyter_kf.errors import JobFailedError
from jupyter_kf.jobs import JobSpec, Resources
from jupyter_kf.jobs.explain import explain, reason
from jupyter_kf.jobs.render import render_job

LOG = 'Traceback (most recent call last):\n  File "train.py", line 3\nValueError: boom\n'
BACKOFF = "Job crash has failed because it has reached the specified backoff limit"


def pod(role: str, phase: str, state: dict, last: dict | None = None, restarts: int = 0) -> dict:
    status: dict = {"name": "pytorch", "restartCount": restarts, "state": state}
    if last is not None:
        status["lastState"] = {"terminated": last}
    return {
        "metadata": {
            "name": f"crash-{role}-0",
            "labels": {
                "training.kubeflow.org/replica-type": role,
                "training.kubeflow.org/replica-index": "0",
            },
        },
        "spec": {"nodeName": "jkf-node-0"},
        "status": {"phase": phase, "containerStatuses": [status]},
    }


def exited(code: int, reason: str = "Error", message: str = LOG) -> dict:
    return {"exitCode": code, "reason": reason, "message": message}


def cr(spec: JobSpec, conditions: list[tuple[str, str]]) -> dict:
    manifest = render_job(spec, namespace="ns", image="img")
    manifest["metadata"].update(uid="u1", creationTimestamp="2026-01-01T00:00:00Z")
    manifest["status"] = {
        "startTime": "2026-01-01T00:00:00Z",
        "conditions": [
            {"type": t, "status": "True", "reason": f"PyTorchJob{t}", "message": m}
            for t, m in conditions
        ],
    }
    return manifest


CRASH = JobSpec.create("pytorch", name="crash", workers=1, command=["python", "t.py"])


def test_crash_loop_back_off_carries_the_last_exit():
    waiting = {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 10s restarting"}}
    r = replica_of_pod(pod("master", "Running", waiting, exited(3), restarts=2), "Master", 0)
    assert (r.phase, r.restarts, r.exit_code, r.reason, r.message) == (
        "Running",
        2,
        3,
        "CrashLoopBackOff",
        LOG,
    )


def test_an_oom_kill_names_itself_rather_than_the_loop():
    waiting = {"waiting": {"reason": "CrashLoopBackOff"}}
    r = replica_of_pod(pod("master", "Running", waiting, exited(137, "OOMKilled", "")), "Master", 0)
    assert (r.exit_code, r.reason) == (137, "OOMKilled")


def test_a_running_container_s_last_exit_counts_only_once_the_job_has_ended():
    running = {"running": {"startedAt": "2026-01-01T00:00:30Z"}}
    p = pod("master", "Running", running, exited(3), restarts=3)
    live = replica_of_pod(p, "Master", 0)
    assert (live.exit_code, live.reason, live.message) == (None, "", "")  # it runs again
    ended = replica_of_pod(p, "Master", 0, ended=True)
    assert (ended.exit_code, ended.reason, ended.message) == (3, "Error", LOG)


def test_a_job_failed_at_its_backoff_limit_says_which_replica_its_code_and_its_log():
    running = {"running": {"startedAt": "2026-01-01T00:00:30Z"}}
    p = pod("master", "Running", running, exited(3), restarts=3)
    job = job_from_cr(cr(CRASH, [("Created", ""), ("Failed", BACKOFF)]), [p])
    assert job.spec is None and job.extra["backoff_limit"] == 3  # read from the CR
    line = (
        "master-0 exited with code 3 (failed 3 times; backoff limit 3 reached): "
        'File "train.py", line 3 | ValueError: boom'
    )
    assert explain(job) == f"Failed: {line}"
    with pytest.raises(JobFailedError) as info:
        _reached(job, {"Succeeded"})  # what client.wait raises
    assert str(info.value) == f"job crash failed: {line}"
    assert _reached(job, {"Succeeded", "Failed"})  # awaited, it is returned


def test_an_oom_kill_under_a_memory_limit_names_the_limit():
    spec = JobSpec.create(
        "pytorch",
        name="crash",
        workers=1,
        command=["python", "t.py"],
        restart_policy="Never",
        resources=Resources(memory="64Mi"),
    )
    p = pod("master", "Failed", {"terminated": exited(137, "OOMKilled", "")})
    message = "PyTorchJob crash is failed because 1 Master replica(s) failed."
    job = job_from_cr(cr(spec, [("Created", ""), ("Failed", message)]), [p])
    assert job.extra["memory_limits"] == {"Master": "64Mi"}
    assert explain(job) == "Failed: master-0 exited with code 137 (OOMKilled, memory limit 64Mi)"
    assert reason(job) == "master-0 exited with code 137 (OOMKilled, memory limit 64Mi)"


def test_without_a_limit_the_oom_kill_is_named_alone():
    p = pod("master", "Failed", {"terminated": exited(137, "OOMKilled", "")})
    message = "PyTorchJob crash is failed because 1 Master replica(s) failed."
    job = job_from_cr(cr(CRASH, [("Created", ""), ("Failed", message)]), [p])
    assert "memory_limits" not in job.extra
    assert explain(job) == "Failed: master-0 exited with code 137 (OOMKilled)"
