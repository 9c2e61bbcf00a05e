"""How jobs show themselves in IPython: plain text everywhere, the live widget in a notebook.

The text renderers here are pure (a ``Job`` in, a string out) and serve the terminal,
nbconvert and the ``text/plain`` fallback of the widget; times read as local clock times
and ages, and ``Progress`` tells elapsed time, steps per second and an ETA from a job's
metric points. ``register_formatters`` hooks the
``Job`` type into IPython's display system from ``%load_ext jupyter_kf``, so the pure job
model in ``jupyter_kf.jobs`` never imports a widget.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from .jobs import Event, Job
from .jobs.explain import explain
from .jobs.profiles import JobProfiles
from .jobs.runtimes import Runtime

WINDOW = 20  # points a rate is measured over: recent speed, not the average since start


def epoch(stamp: str | None) -> float | None:
    """Seconds since the epoch of an RFC 3339 time; None when absent or unreadable."""
    if not stamp:
        return None
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def duration(seconds: float) -> str:
    """'42s', '3m 05s', '2h 01m'."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    return f"{s // 3600}h {s % 3600 // 60:02d}m"


def trainer_progress_text(progress: dict | None) -> str:
    """A TrainJob's ``extra["progress"]`` (its ``status.trainerStatus``) in one line:
    'Trainer: 40% · ETA 2m 10s · loss 0.31'; '' when the job posted none."""
    if not progress:
        return ""
    parts = []
    if progress.get("progressPercentage") is not None:
        parts.append(f"{progress['progressPercentage']}%")
    if progress.get("estimatedRemainingSeconds") is not None:
        parts.append(f"ETA {duration(progress['estimatedRemainingSeconds'])}")
    metrics = progress.get("metrics") or {}
    if metrics:
        parts.append(", ".join(f"{k} {v}" for k, v in metrics.items()))
    return "Trainer: " + " · ".join(parts) if parts else ""


class Progress:
    """How far a job is: rank 0's step, the job's total (``report(total_steps=)``) and the
    recent rate, from metric points. The rate is measured over the newest points, by their
    ``time`` when the backend stamps one (the local backend does) or else by when they
    arrived; an ETA needs a total."""

    def __init__(self) -> None:
        self.step: int | None = None
        self.total: int | None = None
        self.samples: deque[tuple[float, float]] = deque(maxlen=WINDOW)  # (time, step)
        self.seen_at = 0.0  # when the newest step was seen (epoch seconds)

    def add(self, points: Iterable[dict], replica: str | None, now: float | None = None) -> bool:
        """Take ``replica``'s points (all, when None); True when something changed."""
        changed = False
        for p in points:
            if replica is not None and p.get("replica", replica) != replica:
                continue
            total = p.get("total_steps")
            if isinstance(total, (int, float)) and not isinstance(total, bool) and total > 0:
                changed |= self.total != int(total)
                self.total = int(total)
            step = p.get("step")
            if not isinstance(step, (int, float)) or isinstance(step, bool):
                continue
            when = epoch(p.get("time")) or (now if now is not None else time.time())
            if self.samples and step < self.samples[-1][1]:
                self.samples.clear()  # the job restarted: measure the new attempt only
            self.samples.append((when, float(step)))
            self.step, self.seen_at, changed = int(step), when, True
        return changed

    @property
    def rate(self) -> float:
        """Steps per second over the newest points; 0 when it cannot be told yet."""
        if len(self.samples) < 2:
            return 0.0
        (t0, s0), (t1, s1) = self.samples[0], self.samples[-1]
        return (s1 - s0) / (t1 - t0) if t1 > t0 and s1 > s0 else 0.0

    def eta(self, now: float) -> float | None:
        """Seconds left at ``now``; None without a total or a rate."""
        if self.total is None or self.step is None or not self.rate:
            return None
        left = (self.total - 1 - self.step) / self.rate - (now - self.seen_at)
        return max(0.0, left)

    def text(self, started: float | None, ended: float | None, now: float) -> str:
        parts = []
        if started is not None:
            parts.append(f"elapsed {duration((ended or now) - started)}")
        if self.step is not None:
            done = self.step + 1  # steps count from 0: step 29 of 30 is the last
            if self.total:
                parts.append(f"{min(done, self.total)}/{self.total} steps")
            else:
                parts.append(f"step {self.step}")
        if self.rate and ended is None:
            parts.append(f"{self.rate:.3g} steps/s")
        eta = self.eta(now)
        if eta is not None and ended is None:
            parts.append(f"ETA {duration(eta)}")
        return " · ".join(parts)

    def fraction(self) -> float | None:
        if self.total and self.step is not None:
            return min(1.0, (self.step + 1) / self.total)
        return None


def when(stamp: str | None, now: float | None = None) -> str:
    """An RFC 3339 time for people, in local time: '14:03:07' today, else 'Dec 04 14:03'."""
    seconds = epoch(stamp)
    if seconds is None:
        return stamp or "-"
    then = datetime.fromtimestamp(seconds)
    today = datetime.fromtimestamp(now if now is not None else time.time()).date()
    return then.strftime("%H:%M:%S" if then.date() == today else "%b %d %H:%M")


def age(stamp: str | None, now: float | None = None) -> str:
    """How long ago, like kubectl's AGE: '42s', '3m 05s', '2h 01m'."""
    seconds = epoch(stamp)
    if seconds is None:
        return "-"
    return duration((now if now is not None else time.time()) - seconds)


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    """Columns padded to their widest cell, like kubectl's tables."""
    cells = [[str(x) for x in headers], *[[str(x) for x in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)).rstrip() for row in cells
    )


def job_summary(job: Job) -> str:
    """A few lines: kind, name, phase and message, then one row per replica."""
    out = [f"{job.kind} {job.name} ({job.backend}/{job.namespace}): {job.phase}"]
    # How it ended (which replica failed, its exit code and last log lines) or why it
    # waits, in one line (jobs/explain.py); else the condition's message.
    line = explain(job)
    if line == job.phase:  # nothing to explain: the condition's own sentence
        line = job.status.message
    if line:
        out.append(f"  {line}")
    runtime = job.extra.get("runtime")
    out.append(
        f"  {'nodes' if job.kind == 'TrainJob' else 'workers'}: "
        f"{job.workers if job.workers is not None else '-'}"
        + (f"  runtime: {runtime}" if runtime else "")
        + f"  created: {when(job.created)} ({age(job.created)} ago)"
    )
    trainer = trainer_progress_text(job.extra.get("progress"))
    if trainer:
        out.append(f"  {trainer}")
    if job.status.conditions:  # the path the job took, each step with its time
        path = " -> ".join(
            f"{c.type} {when(c.last_transition_time)}"
            for c in job.status.conditions
            if c.is_true or c.type == job.phase
        )
        out.append(f"  conditions: {path}")
    rows = [
        [
            r.name,
            r.phase,
            r.restarts,
            r.node or "-",
            "" if r.exit_code is None else r.exit_code,
            r.reason,
        ]
        for r in job.replicas
    ]
    if rows:
        out.append(table(rows, ["REPLICA", "PHASE", "RESTARTS", "NODE", "EXIT", "REASON"]))
    return "\n".join(out)


def jobs_table(jobs: Sequence[Job]) -> str:
    if not jobs:
        return "no jobs"
    rows = [
        [
            j.name,
            j.kind,
            j.phase,
            "-" if j.workers is None else j.workers,
            j.backend,
            age(j.created),
        ]
        for j in jobs
    ]
    return table(rows, ["NAME", "KIND", "PHASE", "WORKERS", "BACKEND", "AGE"])


def count(n: int | None, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


# What scaling a TrainJob does, said by every front end before it does it (its numNodes is
# immutable: the backends replace the job).
SCALE_REPLACES = (
    "a TrainJob cannot resize: it will be replaced and training restarts (from its last "
    "checkpoint if your script keeps one)"
)


def runtimes_table(runtimes: Sequence[Runtime]) -> str:
    """``%kftrain runtimes`` and ``jupyter kf runtimes``: what ``--runtime`` may name."""
    if not runtimes:
        return "no Trainer v2 runtimes (the cluster serves none: use --framework)"
    rows = [
        [
            r.name,
            "/".join(dict.fromkeys(x for x in (r.framework, r.ml_policy) if x)),
            r.num_nodes,
            r.image or "-",
        ]
        for r in runtimes
    ]
    return table(rows, ["NAME", "FRAMEWORK/PLUGIN", "NODES", "IMAGE"])


def profiles_table(profiles: JobProfiles) -> str:
    """``%kftrain profiles`` and ``jupyter kf profiles``: what ``--profile`` may name."""
    if not profiles.profiles:
        return "no job profiles (none are configured: jobs ask for what they need)"
    rows = [
        [
            p.name + (" (default)" if p.default else ""),
            p.display_name,
            "/".join(str(x or "-") for x in (p.cpu, p.memory, p.gpu)),
            ", ".join(f"{k}={v}" for k, v in sorted(p.node_selector.items())) or "-",
            p.image or "-",
        ]
        for p in profiles.profiles
    ]
    out = table(rows, ["NAME", "DISPLAY NAME", "CPU/MEMORY/GPU", "NODES", "IMAGE"])
    if profiles.required:
        out += "\na job must use one of these (--profile NAME; the default when it names none)"
    return out


def events_table(events: Sequence[Event]) -> str:
    if not events:
        return "no events"
    rows = [[when(e.time), e.type, e.reason, e.object, e.message] for e in events]
    return table(rows, ["TIME", "TYPE", "REASON", "OBJECT", "MESSAGE"])


def status_line(job: Job, points: Sequence[dict] = ()) -> str:
    """One line (``%kftrain status NAME --short``): name, phase, workers and progress."""
    progress = Progress()
    progress.add(points, job.rank0 if any(p.get("replica") == job.rank0 for p in points) else None)
    started = epoch(job.status.start_time) or epoch(job.created)
    ended = (epoch(job.status.completion_time) or time.time()) if job.status.finished else None
    workers = "-" if job.workers is None else job.workers
    parts = [f"{job.name}: {job.phase}", f"{workers} workers" if workers != 1 else "1 worker"]
    text = progress.text(started, ended, time.time())
    return " · ".join([*parts, text] if text else parts)


def metrics_text(points: Sequence[dict]) -> str:
    if not points:
        return "no metrics reported"
    lines = []
    for p in points:
        values = " ".join(f"{k}={v}" for k, v in p.items() if k not in ("replica", "time"))
        lines.append(f"{p.get('replica', '?')}: {values}")
    return "\n".join(lines)


# -- IPython hooks --------------------------------------------------------------------------
def in_kernel(shell: Any) -> bool:
    """True in a Jupyter kernel (a front end that may draw widgets), False in a terminal."""
    return getattr(shell, "kernel", None) is not None


def register_formatters(shell: Any, widget_for: Callable[[Job], Any] | None) -> None:
    """Make a ``Job`` display itself: a ``JobMonitor`` in a kernel, a text summary elsewhere.

    ``widget_for(job)`` builds the widget (or returns None to fall back to text); it is only
    called in a kernel. The widget's bundle carries the text summary as ``text/plain`` and a
    static snapshot as ``text/html``, so front ends without widget support (nbconvert,
    nbviewer, a console) still show the job.
    """
    plain = shell.display_formatter.formatters["text/plain"]
    plain.for_type(Job, lambda job, p, cycle: p.text(job_summary(job)))
    if widget_for is None or not in_kernel(shell):
        return

    def show(job: Job) -> None:
        """Display the job's widget (under the widget's display id, which lets it replace
        its static snapshot once the job ends), or else its text summary."""
        from IPython.display import display

        try:
            widget = widget_for(job)
        except Exception:  # a display hook must never raise: fall back to the text
            widget = None
        if widget is None:
            display({"text/plain": job_summary(job)}, raw=True)
        else:
            widget._ipython_display_()

    shell.display_formatter.ipython_display_formatter.for_type(Job, show)


def unregister_formatters(shell: Any) -> None:
    for formatter in (
        shell.display_formatter.formatters["text/plain"],
        shell.display_formatter.ipython_display_formatter,
    ):
        try:
            formatter.pop(Job)
        except KeyError:
            pass
