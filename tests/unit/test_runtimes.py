"""Training runtimes read from their JSON: the facts jupyter-kf needs, from literal runtimes
and from Trainer v2.3.0's own manifests (STOCK_RUNTIMES must be what parse_runtime makes of
them as the community install applies them)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

from jupyter_kf.errors import InvalidSpecError
from jupyter_kf.jobs.runtimes import (
    STOCK_RUNTIMES,
    TRAINER_RELEASE,
    Runtime,
    parse_runtime,
    stock_runtime,
)

ROOT = Path(__file__).resolve().parents[2]


def runtime(kind="ClusterTrainingRuntime", *, labels=None, policy=None, jobs=None, ns=None):
    meta = {"name": "rt", "labels": labels or {}}
    if ns:
        meta["namespace"] = ns
    return {
        "apiVersion": "trainer.kubeflow.org/v1alpha1",
        "kind": kind,
        "metadata": meta,
        "spec": {
            "mlPolicy": policy if policy is not None else {"numNodes": 2, "torch": {}},
            "template": {"spec": {"replicatedJobs": jobs if jobs is not None else [job("node")]}},
        },
    }


def job(name, *, trainer=True, containers=("node",), image="img", backoff=None):
    spec = {
        "template": {
            "spec": {"containers": [{"name": c, "image": f"{image}-{c}"} for c in containers]}
        }
    }
    if backoff is not None:
        spec["backoffLimit"] = backoff
    labels = {"trainer.kubeflow.org/trainjob-ancestor-step": "trainer"} if trainer else {}
    return {"name": name, "template": {"metadata": {"labels": labels}, "spec": spec}}


def test_a_torch_runtime():
    rt = parse_runtime(runtime(labels={"trainer.kubeflow.org/framework": "torch"}))
    assert rt == Runtime(
        name="rt",
        scope="ClusterTrainingRuntime",
        namespace=None,
        framework="torch",
        ml_policy="torch",
        num_nodes=2,
        num_proc_per_node=None,
        image="img-node",
        node_jobs=("node",),
        trainer_job="node",
        backoff_limit=6,
    )
    assert rt.to_dict() == {
        "name": "rt",
        "scope": "ClusterTrainingRuntime",
        "namespace": None,
        "framework": "torch",
        "mlPolicy": "torch",
        "numNodes": 2,
        "numProcPerNode": None,
        "image": "img-node",
        "nodeJobs": ["node"],
        "trainerJob": "node",
        "backoffLimit": 6,
    }


@pytest.mark.parametrize(
    ("policy", "labels", "framework", "ml_policy", "nodes", "nproc"),
    [
        # No label: the framework is the policy's key.
        ({"mpi": {"numProcPerNode": 4}}, {}, "mpi", "mpi", 1, 4),
        # mpi's numProcPerNode defaults to 1 (the CRD's default, as the API server stores it).
        ({"numNodes": 3, "mpi": {}}, {}, "mpi", "mpi", 3, 1),
        ({"flux": {}}, {}, "flux", "flux", 1, 1),
        ({"jax": {}}, {"trainer.kubeflow.org/framework": "jax"}, "jax", "jax", 1, None),
        ({"xgboost": {}}, {}, "xgboost", "xgboost", 1, None),
        # Before v2.2 the torch policy carried numProcPerNode ("auto" or a number).
        ({"torch": {"numProcPerNode": "auto"}}, {}, "torch", "torch", 1, "auto"),
        # No policy: no plugin wires the nodes, and nothing names a framework.
        ({}, {}, "", "plain", 1, None),
        ({}, {"trainer.kubeflow.org/framework": "custom"}, "custom", "plain", 1, None),
    ],
)
def test_policies(policy, labels, framework, ml_policy, nodes, nproc):
    rt = parse_runtime(runtime(policy=policy, labels=labels))
    assert (rt.framework, rt.ml_policy, rt.num_nodes, rt.num_proc_per_node) == (
        framework,
        ml_policy,
        nodes,
        nproc,
    )


def test_the_trainer_job_is_the_labelled_one_and_its_backoff_limit_is_read():
    jobs = [
        job("init", trainer=False, containers=("dataset-initializer",)),
        job("node", trainer=False),
        job("launcher", backoff=0, image="launch"),
    ]
    rt = parse_runtime(runtime(jobs=jobs))
    assert rt.trainer_job == "launcher"
    assert rt.image == "launch-node"
    assert rt.backoff_limit == 0
    assert rt.node_jobs == ("node", "launcher")


def test_a_runtime_without_a_trainer_job_or_node_container():
    rt = parse_runtime(runtime(jobs=[job("work", trainer=False, containers=("main",))]))
    assert (rt.trainer_job, rt.image, rt.node_jobs, rt.backoff_limit) == ("", None, (), 6)
    rt = parse_runtime(runtime(jobs=[job("work", containers=("main",))]))
    assert (rt.trainer_job, rt.image, rt.node_jobs) == ("work", None, ())


def test_a_namespaced_runtime():
    rt = parse_runtime(runtime("TrainingRuntime", ns="alice"))
    assert (rt.scope, rt.namespace) == ("TrainingRuntime", "alice")
    assert rt.to_dict()["namespace"] == "alice"


@pytest.mark.parametrize(
    ("obj", "problem"),
    [
        ({"kind": "TrainJob", "metadata": {"name": "x"}}, "kind is 'TrainJob'"),
        ({"kind": "ClusterTrainingRuntime", "metadata": {}}, "metadata.name is missing"),
        ({"kind": "TrainingRuntime", "metadata": {"name": "x"}}, "needs metadata.namespace"),
        ({}, "kind is None"),
    ],
)
def test_not_a_runtime(obj, problem):
    with pytest.raises(InvalidSpecError) as err:
        parse_runtime(obj)
    assert problem in str(err.value)


def test_a_runtime_checks_its_scope():
    with pytest.raises(ValueError, match="has a namespace"):
        Runtime("x", "TrainingRuntime", None, "", "plain", 1, None, None, (), "", 6)
    with pytest.raises(ValueError, match="scope must be"):
        Runtime("x", "Runtime", None, "", "plain", 1, None, None, (), "", 6)


def test_stock_runtime_by_name():
    assert stock_runtime("torch-distributed").image.startswith("pytorch/pytorch:")
    with pytest.raises(KeyError) as err:
        stock_runtime("torch")
    assert "torch-distributed" in str(err.value) and "xgboost-distributed" in str(err.value)


# -- Trainer v2.3.0's own manifests, from the Go module cache tests/cluster builds from ------


def _trainer_version() -> str:
    text = (ROOT / "tests" / "cluster" / "trainer" / "versions.env").read_text()
    return re.search(r"^TRAINER_VERSION=(\S+)", text, re.M).group(1)


def _trainer_module() -> Path:
    cache = os.environ.get("JKF_CACHE") or str(Path.home() / ".cache" / "jupyter-kf" / "cluster")
    gomod = Path(os.environ.get("JKF_GOMODCACHE") or Path(cache) / "go" / "mod")
    path = gomod / "github.com" / "kubeflow" / "trainer" / f"v2@{_trainer_version()}"
    if not path.is_dir():
        pytest.fail(f"{path} is missing: tests/cluster/build.sh downloads it (make cluster-build)")
    return path


def _resources(kustomization_dir: Path) -> list[dict]:
    """The objects a kustomization's `resources` name, followed into sub-kustomizations."""
    kustomization = yaml.safe_load((kustomization_dir / "kustomization.yaml").read_text())
    out = []
    for entry in kustomization["resources"]:
        path = kustomization_dir / entry
        if path.is_dir():
            out += _resources(path)
        else:
            out += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return out


def _installed_runtimes() -> list[dict]:
    """manifests/overlays/runtimes as kustomize renders it: the base runtimes with the
    overlay's image tags (kustomize's images transformer: same name, new tag)."""
    overlay = _trainer_module() / "manifests" / "overlays" / "runtimes"
    tags = {
        i["name"]: i["newTag"]
        for i in yaml.safe_load((overlay / "kustomization.yaml").read_text())["images"]
    }
    objs = _resources(overlay)
    for obj in objs:
        for rj in obj["spec"]["template"]["spec"]["replicatedJobs"]:
            for c in rj["template"]["spec"]["template"]["spec"]["containers"]:
                base = c["image"].split(":")[0]
                if base in tags:
                    c["image"] = f"{base}:{tags[base]}"
    return objs


@pytest.mark.cluster  # reads what tests/cluster/build.sh downloads
def test_stock_runtimes_are_trainers_manifests():
    assert TRAINER_RELEASE == _trainer_version()
    parsed = {rt.name: rt for rt in map(parse_runtime, _installed_runtimes())}
    assert len(parsed) == 8
    assert parsed == STOCK_RUNTIMES
