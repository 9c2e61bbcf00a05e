"""A TrainJob on the local backend: its nodes as processes, as the runtime's pods would run.

The runtime decides what a TrainJob's pods get, so the local backend runs only the stock
runtimes it can reproduce on this machine (``local_runtimes``): each node is a process with
the env the Trainer's plugin gives its pod (the master on loopback) and the trainer's command
(torchrun for torch runtimes, reading the PET_* variables as it does in the pod). Retries are
the runtime's Job's: a failed node is restarted (its pods' restartPolicy is OnFailure) until
the restarts summed over nodes reach the Job's ``backoffLimit``.

The status the supervisor writes has the TrainJob's own shape (conditions Suspended,
Complete, Failed with the Trainer's and JobSet's reasons, ``jobsStatus``), so the backend
derives the phase with ``trainjob_status`` exactly as on a cluster.
"""

from __future__ import annotations

import importlib.util
import sys

from ...errors import BackendUnavailableError, InvalidSpecError
from ...jobs import JobSpec
from ...jobs.envcontract import env_for
from ...jobs.runtimes import NAMESPACED_SCOPE, STOCK_RUNTIMES, Runtime, stock_runtime
from ...jobs.trainjob import TORCH_POLICIES, trainjob_command
from .layout import JobDir, now, read_json
from .loop import Proc, Supervisor

# Plugins whose nodes need nothing but the env and a process each.
LOCAL_POLICIES = ("torch", "jax", "xgboost", "plain")
# Why the other stock runtimes cannot run here, by framework (or mlPolicy), for the error.
NOT_LOCAL = {
    "mpi": "its MPI launcher reaches the nodes over SSH, which needs the runtime's sshd images",
    "torchtune": "it runs a torchtune recipe from its image after dataset and model initializers",
}
# The Trainer's condition types, and the reasons JobSet gives the ones it propagates.
CONDITION = {"Succeeded": "Complete", "Suspended": "Suspended", "Failed": "Failed"}
COMPLETED = ("AllJobsCompleted", "jobset completed successfully")
FAILED_JOBS = "FailedJobs"
DEADLINE = "DeadlineExceeded"
BACK_OFF = "CrashLoopBackOff"  # what the kubelet says of a container waiting to restart


def _why_not(runtime: Runtime) -> str | None:
    if runtime.ml_policy not in LOCAL_POLICIES:
        return NOT_LOCAL.get(runtime.ml_policy, f"its {runtime.ml_policy} plugin needs a cluster")
    return NOT_LOCAL.get(runtime.framework)


def local_runtimes() -> list[Runtime]:
    """The stock runtimes whose TrainJobs the local backend runs."""
    return [rt for rt in STOCK_RUNTIMES.values() if _why_not(rt) is None]


def runtime_of(spec: JobSpec) -> Runtime:
    """The runtime a TrainJob runs on here, or a clear error naming the ones that run."""
    runnable = ", ".join(rt.name for rt in local_runtimes())
    if spec.runtime_kind == NAMESPACED_SCOPE:
        raise InvalidSpecError(
            f"the local backend has no namespaced TrainingRuntime {spec.runtime!r}; it runs "
            f"the stock ClusterTrainingRuntimes {runnable}, or submit to a cluster"
        )
    try:
        runtime = stock_runtime(spec.runtime or "")
    except KeyError:
        raise InvalidSpecError(
            f"the local backend does not know the runtime {spec.runtime!r}; it runs {runnable} "
            "(a cluster's own runtimes run there: client.runtimes() lists them)"
        ) from None
    why = _why_not(runtime)
    if why:
        raise InvalidSpecError(
            f"runtime {runtime.name} cannot run on the local backend: {why}. "
            f"Run it on a cluster, or use one of {runnable}"
        )
    return runtime


def check_runnable(spec: JobSpec, python: str) -> Runtime:
    """``runtime_of``, and that this machine has what the runtime's command needs."""
    runtime = runtime_of(spec)
    torchrun = runtime.ml_policy in TORCH_POLICIES and spec.code is not None
    # Only this interpreter can be asked cheaply; another one fails in the node's log.
    if torchrun and python == sys.executable and importlib.util.find_spec("torch") is None:
        raise BackendUnavailableError(
            f"runtime {runtime.name} starts each node with torchrun (python -m "
            "torch.distributed.run), and PyTorch is not installed in this environment: "
            "`pip install torch`, or run the job on a cluster"
        )
    return runtime


class TrainJobSupervisor(Supervisor):
    """The supervisor of one TrainJob: the v1 loop with the runtime's rules."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.runtime = runtime_of(self.spec)
        self.fail_reason = FAILED_JOBS

    def contract_env(self, proc: Proc) -> dict[str, str]:
        assert self.addressing is not None, "start_world chooses the ports before any launch"
        return env_for(
            self.spec, proc.role, proc.index, self.addressing, ml_policy=self.runtime.ml_policy
        )

    def command_for(self, role: str) -> list[str]:
        return trainjob_command(
            self.spec,
            self.runtime.ml_policy,
            python=self.python,
            code_dir=str(self.dir.code),
            local=True,
        )

    def backoff_limit(self) -> tuple[int | None, str]:
        return self.runtime.backoff_limit, f"the backoff limit of its runtime {self.runtime.name}"

    def on_exit(self, proc: Proc, code: int) -> None:
        super().on_exit(proc, code)
        if proc.phase == "Restarting":
            proc.reason = BACK_OFF

    def fail(self, event_reason: str, message: str) -> None:
        self.fail_reason = DEADLINE if event_reason == "DeadlineExceeded" else FAILED_JOBS
        super().fail(event_reason, message)

    def set_condition(self, type_: str, status: str, reason_suffix: str, message: str) -> None:
        """Only the TrainJob's own conditions; Created, Running and Restarting are derived
        from the nodes (``trainjob_status``), as on a cluster."""
        kind = CONDITION.get(type_)
        if kind is None:
            return
        if type_ == "Succeeded":
            reason, message = COMPLETED
        elif type_ == "Failed":
            reason = self.fail_reason
        else:
            reason = reason_suffix  # Suspended, or Resumed when it turns False
        current = next((c for c in self.conditions if c["type"] == kind), None)
        if current and (current["status"], current["reason"]) == (status, reason):
            return
        stamp = now()
        self.conditions = [c for c in self.conditions if c["type"] != kind]
        self.conditions.append(
            {
                "type": kind,
                "status": status,
                "reason": reason,
                "message": message,
                "lastTransitionTime": stamp,
            }
        )

    def finished(self) -> bool:
        return any(
            c["type"] in ("Complete", "Failed") and c["status"] == "True" for c in self.conditions
        )

    def status(self) -> dict:
        """The supervisor's status with the nodes' Job as JobSet counts it: one Job of
        ``numNodes`` pods (counts are of Jobs, not pods)."""
        out = super().status()
        out.pop("replicaStatuses", None)
        truth = {c["type"] for c in self.conditions if c["status"] == "True"}
        done = truth & {"Complete", "Failed"}
        live = any(p.popen is not None or p.restart_at is not None for p in self.procs.values())
        running = all(p.phase == "Running" for p in self.procs.values())
        out["jobsStatus"] = [
            {
                "name": self.runtime.trainer_job,
                "active": int(live and not done),
                "ready": int(live and running and not done),
                "succeeded": int("Complete" in truth),
                "failed": int("Failed" in truth),
                "suspended": int("Suspended" in truth),
            }
        ]
        return out


def supervisor_for(d: JobDir) -> Supervisor:
    """The supervisor that runs the job in ``d``: a TrainJob's, or the v1 kinds'."""
    kind = (read_json(d.spec, {}) or {}).get("kind")
    return TrainJobSupervisor(d) if kind == "TrainJob" else Supervisor(d)
