"""A Kubeflow Trainer v2 TrainJob on the local backend: nodes as real processes, with the
runtime's retries, the phases a cluster shows, and scale by replacement."""

from __future__ import annotations

import pytest

from jupyter_kf.errors import InvalidSpecError, JobFailedError
from jupyter_kf.jobs import Code, JobSpec, RunPolicy
from jupyter_kf.jobs.explain import explain
from tests.support.waiting import wait_for

RUNNABLE = ["torch-distributed", "jax-distributed", "xgboost-distributed"]


def trainjob(name, source, *, nodes=1, runtime="jax-distributed", **fields) -> JobSpec:
    return JobSpec.create(
        "TrainJob", name=name, workers=nodes, runtime=runtime, code=Code(source), **fields
    )


# A node's own index, as the runtime's indexed Job gives it.
NODE = "import os, sys, time\nnode = int(os.environ['JOB_COMPLETION_INDEX'])\n"


def test_the_stock_runtimes_it_can_run(client):
    runtimes = client.runtimes()
    assert [rt.name for rt in runtimes] == RUNNABLE
    assert {rt.name: rt.ml_policy for rt in runtimes} == {
        "torch-distributed": "torch",
        "jax-distributed": "jax",
        "xgboost-distributed": "xgboost",
    }
    assert all(rt.backoff_limit == 6 for rt in runtimes)


@pytest.mark.parametrize(
    ("runtime", "kind", "why"),
    [
        ("deepspeed-distributed", None, "SSH"),
        ("mlx-distributed", None, "SSH"),
        ("torchtune-llama3.2-1b", None, "torchtune recipe"),
        ("my-runtime", None, "does not know the runtime 'my-runtime'"),
        ("torch-distributed", "TrainingRuntime", "no namespaced TrainingRuntime"),
    ],
)
def test_a_runtime_it_cannot_run_is_refused_naming_those_it_can(client, runtime, kind, why):
    spec = trainjob("nope", "print(1)", runtime=runtime, runtime_kind=kind)
    with pytest.raises(InvalidSpecError) as err:
        client.submit(spec)
    assert why in str(err.value)
    assert "torch-distributed, jax-distributed, xgboost-distributed" in str(err.value)
    assert client.list() == []


def test_a_node_that_fails_is_restarted_alone_while_the_others_run_on(client):
    # Node 1 fails on its first try (the work dir is shared by the nodes here, unlike pods).
    source = NODE + (
        "mark = f'tried-{node}'\n"
        "if node == 1 and not os.path.exists(mark):\n"
        "    open(mark, 'w').close()\n"
        "    sys.exit(3)\n"
        "time.sleep(4 if node == 0 else 1)\n"
        "print(f'node {node} done', flush=True)\n"
    )
    client.submit(trainjob("flaky", source, nodes=2))
    phases = []
    for change in client.watch(name="flaky", timeout=120):
        phases.append(change.job.phase)
        if change.job.status.finished:
            break
    job = client.get("flaky")
    assert job.phase == "Succeeded", client.events("flaky")
    assert "Restarting" in phases and "Running" in phases
    assert "Created" not in phases[phases.index("Running") :]
    node0, node1 = job.replicas
    assert (node0.restarts, node1.restarts) == (0, 1)
    assert explain(job) == "Succeeded; node-1 failed once"
    assert list(client.logs("flaky", replica="node-1")) == ["node 1 done"]
    [backoff] = [e for e in client.events("flaky") if e.reason == "BackOff"]
    assert "restart 1 of 6" in backoff.message
    assert [c.type for c in job.status.conditions] == ["Created", "Succeeded"]
    assert job.status.conditions[-1].reason == "AllJobsCompleted"


def test_failures_summed_over_nodes_end_the_job_at_the_runtime_backoff_limit(client):
    # Both nodes fail every time: the runtime's Job allows 6 restarts in all, not per node.
    source = NODE + "print(f'node {node} gives up', flush=True)\nsys.exit(2 + node)\n"
    client.submit(trainjob("crash", source, nodes=2))
    with pytest.raises(JobFailedError) as err:
        client.wait("crash", timeout=180)
    job = client.get("crash")
    assert job.phase == "Failed"
    assert sum(r.restarts for r in job.replicas) == 5  # the 6th failure is not restarted
    line = str(err.value)
    assert "runtime jax-distributed's backoff limit 6 reached" in line, line
    assert " exited with code " in line and "gives up" in line
    assert job.status.conditions[-1].reason == "FailedJobs"
    assert "the backoff limit of its runtime jax-distributed" in job.status.message


def test_suspend_and_resume_show_the_true_phase(client):
    client.submit(trainjob("pause", NODE + "time.sleep(120)\n", nodes=2))
    job = client.suspend("pause")
    assert job.phase == "Suspended"
    assert all(r.phase == "Stopped" for r in job.replicas)
    job = client.resume("pause")
    assert job.phase == "Running"  # not Created, as the kubeflow SDK shows it
    suspended = next(c for c in job.status.conditions if c.type == "Suspended")
    assert (suspended.status, suspended.reason) == ("False", "Resumed")
    assert all(r.phase == "Running" for r in job.replicas)


def test_scale_replaces_the_job_and_says_training_restarts(client):
    source = NODE + (
        "print(f'node {node} of', os.environ['JAX_NUM_PROCESSES'], flush=True)\ntime.sleep(120)\n"
    )
    client.submit(trainjob("grow", source))
    wait_for(lambda: list(client.logs("grow")) == ["node 0 of 1"], 60, 0.2, "node 0 of 1")
    job = client.scale("grow", 2)
    assert job.workers == 2 and [r.name for r in job.replicas] == ["node-0", "node-1"]
    assert "restarted from the beginning" in job.extra["notice"]
    assert job.spec is not None and job.spec.code == Code(source)
    # A new job: its nodes start over at the new size, the old run's log is gone.
    for node in (0, 1):
        wait_for(
            lambda node=node: (
                list(client.logs("grow", replica=f"node-{node}")) == [f"node {node} of 2"]
            ),
            60,
            0.2,
            f"node {node} of 2",
        )
    [replaced] = [e for e in client.events("grow") if e.reason == "Replaced"]
    assert "on 2 nodes (was 1)" in replaced.message


def test_scaling_a_suspended_trainjob_replaces_it_suspended(client):
    client.submit(trainjob("idle", NODE + "time.sleep(120)\n", run_policy=RunPolicy(suspend=True)))
    job = client.scale("idle", 3)
    assert job.phase == "Suspended" and job.workers == 3
    assert job.spec is not None and job.spec.run_policy.suspend
