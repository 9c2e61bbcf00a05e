"""Restart policies, backoffLimit, deadlines, kill -9, scale, suspend/resume and delete,
with real processes."""

import json
import os
import signal
import subprocess
import sys
import textwrap

import psutil
import pytest

from jupyter_kf.errors import ConflictError, InvalidSpecError, NotFoundError
from jupyter_kf.jobs import Code, JobSpec, RunPolicy
from tests.support.processes import job_processes
from tests.support.waiting import wait_for


def pid_of(client, name, replica):
    status = (client.backend.root / name / "status.json").read_text()
    for r in json.loads(status)["replicas"]:
        if f"{r['role'].lower()}-{r['index']}" == replica and r["pid"]:
            return r["pid"]
    return None


# A master that fails on its first run and succeeds on its second (the marker file is kept
# in the job's code folder, its working directory).
FLAKY = textwrap.dedent("""
    import os, sys
    me = os.environ["JUPYTER_KF_REPLICA"]
    marker = f".ran-{me}"
    if me == "master-0" and not os.path.exists(marker):
        open(marker, "w").close()
        print("first run fails", flush=True)
        sys.exit(3)
    print("ok", flush=True)
""")
FAIL = "import sys\nprint('failing', flush=True)\nsys.exit(3)\n"
SLEEP = "import time\nprint('up', flush=True)\ntime.sleep(600)\n"


def spec(name, source, workers=2, **kwargs):
    return JobSpec.create("pytorch", name=name, workers=workers, code=Code(source), **kwargs)


def test_never_fails_the_job_on_a_worker_failure(client):
    client.submit(spec("never", FAIL, restart_policy="Never"))
    with pytest.raises(Exception, match="exited with code 3"):
        client.wait("never", timeout=30)
    job = client.get("never")
    assert job.phase == "Failed"
    assert all(r.restarts == 0 for r in job.replicas)
    assert "failing" in list(client.logs("never"))


def test_on_failure_restarts_then_succeeds(client):
    client.submit(spec("flaky", FLAKY, restart_policy="OnFailure"))
    job = client.wait("flaky", timeout=60)
    assert job.phase == "Succeeded"
    master = next(r for r in job.replicas if r.name == "master-0")
    assert master.restarts == 1
    assert list(client.logs("flaky", replica="master-0")) == ["first run fails", "ok"]
    assert any(c.type == "Restarting" for c in job.status.conditions)
    assert "BackOff" in [e.reason for e in client.events("flaky")]


def test_backoff_limit(client):
    client.submit(
        spec("backoff", FAIL, restart_policy="OnFailure", run_policy=RunPolicy(backoff_limit=1))
    )
    with pytest.raises(Exception, match="backoff limit"):
        client.wait("backoff", timeout=60)
    job = client.get("backoff")
    assert job.status.conditions[-1].reason == "PyTorchJobFailed"  # as the operator says it
    assert "reached the specified backoff limit (1 restarts)" in job.status.message
    assert "BackoffLimitExceeded" in [e.reason for e in client.events("backoff")]


def test_exit_code_policy_separates_permanent_and_retryable(client):
    client.submit(spec("permanent", FAIL, workers=1, restart_policy="ExitCode"))
    with pytest.raises(Exception, match="exited with code 3"):
        client.wait("permanent", timeout=30)
    assert client.get("permanent").replicas[0].restarts == 0
    # Killed by a signal (exit code 128+9) is retryable: the replica runs again.
    client.submit(spec("retryable", SLEEP, workers=1, restart_policy="ExitCode"))
    wait_for(lambda: client.get("retryable").phase == "Running")
    pid = wait_for(lambda: pid_of(client, "retryable", "master-0"))
    os.kill(pid, signal.SIGKILL)
    job = wait_for(
        lambda: (
            (j := client.get("retryable")).replicas[0].restarts == 1
            and j.replicas[0].phase == "Running"
            and j
        )
    )
    assert job.replicas[0].exit_code is None
    assert job.phase == "Running"


def test_kill_9_of_a_worker_under_never_fails_with_the_signal(client):
    client.submit(spec("killed", SLEEP, restart_policy="Never"))
    pid = wait_for(lambda: pid_of(client, "killed", "worker-0"))
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(Exception, match="worker-0 exited with code 137"):
        client.wait("killed", timeout=30)
    replicas = {r.name: r for r in client.get("killed").replicas}
    assert replicas["worker-0"].exit_code == 137
    assert replicas["master-0"].phase == "Stopped"  # the rest is stopped, not left running


def test_kill_9_of_the_supervisor(client, jkf_home):
    client.submit(spec("orphan", SLEEP))
    for replica in ("master-0", "worker-0"):
        wait_for(lambda: list(client.logs("orphan", replica=replica)) == ["up"])
    supervisor = psutil.Process(
        int(
            (client.backend.root / "orphan" / "supervisor.json")
            .read_text()
            .split('"pid": ')[1]
            .split(",")[0]
        )
    )
    workers = [p for p in job_processes(jkf_home) if p.pid != supervisor.pid]
    assert len(workers) == 2
    supervisor.kill()
    gone, alive = psutil.wait_procs(workers, timeout=10)
    assert alive == []  # the workers died with their supervisor: no orphans
    job = client.get("orphan")
    assert job.phase == "Failed"
    assert job.status.conditions[-1].reason == "SupervisorLost"
    assert "stopped unexpectedly" in job.status.message
    assert list(client.logs("orphan", replica="worker-0")) == ["up"]  # logs are kept
    assert job_processes(jkf_home) == []


def test_active_deadline(client):
    client.submit(
        spec("deadline", SLEEP, workers=1, run_policy=RunPolicy(active_deadline_seconds=2))
    )
    with pytest.raises(Exception, match="activeDeadlineSeconds"):
        client.wait("deadline", timeout=30)
    job = client.get("deadline")
    assert "active longer than specified deadline" in job.status.message
    assert "DeadlineExceeded" in [e.reason for e in client.events("deadline")]


WORLD = textwrap.dedent("""
    import os, time
    print("world", os.environ["WORLD_SIZE"], "rank", os.environ["RANK"], flush=True)
    time.sleep(600)
""")


def test_scale_up_and_down(client):
    client.submit(spec("scale", WORLD, workers=2))
    wait_for(lambda: "world 2 rank 0" in list(client.logs("scale")))
    job = client.scale("scale", 3)
    assert job.workers == 3
    assert [r.name for r in job.replicas] == ["master-0", "worker-0", "worker-1"]
    wait_for(lambda: "world 3 rank 2" in list(client.logs("scale", replica="worker-1")))
    wait_for(lambda: list(client.logs("scale"))[-1] == "world 3 rank 0")
    job = client.scale("scale", 1)
    assert [r.name for r in job.replicas] == ["master-0"]
    wait_for(lambda: list(client.logs("scale"))[-1] == "world 1 rank 0")
    assert client.get("scale").phase == "Running"
    assert "Scaled" in [e.reason for e in client.events("scale")]
    with pytest.raises(InvalidSpecError):
        client.scale("scale", 0)


def test_suspend_resume_delete(client, jkf_home):
    client.submit(spec("pause", SLEEP))
    wait_for(lambda: len(job_processes(jkf_home)) == 3)  # supervisor + 2 workers
    job = client.suspend("pause")
    assert job.phase == "Suspended"
    assert len(job_processes(jkf_home)) == 1  # only the supervisor is left
    assert job.status.start_time is None
    job = client.resume("pause")
    assert job.phase == "Running"
    wait_for(lambda: len(job_processes(jkf_home)) == 3)
    client.delete("pause")
    assert job_processes(jkf_home) == []
    assert not (client.backend.root / "pause").exists()
    with pytest.raises(NotFoundError):
        client.get("pause")
    with pytest.raises(NotFoundError):
        client.delete("pause")


def test_finished_jobs_refuse_changes(client):
    client.submit(spec("done", "print('x')", workers=1))
    client.wait("done", timeout=30)
    for action in (
        lambda: client.scale("done", 2),
        lambda: client.suspend("done"),
        lambda: client.resume("done"),
    ):
        with pytest.raises(ConflictError, match="Succeeded"):
            action()


def test_job_outlives_the_process_that_submitted_it(client, jkf_home):
    script = textwrap.dedent("""
        from jupyter_kf import Client, JobSpec, Code
        Client("local").submit(JobSpec.create("pytorch", name="outlive", workers=2,
            code=Code("import time; time.sleep(2); print('finished')")))
    """)
    subprocess.run([sys.executable, "-c", script], check=True, env=os.environ, timeout=60)
    job = client.get("outlive")  # the submitting process is gone; the job is not
    assert job.phase in ("Pending", "Created", "Running")  # submit does not wait for Created
    assert client.wait("outlive", timeout=60).phase == "Succeeded"
    assert list(client.logs("outlive")) == ["finished"]


PORT_CHECK = textwrap.dedent("""
    import os, socket, time
    port = int(os.environ["MASTER_PORT"])
    if os.environ["RANK"] == "0":
        srv = socket.create_server(("127.0.0.1", port))
        conn, _ = srv.accept()
        print("master got", conn.recv(64).decode(), flush=True)
    else:
        for _ in range(200):
            try:
                c = socket.create_connection(("127.0.0.1", port))
                break
            except OSError:
                time.sleep(0.05)
        c.sendall(os.environ["JUPYTER_KF_JOB"].encode())
""")


def test_two_jobs_at_once_get_their_own_ports(client):
    client.submit(spec("first", PORT_CHECK))
    client.submit(spec("second", PORT_CHECK))
    for name in ("first", "second"):
        assert client.wait(name, timeout=60).phase == "Succeeded"
        assert list(client.logs(name)) == [f"master got {name}"]
