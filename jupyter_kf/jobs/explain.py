"""One line that says how a job ended, or why it is waiting.

Every place that shows a final status (the magic's ``--wait``, the CLI, the widget's header,
the REST payload's ``status.message``) shows ``explain(job)``, so a user reads the same
sentence everywhere: which replica failed, its exit code, the last lines of its log, or the
event that keeps the job Pending; and a job that succeeded although replicas failed and
were restarted says so. Pure: a ``Job`` (and its events) in, a string out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .job import Event, Job, Replica

MAX_LINE = 400  # the whole line, at most
MAX_TAIL = 200  # the log tail in it, at most
TAIL_LINES = 2  # the last lines of a replica's log that the tail keeps
WAITING = ("Pending", "Created")
# Replica reasons that say nothing more than the exit code does.
PLAIN_REASONS = ("", "Error", "Completed", "JobFailed", "JobSucceeded", "Deleted", "Suspended")
# Beside an exit code, a crash loop is what "failed N times" already says.
LOOPING = "CrashLoopBackOff"
# A TrainJob's Failed condition is its JobSet's: this reason says a node's Job failed, which
# on the Trainer's runtimes is that Job's backoffLimit spent (its message names no limit).
JOBSET_FAILED_JOBS = "FailedJobs"
# torchrun (a TrainJob's torch nodes, an elastic PyTorchJob) reports a failed worker after
# the worker's own output: a glog error line, or its elastic package's traceback.
LAUNCHER_REPORT = re.compile(r"^E\d{4} \d\d:\d\d:\d\d|torch[./]distributed[./]elastic")


def explain(job: Job, events: Sequence[Event] = ()) -> str:
    """The job's phase and, where there is one, the reason for it, in one line."""
    phase = job.phase
    if phase == "Succeeded":
        return _bounded(_succeeded(job))
    if phase == "Failed":
        return _bounded(_failed(job, events))
    if phase in WAITING:
        why = _waiting(job, events)
        return _bounded(f"{phase}: {why}" if why else phase)
    message = job.status.message
    return _bounded(f"{phase}: {message}" if message else phase)


def reason(job: Job, events: Sequence[Event] = ()) -> str:
    """``explain`` for a place that shows the phase beside it (a badge): the line without its
    leading phase, or the condition's own message when there is nothing to explain."""
    line = explain(job, events)
    if line == job.phase:
        return _bounded(job.status.message)
    for prefix in (f"{job.phase}: ", f"{job.phase}; "):
        if line.startswith(prefix):
            return line[len(prefix) :]
    return line


def failures(replica: Replica) -> int:
    """How often a replica failed: each restart followed a failure, and a Failed replica
    failed once more."""
    return replica.restarts + (1 if replica.phase == "Failed" else 0)


def worker_lines(lines: Sequence[str]) -> Sequence[str]:
    """The lines before torchrun's own report of a failed worker (an error line of its
    logger, then its traceback and a summary block that names no cause): the worker's
    output before it says why. All of them when there is no such report."""
    for i, line in enumerate(lines):
        if i and LAUNCHER_REPORT.search(line):
            return lines[:i]
    return lines


def log_tail(lines: Sequence[str], count: int = TAIL_LINES) -> str:
    """The last ``count`` non-blank lines of the worker's own output, joined into one
    bounded line."""
    kept = [line.strip() for line in worker_lines(lines) if line.strip()][-count:]
    text = " | ".join(kept)
    return text if len(text) <= MAX_TAIL else "…" + text[-(MAX_TAIL - 1) :]


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def _succeeded(job: Job) -> str:
    failed = [(r.name, failures(r)) for r in job.replicas if failures(r)]
    if not failed:
        return "Succeeded"
    return "Succeeded; " + ", ".join(f"{name} failed {_times(n)}" for name, n in failed)


def culprit(job: Job) -> Replica | None:
    """The replica whose failure explains the job's: a Failed one with an exit code first (the
    one that failed first), then the one that failed most, then one held up for a reason (Unschedulable, ...)."""
    failed = [r for r in job.replicas if r.phase == "Failed"]
    with_code = [r for r in failed if r.exit_code not in (None, 0)]
    if with_code or failed:
        # The first to fail: the others often failed because it did (their peer left).
        chosen = with_code or failed
        return min(chosen, key=lambda r: (r.finished_at is None, r.finished_at or ""))
    restarted = sorted(
        (r for r in job.replicas if r.restarts), key=lambda r: r.restarts, reverse=True
    )
    if restarted:
        return restarted[0]
    held = [r for r in job.replicas if r.reason not in PLAIN_REASONS and r.phase != "Succeeded"]
    return held[0] if held else None


def _failed(job: Job, events: Sequence[Event]) -> str:
    message = job.status.message
    cause = _cause(job, message)
    who = culprit(job)
    if who is None:
        why = _waiting(job, events) if job.status.start_time is None else ""
        line = f"Failed: {message or 'no reason given'}"
        return f"{line}; {why}" if why else line
    if who.exit_code is not None:
        what = f"{who.name} exited with code {who.exit_code}"
    else:  # e.g. a container in CrashLoopBackOff on a cluster
        what = f"{who.name} {who.reason}".rstrip()
    notes = []
    if who.exit_code is not None and who.reason not in (*PLAIN_REASONS, LOOPING):
        limit = memory_limit(job, who.role) if who.reason == "OOMKilled" else None
        notes.append(f"{who.reason}, memory limit {limit}" if limit else who.reason)
    n = failures(who)
    if n > 1:
        notes.append(f"failed {_times(n)}")
    if cause:
        notes.append(cause)
    elif who.exit_code is None and message:
        notes.append(message)  # an exit code says more than the operator's sentence
    line = f"Failed: {what}" + (f" ({'; '.join(notes)})" if notes else "")
    detail = log_tail(who.message.splitlines()) if who.message else ""
    return f"{line}: {detail}" if detail else line


def _cause(job: Job, message: str) -> str:
    """The limit a Failed condition names, shortly (its full sentence repeats the job)."""
    lowered = message.lower()
    if "backoff limit" in lowered or _node_job_failed(job):
        limit = backoff_limit(job)
        runtime = job.extra.get("runtime")
        if runtime:  # a TrainJob has no limit of its own: it is its runtime's Job's
            number = f" {limit}" if limit is not None else ""
            return f"runtime {runtime}'s backoff limit{number} reached"
        return f"backoff limit {limit} reached" if limit is not None else "backoff limit reached"
    if "deadline" in lowered:
        return "active deadline exceeded"
    return ""


def _node_job_failed(job: Job) -> bool:
    """A TrainJob on a cluster whose runtime's limit is known, failed by JobSet for a
    failed node Job."""
    if not isinstance(job.extra.get("backoff_limit"), int) or not job.extra.get("runtime"):
        return False
    return any(
        c.is_true and c.type == "Failed" and c.reason == JOBSET_FAILED_JOBS
        for c in job.status.conditions
    )


def backoff_limit(job: Job) -> int | None:
    """The job's backoff limit: its spec's, else the one its CR carries (a job read from a
    cluster has no spec; the Kubernetes backend copies it into ``extra``). A TrainJob's is its
    runtime's: backends put it in ``extra["backoff_limit"]``, the runtime's name in
    ``extra["runtime"]``."""
    if job.spec is not None and not job.spec.info.is_trainjob:
        return job.spec.run_policy.backoff_limit
    limit = job.extra.get("backoff_limit")
    return limit if isinstance(limit, int) else None


def memory_limit(job: Job, role: str) -> str | None:
    """The memory limit of ``role``'s container on a cluster, where one kills at it. The local
    backend enforces none, so it names none."""
    limits = job.extra.get("memory_limits") or {}
    limit = limits.get(role) if isinstance(limits, dict) else None
    return str(limit) if limit else None


def _waiting(job: Job, events: Sequence[Event]) -> str:
    """Why a job has not started: its newest warning event, else a replica's reason."""
    for event in reversed(events):
        if event.type == "Warning":
            where = f"{event.object} " if event.object else ""
            return f"{where}{event.reason}: {event.message}".strip()
    for r in job.replicas:
        if r.reason not in PLAIN_REASONS and r.phase not in ("Running", "Succeeded"):
            return f"{r.name} {r.reason}" + (f": {r.message}" if r.message else "")
    return job.status.message


def _bounded(text: str) -> str:
    line = " ".join(text.split())  # one line, whatever the messages held
    return line if len(line) <= MAX_LINE else line[: MAX_LINE - 1] + "…"
