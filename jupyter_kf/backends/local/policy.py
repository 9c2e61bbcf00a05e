"""When a local job has succeeded or failed, and when a replica is restarted.

The same rules as the operator's controllers, over replica phases instead of pods, read from
the kind's description in ``jupyter_kf.jobs.kinds``. Pure functions.
"""

from __future__ import annotations

from collections.abc import Mapping

from ...jobs.kinds import kind_info

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


def past_backoff_limit(limit: int | None, restarts: int) -> bool:
    """Whether ``restarts`` (summed over the job's replicas) is past ``runPolicy.backoffLimit``.

    The operator's ``PastBackoffLimit``: the restarts of every replica whose restart policy
    restarts it, against the limit; a limit of 0 allows none. None is no limit.
    """
    if limit is None:
        return False
    return restarts > 0 if limit == 0 else restarts >= limit


def outcome(
    kind: str, replicas: Mapping[str, int], phases: Mapping[tuple[str, int], str]
) -> str | None:
    """ "Succeeded" once the kind's success rule holds, else None.

    ``phases`` maps (role, index) to the replica's phase. A job with a leader (see
    ``KindInfo.leaders``) is done when its leader is; one without, when worker 0 is or
    when every worker is, as the kind says.
    """
    info = kind_info(kind)

    def done(role: str, index: int = 0) -> bool:
        return phases.get((role, index)) == "Succeeded"

    leader = info.leader_of(replicas)
    if leader is not None:
        finished = done(leader)
    elif info.done_with_worker0:
        finished = done(info.worker_role)
    else:
        finished = all(done(info.worker_role, i) for i in range(replicas.get(info.worker_role, 0)))
    return "Succeeded" if finished else None
