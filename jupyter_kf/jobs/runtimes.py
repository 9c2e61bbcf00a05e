"""Kubeflow Trainer v2's training runtimes, as jupyter-kf needs to know them.

A TrainJob names a runtime (a cluster-wide ``ClusterTrainingRuntime`` or a namespaced
``TrainingRuntime``); the runtime decides the image, how many nodes by default, which
plugin wires the nodes together (its ``mlPolicy``) and which of its JobSet's replicated
jobs run the trainer. ``parse_runtime`` reads those facts from a runtime's raw JSON;
``STOCK_RUNTIMES`` are the runtimes Trainer v2.3.0 ships, for the local backend, which has
no cluster to ask. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidSpecError

GROUP = "trainer.kubeflow.org"
VERSION = "v1alpha1"
CLUSTER_SCOPE = "ClusterTrainingRuntime"
NAMESPACED_SCOPE = "TrainingRuntime"
PLURALS = {CLUSTER_SCOPE: "clustertrainingruntimes", NAMESPACED_SCOPE: "trainingruntimes"}
# A runtime's template is a JobSet; the Trainer turns each TrainJob into one.
JOBSET_GROUP = "jobset.x-k8s.io"
JOBSET_VERSION = "v1alpha2"

FRAMEWORK_LABEL = "trainer.kubeflow.org/framework"
# The Trainer finds the replicated job that runs spec.trainer by this label on the job
# template (initializers carry "dataset-initializer" / "model-initializer").
ANCESTOR_LABEL = "trainer.kubeflow.org/trainjob-ancestor-step"
TRAINER_STEP = "trainer"
# The container every Trainer plugin treats as the training process.
NODE_CONTAINER = "node"
# The mlPolicy members (at most one is set, the CRD's CEL rule says); "plain" when none is.
ML_POLICIES = ("torch", "mpi", "jax", "xgboost", "flux")
PLAIN = "plain"
# Kubernetes' default Job spec.backoffLimit, which JobSet leaves as it is.
JOB_BACKOFF_LIMIT = 6


@dataclass(frozen=True)
class Runtime:
    """What one training runtime runs, as a TrainJob that names it would get it."""

    name: str
    scope: str  # CLUSTER_SCOPE or NAMESPACED_SCOPE
    namespace: str | None  # a TrainingRuntime's; None for a ClusterTrainingRuntime
    framework: str  # label trainer.kubeflow.org/framework, else the mlPolicy key, else ""
    ml_policy: str  # the plugin that wires the nodes: one of ML_POLICIES, or "plain"
    num_nodes: int  # spec.mlPolicy.numNodes (1 when unset)
    # mpi/flux numProcPerNode (the CRD defaults it to 1); a torch policy has none since
    # v2.2 (the TrainJob's spec.trainer.numProcPerNode says), older ones may ("auto" or int).
    num_proc_per_node: int | str | None
    image: str | None  # container "node" of the trainer job; None when it has none
    node_jobs: tuple[str, ...]  # replicated jobs with a "node" container, in order
    trainer_job: str  # the replicated job labelled as the trainer step
    backoff_limit: int  # that job's spec.backoffLimit, else Kubernetes' default

    def __post_init__(self) -> None:
        if self.scope not in PLURALS:
            raise ValueError(f"scope must be one of {sorted(PLURALS)}, not {self.scope!r}")
        if (self.scope == NAMESPACED_SCOPE) != (self.namespace is not None):
            raise ValueError("a TrainingRuntime has a namespace, a ClusterTrainingRuntime none")

    def to_dict(self) -> dict[str, Any]:
        """camelCase JSON for the REST API and the CLI."""
        return {
            "name": self.name,
            "scope": self.scope,
            "namespace": self.namespace,
            "framework": self.framework,
            "mlPolicy": self.ml_policy,
            "numNodes": self.num_nodes,
            "numProcPerNode": self.num_proc_per_node,
            "image": self.image,
            "nodeJobs": list(self.node_jobs),
            "trainerJob": self.trainer_job,
            "backoffLimit": self.backoff_limit,
        }


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _pod_spec(job: Mapping[str, Any]) -> Mapping[str, Any]:
    return _map(_map(_map(_map(job.get("template")).get("spec")).get("template")).get("spec"))


def _node_container(job: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for container in _pod_spec(job).get("containers") or ():
        if _map(container).get("name") == NODE_CONTAINER:
            return _map(container)
    return None


def _trainer_job(jobs: list[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    for job in jobs:
        labels = _map(_map(_map(job.get("template")).get("metadata")).get("labels"))
        if labels.get(ANCESTOR_LABEL) == TRAINER_STEP:
            return job
    return None


def parse_runtime(obj: Mapping[str, Any]) -> Runtime:
    """The facts of a ClusterTrainingRuntime or TrainingRuntime given as raw JSON (what the
    API server returns, or a manifest). Fields the API server would default are read with
    the same defaults."""
    kind = obj.get("kind")
    meta = _map(obj.get("metadata"))
    name = meta.get("name")
    problems = []
    if kind not in PLURALS:
        problems.append(f"kind is {kind!r}; a runtime is a {CLUSTER_SCOPE} or {NAMESPACED_SCOPE}")
    if not isinstance(name, str) or not name:
        problems.append("metadata.name is missing")
    if kind == NAMESPACED_SCOPE and not meta.get("namespace"):
        problems.append("a TrainingRuntime needs metadata.namespace")
    if problems:
        raise InvalidSpecError(problems, subject=f"training runtime {name or '?'}")
    spec = _map(obj.get("spec"))
    policy = _map(spec.get("mlPolicy"))
    ml_policy = next((key for key in ML_POLICIES if key in policy), PLAIN)
    plugin = _map(policy.get(ml_policy))
    nproc = plugin.get("numProcPerNode")
    if nproc is None and ml_policy in ("mpi", "flux"):
        nproc = 1
    jobs = [
        _map(j) for j in _map(_map(spec.get("template")).get("spec")).get("replicatedJobs") or ()
    ]
    trainer = _trainer_job(jobs)
    node = _node_container(trainer) if trainer is not None else None
    backoff = _map(_map(trainer).get("template")).get("spec") if trainer is not None else None
    backoff_limit = _map(backoff).get("backoffLimit")
    framework = _map(meta.get("labels")).get(FRAMEWORK_LABEL)
    return Runtime(
        name=str(name),
        scope=str(kind),
        namespace=str(meta["namespace"]) if kind == NAMESPACED_SCOPE else None,
        framework=str(framework or (ml_policy if ml_policy != PLAIN else "")),
        ml_policy=ml_policy,
        num_nodes=int(policy.get("numNodes") or 1),
        num_proc_per_node=nproc,
        image=node.get("image") if node is not None else None,
        node_jobs=tuple(str(j.get("name")) for j in jobs if _node_container(j) is not None),
        trainer_job=str(trainer.get("name")) if trainer is not None else "",
        backoff_limit=JOB_BACKOFF_LIMIT if backoff_limit is None else int(backoff_limit),
    )


def _stock(
    name: str,
    framework: str,
    ml_policy: str,
    image: str,
    *,
    nproc: int | None = None,
    node_jobs: tuple[str, ...] = ("node",),
    trainer_job: str = "node",
) -> Runtime:
    return Runtime(
        name=name,
        scope=CLUSTER_SCOPE,
        namespace=None,
        framework=framework,
        ml_policy=ml_policy,
        num_nodes=1,
        num_proc_per_node=nproc,
        image=image,
        node_jobs=node_jobs,
        trainer_job=trainer_job,
        backoff_limit=JOB_BACKOFF_LIMIT,
    )


TRAINER_RELEASE = "v2.3.0"
_KF = "ghcr.io/kubeflow/trainer"
# Trainer v2.3.0's manifests/base/runtimes as its manifests/overlays/runtimes installs them
# (the Trainer's own images pinned to the release). tests/unit/test_runtimes.py parses the
# real manifests and compares. deepspeed and mlx run MPI with the launcher as a node; the
# torchtune runtimes' trainer follows two initializer jobs, which have no "node" container.
STOCK_RUNTIMES: dict[str, Runtime] = {
    rt.name: rt
    for rt in (
        _stock(
            "torch-distributed", "torch", "torch", "pytorch/pytorch:2.13.0-cuda13.0-cudnn9-runtime"
        ),
        _stock(
            "deepspeed-distributed",
            "deepspeed",
            "mpi",
            f"{_KF}/deepspeed-runtime:{TRAINER_RELEASE}",
            nproc=1,
            node_jobs=("node", "launcher"),
            trainer_job="launcher",
        ),
        _stock(
            "mlx-distributed",
            "mlx",
            "mpi",
            f"{_KF}/mlx-runtime:{TRAINER_RELEASE}",
            nproc=1,
            node_jobs=("node", "launcher"),
            trainer_job="launcher",
        ),
        _stock("jax-distributed", "jax", "jax", "nvcr.io/nvidia/jax:25.10-py3"),
        _stock(
            "xgboost-distributed", "xgboost", "xgboost", f"{_KF}/xgboost-runtime:{TRAINER_RELEASE}"
        ),
        *(
            _stock(name, "torchtune", "torch", f"{_KF}/torchtune-trainer:{TRAINER_RELEASE}")
            for name in (
                "torchtune-llama3.2-1b",
                "torchtune-llama3.2-3b",
                "torchtune-qwen2.5-1.5b",
            )
        ),
    )
}


def stock_runtime(name: str) -> Runtime:
    """A stock runtime of Trainer v2.3.0 by name; KeyError naming the ones there are."""
    try:
        return STOCK_RUNTIMES[name]
    except KeyError:
        known = ", ".join(sorted(STOCK_RUNTIMES))
        raise KeyError(f"no stock training runtime {name!r}; there are: {known}") from None
