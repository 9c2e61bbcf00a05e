"""The operator's env contract, per kind, role and index (cluster addressing)."""

import json

import pytest

from jupyter_kf.jobs import (
    ClusterAddressing,
    Code,
    ElasticPolicy,
    JobSpec,
    LocalAddressing,
    env_for,
)
from jupyter_kf.jobs.envcontract import replica_keys

CODE = Code("pass")


def cluster_env(spec, role, index, namespace="ns"):
    return env_for(spec, role, index, ClusterAddressing(spec.name, namespace, spec.info))


def test_pytorch_master_and_workers():
    spec = JobSpec.create("pytorch", name="pt", workers=3, code=CODE)
    common = {
        "PYTHONUNBUFFERED": "1",
        "PET_NPROC_PER_NODE": "auto",
        "MASTER_ADDR": "pt-master-0",
        "PET_MASTER_ADDR": "pt-master-0",
        "MASTER_PORT": "23456",
        "PET_MASTER_PORT": "23456",
        "WORLD_SIZE": "3",
        "PET_NNODES": "3",
    }
    assert cluster_env(spec, "Master", 0) == {**common, "RANK": "0", "PET_NODE_RANK": "0"}
    assert cluster_env(spec, "Worker", 0) == {**common, "RANK": "1", "PET_NODE_RANK": "1"}
    assert cluster_env(spec, "Worker", 1) == {**common, "RANK": "2", "PET_NODE_RANK": "2"}


def test_pytorch_nproc_multiplies_world_size_and_elastic_sets_rendezvous():
    spec = JobSpec(
        name="pt",
        kind="PyTorchJob",
        replicas={"Master": 1, "Worker": 2},
        code=CODE,
        nproc_per_node="4",
        elastic_policy=ElasticPolicy(min_replicas=1, max_replicas=3, max_restarts=5),
    )
    env = cluster_env(spec, "Worker", 1)
    assert env["WORLD_SIZE"] == "12"
    assert env["PET_NPROC_PER_NODE"] == "4"
    assert env["PET_RDZV_ENDPOINT"] == "pt-worker-0:23456"
    assert env["PET_RDZV_BACKEND"] == "c10d"
    assert env["PET_NNODES"] == "1:3"
    assert env["PET_MAX_RESTARTS"] == "5"


def test_tf_config():
    spec = JobSpec(
        name="tf",
        kind="TFJob",
        replicas={"Chief": 1, "PS": 1, "Worker": 2, "Evaluator": 1},
        code=CODE,
    )
    config = json.loads(cluster_env(spec, "Worker", 1, namespace="alice")["TF_CONFIG"])
    assert config == {
        "cluster": {
            "chief": ["tf-chief-0.alice.svc:2222"],
            "ps": ["tf-ps-0.alice.svc:2222"],
            "worker": ["tf-worker-0.alice.svc:2222", "tf-worker-1.alice.svc:2222"],
        },
        "task": {"type": "worker", "index": 1},
        "environment": "cloud",
    }
    evaluator = json.loads(cluster_env(spec, "Evaluator", 0)["TF_CONFIG"])
    assert evaluator["task"] == {"type": "evaluator", "index": 0}
    assert "evaluator" not in evaluator["cluster"]


def test_single_replica_tf_has_no_tf_config():
    spec = JobSpec.create("tf", name="tf", workers=1, code=CODE)
    assert cluster_env(spec, "Worker", 0) == {}


def test_jax():
    spec = JobSpec.create("jax", name="jx", workers=3, code=CODE)
    assert cluster_env(spec, "Worker", 2) == {
        "PYTHONUNBUFFERED": "1",
        "COORDINATOR_ADDRESS": "jx-worker-0",
        "COORDINATOR_PORT": "6666",
        "NUM_PROCESSES": "3",
        "PROCESS_ID": "2",
    }


def test_xgboost():
    spec = JobSpec.create("xgboost", name="xg", workers=3, code=CODE)
    assert cluster_env(spec, "Worker", 1) == {
        "MASTER_ADDR": "xg-master-0",
        "MASTER_PORT": "9999",
        "WORLD_SIZE": "3",
        "RANK": "2",
        "PYTHONUNBUFFERED": "1",
        "WORKER_PORT": "9999",
        "WORKER_ADDRS": "xg-worker-0,xg-worker-1",
    }
    assert cluster_env(spec, "Master", 0)["RANK"] == "0"


def test_paddle_collective_and_ps_modes():
    collective = JobSpec.create("paddle", name="pd", workers=2, code=CODE)
    assert cluster_env(collective, "Worker", 0) == {
        "PYTHONUNBUFFERED": "1",
        "PADDLE_JOB_ID": "pd",
        "PADDLE_NNODES": "2",
        "PADDLE_MASTER": "$(POD_IP_DUMMY):36543",
    }
    assert cluster_env(collective, "Worker", 1)["PADDLE_MASTER"] == "pd-worker-0:36543"
    ps = JobSpec(name="pd", kind="PaddleJob", replicas={"Master": 1, "Worker": 2}, code=CODE)
    assert cluster_env(ps, "Master", 0)["PADDLE_SERVER_NUM"] == "1"
    assert cluster_env(ps, "Worker", 1)["PADDLE_TRAINER_NUM"] == "1"
    assert cluster_env(ps, "Worker", 1)["PADDLE_MASTER"] == "pd-master-0:36543"


def test_local_addressing_uses_loopback_and_own_ports():
    spec = JobSpec.create("tf", name="tf", workers=2, code=CODE)
    addr = LocalAddressing(ports={("Worker", 0): 4001, ("Worker", 1): 4002})
    config = json.loads(env_for(spec, "Worker", 1, addr)["TF_CONFIG"])
    assert config["cluster"] == {"worker": ["127.0.0.1:4001", "127.0.0.1:4002"]}
    assert config["task"] == {"type": "worker", "index": 1}


def test_replica_keys_in_role_order():
    spec = JobSpec(name="tf", kind="TFJob", replicas={"Worker": 2, "Chief": 1, "PS": 1}, code=CODE)
    assert replica_keys(spec) == [("Chief", 0), ("PS", 0), ("Worker", 0), ("Worker", 1)]


@pytest.mark.parametrize("framework", ["pytorch", "tf", "jax", "xgboost", "paddle", "mpi"])
def test_every_kind_has_a_contract(framework):
    spec = JobSpec.create(framework, name="j", workers=2, code=CODE)
    for role, index in replica_keys(spec):
        env = cluster_env(spec, role, index)
        assert all(isinstance(v, str) for v in env.values())
