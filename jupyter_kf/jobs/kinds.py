"""Facts about each Training Operator v1 kind (``kubeflow.org/v1``), in one table.

Source: the operator's API types and controllers (kubeflow/trainer release-1.9,
``pkg/apis/kubeflow.org/v1/*_types.go``); see docs/architecture.md for how they are checked
against the real operator in tests/cluster.
"""

from __future__ import annotations

from dataclasses import dataclass

GROUP = "kubeflow.org"
VERSION = "v1"
API_VERSION = f"{GROUP}/{VERSION}"

RESTART_POLICIES = ("Always", "OnFailure", "Never", "ExitCode")


@dataclass(frozen=True)
class KindInfo:
    kind: str  # e.g. "PyTorchJob"
    framework: str  # the name a user types: "pytorch"
    plural: str  # the CRD's plural: "pytorchjobs"
    replica_specs_field: str  # "pytorchReplicaSpecs"
    roles: tuple[str, ...]  # valid replica types, in launch order
    required_roles: tuple[str, ...]  # roles every job of this kind must have
    worker_role: str  # the role that scaling changes
    container: str  # the default container name the operator looks for
    port_name: str
    port: int
    default_restart_policy: str
    scale_subresource: bool  # only these kinds have /scale (the others restart to resize)
    operator_name: str  # value of the training.kubeflow.org/operator-name label
    single_roles: tuple[str, ...] = ()  # roles allowed at most one replica


KINDS: dict[str, KindInfo] = {
    info.kind: info
    for info in (
        KindInfo(
            kind="PyTorchJob",
            framework="pytorch",
            plural="pytorchjobs",
            replica_specs_field="pytorchReplicaSpecs",
            roles=("Master", "Worker"),
            required_roles=("Master",),
            worker_role="Worker",
            container="pytorch",
            port_name="pytorchjob-port",
            port=23456,
            default_restart_policy="OnFailure",
            scale_subresource=True,
            operator_name="pytorchjob-controller",
            single_roles=("Master",),
        ),
        KindInfo(
            kind="TFJob",
            framework="tensorflow",
            plural="tfjobs",
            replica_specs_field="tfReplicaSpecs",
            roles=("Chief", "Master", "PS", "Worker", "Evaluator"),
            required_roles=(),
            worker_role="Worker",
            container="tensorflow",
            port_name="tfjob-port",
            port=2222,
            default_restart_policy="Never",
            scale_subresource=False,
            operator_name="tfjob-controller",
            single_roles=("Chief", "Master"),
        ),
        KindInfo(
            kind="MPIJob",
            framework="mpi",
            plural="mpijobs",
            replica_specs_field="mpiReplicaSpecs",
            roles=("Launcher", "Worker"),
            required_roles=("Launcher",),
            worker_role="Worker",
            container="mpi",
            port_name="mpi-port",
            port=9999,
            default_restart_policy="Never",
            scale_subresource=False,
            operator_name="mpijob-controller",
            single_roles=("Launcher",),
        ),
        KindInfo(
            kind="XGBoostJob",
            framework="xgboost",
            plural="xgboostjobs",
            replica_specs_field="xgbReplicaSpecs",
            roles=("Master", "Worker"),
            required_roles=("Master",),
            worker_role="Worker",
            container="xgboost",
            port_name="xgboostjob-port",
            port=9999,
            default_restart_policy="Never",
            scale_subresource=False,
            operator_name="xgboostjob-controller",
            single_roles=("Master",),
        ),
        KindInfo(
            kind="PaddleJob",
            framework="paddle",
            plural="paddlejobs",
            replica_specs_field="paddleReplicaSpecs",
            roles=("Master", "Worker"),
            required_roles=(),
            worker_role="Worker",
            container="paddle",
            port_name="master",
            port=36543,
            default_restart_policy="OnFailure",
            scale_subresource=True,
            operator_name="paddlejob-controller",
            single_roles=("Master",),
        ),
        KindInfo(
            kind="JAXJob",
            framework="jax",
            plural="jaxjobs",
            replica_specs_field="jaxReplicaSpecs",
            roles=("Worker",),
            required_roles=("Worker",),
            worker_role="Worker",
            container="jax",
            port_name="jaxjob-port",
            port=6666,
            default_restart_policy="Never",
            scale_subresource=True,
            operator_name="jaxjob-controller",
        ),
    )
}

FRAMEWORKS: dict[str, str] = {info.framework: info.kind for info in KINDS.values()}
# Names people also type.
FRAMEWORKS.update({"torch": "PyTorchJob", "tf": "TFJob", "paddlepaddle": "PaddleJob"})

BY_PLURAL: dict[str, KindInfo] = {info.plural: info for info in KINDS.values()}


def kind_info(kind_or_framework: str) -> KindInfo:
    """Look a kind up by its Kind (``PyTorchJob``), plural or framework name (``pytorch``)."""
    key = kind_or_framework.strip()
    for table in (KINDS, BY_PLURAL):
        if key in table:
            return table[key]
    lowered = key.lower()
    if lowered in FRAMEWORKS:
        return KINDS[FRAMEWORKS[lowered]]
    for kind, info in KINDS.items():
        if kind.lower() == lowered:
            return info
    known = ", ".join(sorted(set(FRAMEWORKS) | set(KINDS)))
    raise KeyError(f"unknown job kind or framework {kind_or_framework!r}; use one of: {known}")


def canonical_role(info: KindInfo, role: str) -> str | None:
    """The operator normalises replica types case-insensitively; so do we."""
    for known in info.roles:
        if known.lower() == role.lower():
            return known
    return None
