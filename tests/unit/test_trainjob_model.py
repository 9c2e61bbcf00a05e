"""The TrainJob in the pure job model: spec, validation, manifest, env contract, status."""

from __future__ import annotations

import pytest

from jupyter_kf.errors import InvalidSpecError
from jupyter_kf.jobs import Code, JobSpec, Replica, Resources, RunPolicy
from jupyter_kf.jobs.envcontract import ClusterAddressing, LocalAddressing, env_for
from jupyter_kf.jobs.kinds import TRAINJOB, kind_info
from jupyter_kf.jobs.trainjob import (
    PATCH_MANAGER,
    nproc_per_node,
    render_trainjob,
    trainer_progress,
    trainjob_command,
    trainjob_status,
)


def ddp(**kw) -> JobSpec:
    kw.setdefault("code", Code(source="print(1)", files={"lib/m.py": "x = 1"}))
    return JobSpec.create(name="ddp", workers=2, runtime="torch-distributed", **kw)


def test_a_runtime_makes_a_trainjob_of_n_nodes():
    spec = ddp()
    assert spec.kind == "TrainJob" and dict(spec.replicas) == {"Node": 2}
    assert spec.workers == 2 and spec.info is TRAINJOB and kind_info("trainjobs") is TRAINJOB
    assert spec.with_workers(3).replicas["Node"] == 3
    # Retries are the runtime's: the v1 default limit does not apply.
    assert spec.run_policy.backoff_limit is None
    assert JobSpec.from_dict(spec.to_dict()) == spec
    assert JobSpec.create(name="p", workers=2, command=["x"]).kind == "PyTorchJob"


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({"runtime": None, "command": ["x"]}, "a TrainJob needs a runtime"),
        ({"runtime": "Torch Distributed"}, "is not a runtime name"),
        ({"runtime_kind": "Runtime"}, "runtime_kind must be ClusterTrainingRuntime or"),
        ({"restart_policy": "Never"}, "restart policy is its runtime's"),
        ({"run_policy": RunPolicy(backoff_limit=1)}, "retries are its runtime's"),
        ({"run_policy": RunPolicy(clean_pod_policy="All")}, "clean_pod_policy is for the v1"),
        ({"nproc_per_node": "gpu"}, "whole number >= 1 or 'auto'"),
        ({"env": {"PET_NNODES": "3"}}, "env PET_NNODES is set by the training operator"),
        ({"env": {"JOB_COMPLETION_INDEX": "0"}}, "JOB_COMPLETION_INDEX is set"),
        ({"slots_per_worker": 2}, "slots_per_worker is for MPIJob only, not TrainJob"),
    ],
)
def test_trainjob_validation_says_what_to_do(kwargs, expected):
    base = {"runtime": "torch-distributed", "code": Code(source="print(1)")}
    base.update(kwargs)
    with pytest.raises(InvalidSpecError) as err:
        JobSpec.create("TrainJob", name="t", workers=2, **base)
    assert expected in str(err.value)


def test_v1_kinds_refuse_a_runtime():
    with pytest.raises(InvalidSpecError, match="runtime is for TrainJob only, not PyTorchJob"):
        JobSpec.create("pytorch", name="p", workers=2, command=["x"], runtime="torch-distributed")


def test_name_length_counts_jobsets_pod_host_names():
    long = "a" * 55  # a-...-node-0-1 is 64 characters
    with pytest.raises(InvalidSpecError, match="too long"):
        JobSpec.create(name=long, workers=2, runtime="torch-distributed", command=["x"])
    JobSpec.create(name="a" * 54, workers=2, runtime="torch-distributed", command=["x"])


def test_manifest_ships_code_through_the_jupyter_kf_runtime_patch():
    spec = ddp(
        env={"EPOCHS": "3"},
        resources=Resources(cpu="2", memory="1Gi"),
        pod_labels={"team": "a"},
        annotations={"note": "x"},
        run_policy=RunPolicy(suspend=True, active_deadline_seconds=600),
    )
    m = render_trainjob(spec, namespace="ns", image="nb:1")
    assert m["apiVersion"] == "trainer.kubeflow.org/v1alpha1" and m["kind"] == "TrainJob"
    assert m["metadata"] == {
        "name": "ddp",
        "namespace": "ns",
        "labels": {"app.kubernetes.io/managed-by": "jupyter-kf"},
        "annotations": {"note": "x"},
    }
    body = m["spec"]
    assert body["runtimeRef"] == {
        "name": "torch-distributed",
        "apiGroup": "trainer.kubeflow.org",
        "kind": "ClusterTrainingRuntime",
    }
    assert body["suspend"] is True and body["activeDeadlineSeconds"] == 600
    assert body["trainer"] == {
        "numNodes": 2,
        "image": "nb:1",
        "command": [
            "env",
            "-C",
            "/opt/jupyter-kf/work",
            "torchrun",
            "/opt/jupyter-kf/code/train.py",
        ],
        "env": [
            {"name": "EPOCHS", "value": "3"},
            {"name": "PYTHONUNBUFFERED", "value": "1"},
            {"name": "JKF_OUTPUT_DIR", "value": "/opt/jupyter-kf/outputs"},
            {"name": "JKF_DIST_BACKEND", "value": "gloo"},
        ],
        "resourcesPerNode": {
            "requests": {"cpu": "2", "memory": "1Gi"},
            "limits": {"cpu": "2", "memory": "1Gi"},
        },
    }
    (patch,) = body["runtimePatches"]
    assert patch["manager"] == PATCH_MANAGER and "/" in PATCH_MANAGER
    (job,) = patch["trainingRuntimeSpec"]["template"]["spec"]["replicatedJobs"]
    pod = job["template"]["spec"]["template"]
    assert job["name"] == "node"
    assert pod["metadata"] == {"labels": {"team": "a"}}  # the user's only
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert volumes["code"]["configMap"] == {
        "name": "ddp-code",
        "items": [
            {"key": "f0-m.py", "path": "lib/m.py"},
            {"key": "f1-train.py", "path": "train.py"},
        ],
    }
    assert volumes["work"] == {"name": "work", "emptyDir": {}}
    (container,) = pod["spec"]["containers"]
    assert container["name"] == "node"
    assert [m["mountPath"] for m in container["volumeMounts"]] == [
        "/opt/jupyter-kf/code",
        "/opt/jupyter-kf/work",
        "/opt/jupyter-kf/outputs",
    ]


def test_manifest_of_a_command_keeps_the_runtimes_image_when_none_is_given():
    spec = JobSpec.create(
        name="c", workers=1, runtime="jax-distributed", command=["python", "-c", "1"]
    )
    m = render_trainjob(spec, namespace="ns", image=None, ml_policy="jax")
    assert m["spec"]["trainer"] == {"numNodes": 1, "command": ["python", "-c", "1"]}


def test_commands_per_plugin():
    spec = ddp(code=Code(source="1", args=("--lr", "0.1")))
    assert trainjob_command(spec, "torch", python="/py", code_dir="/c", local=True) == [
        "/py",
        "-m",
        "torch.distributed.run",
        "/c/train.py",
        "--lr",
        "0.1",
    ]
    assert trainjob_command(spec, "jax")[-4:] == [
        "-u",
        "/opt/jupyter-kf/code/train.py",
        "--lr",
        "0.1",
    ]


@pytest.mark.parametrize(
    "resources, nproc, expected",
    [
        (Resources(), None, "1"),
        (Resources(cpu="500m"), None, "1"),
        (Resources(cpu="2500m"), None, "3"),
        (Resources(cpu="2", gpu=1), None, "auto"),
        (Resources(cpu="4"), "2", "2"),
    ],
)
def test_nproc_per_node_as_the_torch_plugin_computes_it(resources, nproc, expected):
    assert nproc_per_node(ddp(resources=resources, nproc_per_node=nproc)) == expected


def test_env_contract_torch_jax_xgboost():
    spec = ddp()
    cluster = ClusterAddressing("ddp", "ns", TRAINJOB)
    assert env_for(spec, "Node", 1, cluster, ml_policy="torch") == {
        "JOB_COMPLETION_INDEX": "1",
        "PYTHONUNBUFFERED": "1",
        "PET_NNODES": "2",
        "PET_NPROC_PER_NODE": "1",
        "PET_NODE_RANK": "1",
        "PET_MASTER_ADDR": "ddp-node-0-0.ddp",
        "PET_MASTER_PORT": "29500",
    }
    local = LocalAddressing(ports={("Node", 0): 40001, ("Node", 1): 40002})
    env = env_for(spec, "Node", 0, local, ml_policy="jax")
    assert env["JAX_COORDINATOR_ADDRESS"] == "127.0.0.1:40001" and env["JAX_PROCESS_ID"] == "0"
    env = env_for(spec, "Node", 1, cluster, ml_policy="xgboost")
    assert env["DMLC_TRACKER_URI"] == "ddp-node-0-0.ddp" and env["DMLC_NUM_WORKER"] == "2"


def _node(index: int, phase: str, **kw) -> Replica:
    return Replica("Node", index, phase, **kw)


@pytest.mark.parametrize(
    "status, replicas, seen, phase",
    [
        ({}, [], False, "Created"),
        ({"jobsStatus": [{"name": "node", "active": 2}]}, [_node(0, "Pending")], True, "Pending"),
        ({"jobsStatus": [{"name": "node", "active": 2}]}, [_node(0, "Running")], True, "Running"),
        (
            {"conditions": [{"type": "Suspended", "status": "False", "reason": "Resumed"}]},
            [_node(0, "Running"), _node(1, "Running")],
            True,
            "Running",
        ),
        ({}, [_node(0, "Running", restarts=2, reason="CrashLoopBackOff")], True, "Restarting"),
        ({"conditions": [{"type": "Suspended", "status": "True"}]}, [], False, "Suspended"),
        ({"conditions": [{"type": "Complete", "status": "True"}]}, [], True, "Succeeded"),
        ({"conditions": [{"type": "Failed", "status": "True"}]}, [], True, "Failed"),
    ],
)
def test_status_derives_every_phase(status, replicas, seen, phase):
    got = trainjob_status(status, replicas, pods_seen=seen, created="2026-12-05T00:00:00Z")
    assert got.phase == phase
    assert got.has("Created")
    if phase in ("Succeeded", "Failed"):
        assert got.finished and got.has(phase)


def test_a_resumed_job_is_running_not_created():
    resumed = {
        "conditions": [
            {"type": "Suspended", "status": "False", "reason": "Resumed", "message": "resumed"}
        ],
        "jobsStatus": [{"name": "node", "active": 2, "ready": 2}],
    }
    got = trainjob_status(resumed, [_node(0, "Running"), _node(1, "Running")], pods_seen=True)
    assert got.phase == "Running" and got.replica_statuses["Node"].active == 2


def test_progress_from_trainer_status():
    assert trainer_progress({}) is None
    got = trainer_progress(
        {
            "trainerStatus": {
                "progressPercentage": 40,
                "estimatedRemainingSeconds": 12,
                "metrics": [{"name": "loss", "value": "0.5"}],
                "lastUpdatedTime": "2026-12-05T00:00:00Z",
            }
        }
    )
    assert got == {
        "progressPercentage": 40,
        "estimatedRemainingSeconds": 12,
        "metrics": {"loss": "0.5"},
        "lastUpdatedTime": "2026-12-05T00:00:00Z",
    }
