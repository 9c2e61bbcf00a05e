"""What every replica sees in its environment: the Training Operator's contract, and for a
TrainJob the Trainer v2 plugins'.

The operator injects these variables into the pods it creates. The local backend injects
exactly the same names with loopback addresses, so a script that runs under
``%kftrain --local`` runs unchanged on a cluster. tests/kubernetes compares this module,
variable for variable, with the env of the pods the real operator creates.

Where a replica listens is abstracted by an ``Addressing``: on a cluster each replica has a
headless Service ``<job>-<role>-<index>`` on the kind's port; locally every replica is on
127.0.0.1 with a port of its own.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from .kinds import RESERVED_ENV, KindInfo, kind_info
from .trainjob import nproc_per_node

if TYPE_CHECKING:
    from .spec import JobSpec

__all__ = ["RESERVED_ENV", "ClusterAddressing", "LocalAddressing", "env_for", "replica_keys"]


class Addressing(Protocol):
    on_cluster: bool

    def host(self, role: str, index: int) -> str:
        """The short host name (or IP) other replicas reach this one at."""

    def fqdn(self, role: str, index: int) -> str:
        """The fully-qualified name TensorFlow's TF_CONFIG uses."""

    def port(self, role: str, index: int) -> int: ...

    def own_ip(self, role: str, index: int) -> str:
        """What the operator writes for "this pod's IP" (Paddle's rank 0)."""


@dataclass(frozen=True)
class ClusterAddressing:
    """Replicas as the operator names them: one headless Service per replica."""

    job: str
    namespace: str
    info: KindInfo
    cluster_domain: str | None = None  # the operator's CUSTOM_CLUSTER_DOMAIN
    on_cluster = True

    def host(self, role: str, index: int) -> str:
        if self.info.is_trainjob:
            # JobSet's pod host name in its headless Service (the job's name): the nodes are
            # replicated Job "node", Job 0, pod <index>.
            return f"{self.job}-{role.lower()}-0-{index}.{self.job}"
        return f"{self.job}-{role.lower()}-{index}"

    def fqdn(self, role: str, index: int) -> str:
        name = f"{self.host(role, index)}.{self.namespace}.svc"
        return f"{name}.{self.cluster_domain}" if self.cluster_domain else name

    def port(self, role: str, index: int) -> int:
        return self.info.port

    def own_ip(self, role: str, index: int) -> str:
        return "$(POD_IP_DUMMY)"  # the operator's fieldRef to status.podIP


@dataclass(frozen=True)
class LocalAddressing:
    """Every replica on loopback, each with a port of its own (chosen free at start)."""

    ports: Mapping[tuple[str, int], int] = field(default_factory=dict)
    ip: str = "127.0.0.1"
    on_cluster = False

    def host(self, role: str, index: int) -> str:
        return self.ip

    def fqdn(self, role: str, index: int) -> str:
        return self.ip

    def port(self, role: str, index: int) -> int:
        return self.ports[(role, index)]

    def own_ip(self, role: str, index: int) -> str:
        return self.ip


def replica_keys(spec: JobSpec) -> list[tuple[str, int]]:
    """Every (role, index) of the job, in the kind's role order."""
    info = kind_info(spec.kind)
    return [(role, i) for role in info.roles for i in range(spec.replicas.get(role, 0))]


def env_for(
    spec: JobSpec, role: str, index: int, addr: Addressing, *, ml_policy: str | None = None
) -> dict[str, str]:
    """The variables the operator (or, for a TrainJob, the Trainer's plugin for the runtime's
    ``ml_policy``) injects into replica ``role``/``index`` of ``spec``."""
    if kind_info(spec.kind).is_trainjob:
        return _trainjob(spec, index, addr, ml_policy or _stock_policy(spec))
    builder = _BUILDERS[kind_info(spec.kind).kind]
    return builder(spec, role, index, addr)


def _stock_policy(spec: JobSpec) -> str:
    from .runtimes import stock_runtime

    return stock_runtime(spec.runtime or "").ml_policy


def _trainjob(spec: JobSpec, index: int, addr: Addressing, ml_policy: str) -> dict[str, str]:
    """Trainer v2's plugins: torch (PET_* for torchrun), jax, xgboost; every node is a pod of
    an indexed Job, which has JOB_COMPLETION_INDEX. The user's own variables come first in
    the pod (PYTHONUNBUFFERED for shipped code: see trainjob.py)."""
    nodes = spec.replicas.get("Node", 1)
    host, port = addr.host("Node", 0), addr.port("Node", 0)
    env = {"JOB_COMPLETION_INDEX": str(index)}
    if spec.code is not None:
        env["PYTHONUNBUFFERED"] = "1"
    if ml_policy == "torch":
        env.update(
            PET_NNODES=str(nodes),
            PET_NPROC_PER_NODE=nproc_per_node(spec),
            PET_NODE_RANK=str(index),
            PET_MASTER_ADDR=host,
            PET_MASTER_PORT=str(port),
        )
    elif ml_policy == "jax":
        env.update(
            JAX_NUM_PROCESSES=str(nodes),
            JAX_PROCESS_ID=str(index),
            JAX_COORDINATOR_ADDRESS=f"{host}:{port}",
        )
    elif ml_policy == "xgboost":
        env.update(
            DMLC_TRACKER_URI=host,
            DMLC_TRACKER_PORT=str(port),
            DMLC_TASK_ID=str(index),
            DMLC_NUM_WORKER=str(nodes * (spec.resources.gpu or 1)),
        )
    return env


def _pytorch(spec: JobSpec, role: str, index: int, addr: Addressing) -> dict[str, str]:
    env = {"PYTHONUNBUFFERED": "1"}
    nproc = spec.nproc_per_node or "auto"
    env["PET_NPROC_PER_NODE"] = nproc
    total = spec.total_replicas
    if spec.replicas.get("Master"):
        host, port = addr.host("Master", 0), str(addr.port("Master", 0))
        env.update(MASTER_PORT=port, PET_MASTER_PORT=port, MASTER_ADDR=host, PET_MASTER_ADDR=host)
        rank = index + 1 if role == "Worker" else index
        per_node = int(nproc) if nproc.isdigit() else 1
        env.update(WORLD_SIZE=str(total * per_node), RANK=str(rank), PET_NODE_RANK=str(rank))
    if spec.elastic_policy is not None:
        e = spec.elastic_policy
        lo = e.min_replicas if e.min_replicas is not None else e.max_replicas
        hi = e.max_replicas if e.max_replicas is not None else e.min_replicas
        lo = spec.replicas.get("Worker", 0) if lo is None else lo
        hi = spec.replicas.get("Worker", 0) if hi is None else hi
        env["PET_RDZV_ENDPOINT"] = f"{addr.host('Worker', 0)}:{addr.port('Worker', 0)}"
        env["PET_RDZV_BACKEND"] = e.rdzv_backend
        env["PET_NNODES"] = f"{lo}:{hi}"
        if e.max_restarts is not None:
            env["PET_MAX_RESTARTS"] = str(e.max_restarts)
    else:
        env["PET_NNODES"] = str(total)
    return env


def _tensorflow(spec: JobSpec, role: str, index: int, addr: Addressing) -> dict[str, str]:
    # The operator counts every replica (evaluators too) to decide "distributed", but
    # leaves evaluators out of the cluster spec: they are not part of training.
    if spec.total_replicas == 1:
        return {}
    cluster = {
        r.lower(): [f"{addr.fqdn(r, i)}:{addr.port(r, i)}" for i in range(count)]
        for r, count in sorted(spec.replicas.items())
        if r != "Evaluator"
    }
    config = {
        "cluster": cluster,
        "task": {"type": role.lower(), "index": index},
        "environment": "cloud",
    }
    return {"TF_CONFIG": json.dumps(config, separators=(",", ":"), sort_keys=False)}


def _jax(spec: JobSpec, role: str, index: int, addr: Addressing) -> dict[str, str]:
    return {
        "PYTHONUNBUFFERED": "1",
        "COORDINATOR_ADDRESS": addr.host("Worker", 0),
        "COORDINATOR_PORT": str(addr.port("Worker", 0)),
        "NUM_PROCESSES": str(spec.total_replicas),
        "PROCESS_ID": str(index),
    }


def _xgboost(spec: JobSpec, role: str, index: int, addr: Addressing) -> dict[str, str]:
    total = spec.total_replicas
    rank = index + spec.replicas.get("Master", 0) if role == "Worker" else index
    env = {
        "MASTER_PORT": str(addr.port("Master", 0)),
        "MASTER_ADDR": addr.host("Master", 0),
        "WORLD_SIZE": str(total),
        "RANK": str(rank),
        "PYTHONUNBUFFERED": "1",
    }
    if total > 1:
        env["WORKER_PORT"] = str(
            addr.port("Worker", 0) if spec.replicas.get("Worker") else addr.port("Master", 0)
        )
        env["WORKER_ADDRS"] = ",".join(
            addr.host("Worker", i) for i in range(spec.replicas.get("Worker", 0))
        )
    return env


def _paddle(spec: JobSpec, role: str, index: int, addr: Addressing) -> dict[str, str]:
    env = {
        "PYTHONUNBUFFERED": "1",
        "PADDLE_JOB_ID": spec.name,
        "PADDLE_NNODES": str(spec.total_replicas),
    }
    # Collective mode (no Master) meets at worker 0; parameter-server mode at the Master.
    leader = "Master" if spec.replicas.get("Master") else "Worker"
    port = addr.port(leader, 0)
    if role == leader and index == 0:
        env["PADDLE_MASTER"] = f"{addr.own_ip(role, index)}:{port}"
    else:
        env["PADDLE_MASTER"] = f"{addr.host(leader, 0)}:{port}"
    if leader == "Master":
        env["PADDLE_SERVER_NUM" if role == "Master" else "PADDLE_TRAINER_NUM"] = "1"
    return env


def _mpi(spec: JobSpec, role: str, index: int, addr: Addressing) -> dict[str, str]:
    # The v1 MPI controller wires ranks through a hostfile and `kubectl exec`, not env: the
    # launcher gets the variables that point mpirun (Open MPI or Intel MPI) at them. Locally
    # mpirun starts its ranks itself, so none of these apply there.
    if role != "Launcher" or not addr.on_cluster:
        return {}
    env = {
        "OMPI_MCA_plm_rsh_agent": "/etc/mpi/kubexec.sh",
        "OMPI_MCA_orte_default_hostfile": "/etc/mpi/hostfile",
        "I_MPI_HYDRA_BOOTSTRAP": "rsh",
        "I_MPI_HYDRA_BOOTSTRAP_EXEC": "/etc/mpi/kubexec.sh",
    }
    if not spec.resources.gpu:  # keeps a CPU launcher off the node's GPUs
        env.update(NVIDIA_VISIBLE_DEVICES="", NVIDIA_DRIVER_CAPABILITIES="")
    return env


_BUILDERS = {
    "PyTorchJob": _pytorch,
    "TFJob": _tensorflow,
    "JAXJob": _jax,
    "XGBoostJob": _xgboost,
    "PaddleJob": _paddle,
    "MPIJob": _mpi,
}
