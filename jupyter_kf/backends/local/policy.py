"""When a local job has succeeded or failed, and when a replica is restarted.

The same rules as the operator's controllers (kubeflow/trainer release-1.9,
``pkg/controller.v1/*/..._controller.go UpdateJobStatus``), over replica phases instead of
pods. Pure functions.
"""

from __future__ import annotations

from collections.abc import Mapping

SIGNAL_BASE = 128  # a process killed by signal N reports exit code 128 + N in a pod


def exit_code_of(returncode: int) -> int:
    """Popen's returncode (-N when killed by signal N) as a container's exit code."""
    return SIGNAL_BASE - returncode if returncode < 0 else returncode


def should_restart(restart_policy: str, exit_code: int) -> bool:
    """Whether a replica that exited with ``exit_code`` is started again.

    ``ExitCode``: codes 1-127 are the program's own (permanent), 128 and above mean it was
    killed (retryable), as the operator's ``IsRetryableExitCode``. ``Always`` restarts on
    failure like ``OnFailure``; a replica that exits 0 is done (a local job would
    otherwise never finish).
    """
    if exit_code == 0:
        return False
    if restart_policy in ("OnFailure", "Always"):
        return True
    if restart_policy == "ExitCode":
        return exit_code >= SIGNAL_BASE
    return False


def outcome(
    kind: str, replicas: Mapping[str, int], phases: Mapping[tuple[str, int], str]
) -> str | None:
    """ "Succeeded" once the kind's success rule holds, else None.

    ``phases`` maps (role, index) to the replica's phase.
    """

    def done(role: str, index: int = 0) -> bool:
        return phases.get((role, index)) == "Succeeded"

    def all_done(role: str) -> bool:
        return all(done(role, i) for i in range(replicas.get(role, 0)))

    if kind == "PyTorchJob":
        return (
            "Succeeded"
            if (done("Master") if replicas.get("Master") else all_done("Worker"))
            else None
        )
    if kind == "TFJob":
        # With a Chief (or Master) the job is done when it is; otherwise when worker 0 is.
        for leader in ("Chief", "Master"):
            if replicas.get(leader):
                return "Succeeded" if done(leader) else None
        return "Succeeded" if done("Worker") else None
    if kind in ("XGBoostJob", "PaddleJob"):
        if replicas.get("Master"):
            return "Succeeded" if done("Master") else None
        return "Succeeded" if all_done("Worker") else None
    if kind == "MPIJob":
        return "Succeeded" if done("Launcher") else None
    if kind == "JAXJob":
        return "Succeeded" if all_done("Worker") else None
    return None
