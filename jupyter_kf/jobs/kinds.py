"""Facts about each kind jupyter-kf runs, in one table: the Training Operator v1 kinds
(``kubeflow.org/v1``) and Kubeflow Trainer v2's TrainJob (``trainer.kubeflow.org/v1alpha1``).

Every module that needs a kind's rules (its roles, which replica is rank 0, how
``--workers N`` maps to replica counts and back, whose log is the job's, whether it resizes
in place) reads them from its ``KindInfo`` here rather than testing the kind's name. The
values follow the operator's API types and controllers; tests/kubernetes checks them against
the real operator.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

GROUP = "kubeflow.org"
VERSION = "v1"
API_VERSION = f"{GROUP}/{VERSION}"

RESTART_POLICIES = ("Always", "OnFailure", "Never", "ExitCode")

# Names the operator sets in its pods' env; a user's env may not set them (validation
# refuses it) and the local backend sets them the same way (see envcontract.py).
RESERVED_ENV = frozenset(
    {
        "MASTER_ADDR",
        "MASTER_PORT",
        "WORLD_SIZE",
        "RANK",
        "PET_MASTER_ADDR",
        "PET_MASTER_PORT",
        "PET_NODE_RANK",
        "PET_NNODES",
        "PET_NPROC_PER_NODE",
        "PET_RDZV_ENDPOINT",
        "PET_RDZV_BACKEND",
        "PET_MAX_RESTARTS",
        "TF_CONFIG",
        "COORDINATOR_ADDRESS",
        "COORDINATOR_PORT",
        "NUM_PROCESSES",
        "PROCESS_ID",
        "WORKER_PORT",
        "WORKER_ADDRS",
        "PADDLE_JOB_ID",
        "PADDLE_NNODES",
        "PADDLE_MASTER",
        "PADDLE_SERVER_NUM",
        "PADDLE_TRAINER_NUM",
        "POD_IP_DUMMY",
        "OMPI_MCA_plm_rsh_agent",
        "OMPI_MCA_orte_default_hostfile",
        "I_MPI_HYDRA_BOOTSTRAP",
        "I_MPI_HYDRA_BOOTSTRAP_EXEC",
        # Set by Trainer v2's plugins on a TrainJob's nodes (its webhook refuses them too).
        "JAX_NUM_PROCESSES",
        "JAX_PROCESS_ID",
        "JAX_COORDINATOR_ADDRESS",
        "DMLC_TRACKER_URI",
        "DMLC_TRACKER_PORT",
        "DMLC_TASK_ID",
        "DMLC_NUM_WORKER",
        "JOB_COMPLETION_INDEX",
    }
)

# Kubeflow Trainer v2.
TRAINER_GROUP = "trainer.kubeflow.org"
TRAINER_VERSION = "v1alpha1"
TRAINER_API_VERSION = f"{TRAINER_GROUP}/{TRAINER_VERSION}"
RUNTIME_KINDS = ("ClusterTrainingRuntime", "TrainingRuntime")


@dataclass(frozen=True)
class KindInfo:
    """One kind's description. Replica counts are ``{role: count}`` mappings."""

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
    # Whether the CRD has a /scale subresource, so a job resizes in place; the other kinds
    # restart every replica to resize (their running pods keep the world size they started
    # with).
    scale_subresource: bool
    operator_name: str  # value of the training.kubeflow.org/operator-name label
    single_roles: tuple[str, ...] = ()  # roles allowed at most one replica
    # Roles that lead the job when present, in order of preference: replica 0 of the first
    # one present is rank 0, whose log is the job's log (the default of logs and metrics)
    # and whose success is the job's. Without a leader, worker 0 is rank 0.
    leaders: tuple[str, ...] = ()
    # The leader ``JobSpec.create`` adds (one replica), and whether it is one of the
    # ``--workers`` training processes (a PyTorch Master is; an MPI Launcher is not).
    default_leader: str | None = None
    leader_is_worker: bool = False
    # The leader starts every rank itself (mpirun): the workers are no processes of their
    # own on the local backend, their output is in the leader's log, and a job needs at
    # least one worker for the leader to start ranks on.
    leader_runs_ranks: bool = False
    # Without a leader, the job has succeeded once worker 0 has (True) or once every worker
    # has (False).
    done_with_worker0: bool = False
    # ``JobSpec`` fields only this kind's CRD has (the others refuse them).
    options: tuple[str, ...] = ()
    group: str = GROUP
    version: str = VERSION

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"

    @property
    def is_trainjob(self) -> bool:
        return self.group == TRAINER_GROUP

    # -- replica counts -----------------------------------------------------------------
    def replicas_for(self, workers: int) -> dict[str, int]:
        """The conventional layout for ``workers`` training processes (``--workers N``)."""
        if self.default_leader is None:
            return {self.worker_role: workers}
        rest = workers - 1 if self.leader_is_worker else workers
        return {self.default_leader: 1, **({self.worker_role: rest} if rest > 0 else {})}

    def counted_leaders(self, counts: Mapping[str, int]) -> int:
        """Leader replicas that count as training processes."""
        if not self.leader_is_worker:
            return 0
        return sum(int(counts.get(role, 0)) for role in self.leaders)

    def workers_of(self, counts: Mapping[str, int]) -> int:
        """Training processes, as ``--workers`` counts them: the inverse of ``replicas_for``."""
        return int(counts.get(self.worker_role, 0)) + self.counted_leaders(counts)

    def worker_replicas_for(self, counts: Mapping[str, int], workers: int) -> int:
        """How many ``worker_role`` replicas make ``workers`` processes, other roles kept."""
        return workers - self.counted_leaders(counts)

    def min_worker_replicas(self) -> int:
        return 1 if self.leader_runs_ranks else 0

    # -- rank 0 -------------------------------------------------------------------------
    def leader_of(self, counts: Mapping[str, int]) -> str | None:
        """The leading role present in ``counts``, if any."""
        return next((role for role in self.leaders if counts.get(role, 0)), None)

    def rank0_role(self, counts: Mapping[str, int]) -> str:
        leader = self.leader_of(counts)
        if leader is not None:
            return leader
        if counts.get(self.worker_role, 0) or not counts:
            return self.worker_role
        return next(role for role in self.roles if counts.get(role, 0))

    def rank0(self, counts: Mapping[str, int]) -> str:
        """The replica whose log is the job's, e.g. ``master-0``."""
        return f"{self.rank0_role(counts).lower()}-0"

    def process_roles(self) -> tuple[str, ...]:
        """Roles that are processes of their own on the local backend."""
        if self.leader_runs_ranks:
            return tuple(role for role in self.roles if role in self.leaders)
        return self.roles

    def to_dict(self) -> dict[str, Any]:
        """What the REST API tells the panel about the kind."""
        return {
            "framework": self.framework,
            "kind": self.kind,
            "roles": list(self.roles),
            "workerRole": self.worker_role,
            "leaders": list(self.leaders),
            "defaultLeader": self.default_leader,
            "leaderIsWorker": self.leader_is_worker,
            "scalesInPlace": self.scale_subresource,
            "apiVersion": self.api_version,
        }


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
            leaders=("Master",),
            default_leader="Master",
            leader_is_worker=True,
            options=("elastic_policy", "nproc_per_node"),
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
            leaders=("Chief", "Master"),
            done_with_worker0=True,
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
            leaders=("Launcher",),
            default_leader="Launcher",
            leader_runs_ranks=True,
            options=("slots_per_worker",),
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
            leaders=("Master",),
            default_leader="Master",
            leader_is_worker=True,
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
            leaders=("Master",),
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

# A TrainJob: one role, its nodes ("node-0" is rank 0, as the Trainer's torch plugin makes
# the first pod the master). The runtime decides everything else (image, which plugin wires
# the nodes: jobs/runtimes.py); numNodes is immutable, so it never scales in place
# (scaling is a replacement, see jobs/trainjob.py).
TRAINJOB = KindInfo(
    kind="TrainJob",
    framework="trainjob",
    plural="trainjobs",
    replica_specs_field="",
    roles=("Node",),
    required_roles=("Node",),
    worker_role="Node",
    container="node",
    port_name="",
    port=29500,
    # The runtime's: JobSet makes a Job's pods OnFailure when its template names none.
    default_restart_policy="OnFailure",
    scale_subresource=False,
    operator_name="",
    options=("nproc_per_node", "runtime"),
    group=TRAINER_GROUP,
    version=TRAINER_VERSION,
)

# Every kind a job may be: the v1 kinds (``KINDS``, what the Training Operator serves) and
# the TrainJob.
ALL_KINDS: dict[str, KindInfo] = {**KINDS, TRAINJOB.kind: TRAINJOB}

FRAMEWORKS: dict[str, str] = {info.framework: info.kind for info in KINDS.values()}
# Names people also type.
FRAMEWORKS.update({"torch": "PyTorchJob", "tf": "TFJob", "paddlepaddle": "PaddleJob"})

BY_PLURAL: dict[str, KindInfo] = {info.plural: info for info in KINDS.values()}
ALL_BY_PLURAL: dict[str, KindInfo] = {info.plural: info for info in ALL_KINDS.values()}


def kind_info(kind_or_framework: str) -> KindInfo:
    """Look a kind up by its Kind (``PyTorchJob``), plural or framework name (``pytorch``)."""
    key = kind_or_framework.strip()
    for table in (ALL_KINDS, ALL_BY_PLURAL):
        if key in table:
            return table[key]
    lowered = key.lower()
    if lowered in FRAMEWORKS:
        return KINDS[FRAMEWORKS[lowered]]
    for kind, info in ALL_KINDS.items():
        if kind.lower() == lowered:
            return info
    known = ", ".join(sorted(set(FRAMEWORKS) | set(ALL_KINDS)))
    raise KeyError(f"unknown job kind or framework {kind_or_framework!r}; use one of: {known}")


def kinds_with(option: str) -> str:
    """The kinds that take ``option``, for messages: "PyTorchJob"."""
    return " and ".join(k for k, info in ALL_KINDS.items() if option in info.options)


def canonical_role(info: KindInfo, role: str) -> str | None:
    """The operator normalises replica types case-insensitively; so do we."""
    for known in info.roles:
        if known.lower() == role.lower():
            return known
    return None
