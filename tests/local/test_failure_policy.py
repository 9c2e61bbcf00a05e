"""A crashing job under the defaults ends Failed in seconds with a one-line reason; explicit
restart policies and backoff limits reach the supervisor; a success after failures says so;
replicas that fail together are counted together. Real processes."""

from __future__ import annotations

import re
import textwrap
import time

import pytest

from jupyter_kf.jobs import Code, JobSpec, RunPolicy
from jupyter_kf.jobs.explain import explain
from tests.support.waiting import wait_for

RAISES = "print('loading data', flush=True)\nraise ValueError('boom')\n"
EXITS = "import sys\nprint('giving up', flush=True)\nsys.exit(3)\n"

# Workers fail once, together, when $GO appears; the master waits for $DONE. A marker file
# in the job's code folder (the working directory) makes each worker's second run succeed.
TOGETHER = textwrap.dedent("""
    import os, sys, time
    me = os.environ["JUPYTER_KF_REPLICA"]
    if me.startswith("worker") and not os.path.exists(f".ran-{me}"):
        open(f".ran-{me}", "w").close()
        while not os.path.exists(os.environ["GO"]):
            time.sleep(0.01)
        print(f"{me} crashes", flush=True)
        sys.exit(3)
    while not os.path.exists(os.environ["DONE"]):  # restarted workers too: seen Running
        time.sleep(0.05)
    print(f"{me} done", flush=True)
""")


def spec(name, source, workers=1, **kwargs):
    return JobSpec.create("pytorch", name=name, workers=workers, code=Code(source), **kwargs)


@pytest.mark.parametrize(
    "source,code,tail",
    [(RAISES, 1, "ValueError: boom"), (EXITS, 3, "giving up")],
    ids=["raise", "sys.exit(3)"],
)
def test_a_crash_under_the_defaults_fails_in_seconds_and_says_why(client, source, code, tail):
    start = time.monotonic()
    client.submit(spec("crash", source))
    job = client.wait("crash", conditions=("Succeeded", "Failed"), timeout=30)
    took = time.monotonic() - start
    assert job.phase == "Failed"
    # Three failures (restarts after 1 s and 2 s) end it: the default backoff limit is 3.
    assert took < 15, f"took {took:.1f} s"
    master = job.replicas[0]
    assert (master.name, master.exit_code, master.restarts) == ("master-0", code, 2)
    line = explain(job, client.events("crash"))
    assert line.startswith(f"Failed: master-0 exited with code {code} (failed 3 times; ")
    assert "backoff limit 3 reached" in line and line.endswith(tail)
    assert "BackoffLimitExceeded" in [e.reason for e in client.events("crash")]


def test_backoff_limit_zero_allows_no_restart(client):
    client.submit(spec("zero", EXITS, run_policy=RunPolicy(backoff_limit=0)))
    job = client.wait("zero", conditions=("Succeeded", "Failed"), timeout=30)
    assert job.phase == "Failed" and job.replicas[0].restarts == 0
    assert "backoff limit 0 reached" in explain(job)


def test_no_limit_keeps_restarting(client):
    client.submit(spec("forever", EXITS, run_policy=RunPolicy(backoff_limit=None)))
    # Past the default limit: 1 + 2 + 4 s of back-off give 4 restarts in about 8 s.
    job = wait_for(lambda: (j := client.get("forever")).replicas[0].restarts >= 4 and j, timeout=30)
    assert job.phase in ("Running", "Restarting")
    assert "restart 4 of unlimited" in " ".join(e.message for e in client.events("forever"))


def test_restart_policy_never_fails_at_the_first_exit(client):
    client.submit(spec("never", EXITS, workers=2, restart_policy="Never"))
    job = client.wait("never", conditions=("Succeeded", "Failed"), timeout=30)
    assert job.phase == "Failed"
    assert all(r.restarts == 0 for r in job.replicas)
    assert re.search(
        r"is failed because [12] (Master|Worker) replica\(s\) failed; "
        r"(master|worker)-0 exited with code 3",
        job.status.message,
    )
    assert explain(job).startswith("Failed: ") and "exited with code 3: giving up" in explain(job)


def test_replicas_that_fail_together_are_counted_and_a_success_says_they_failed(client, tmp_path):
    go, done = tmp_path / "go", tmp_path / "done"
    env = {"GO": str(go), "DONE": str(done)}
    client.submit(spec("together", TOGETHER, workers=3, env=env))  # a Master and 2 Workers
    wait_for(lambda: client.get("together").phase == "Running")
    go.touch()
    job = wait_for(
        lambda: (
            (j := client.get("together")).phase == "Running"
            and all(r.restarts == 1 and r.phase == "Running" for r in j.replicas[1:])
            and j
        ),
        timeout=30,
    )
    restarting = next(c for c in job.status.conditions if c.type == "Restarting")
    assert "is restarting because 2 Worker replica(s) failed" in restarting.message
    done.touch()
    job = client.wait("together", timeout=30)
    assert explain(job) == "Succeeded; worker-0 failed once, worker-1 failed once"
