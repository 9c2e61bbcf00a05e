"""How jobs show themselves in IPython: plain text everywhere, the live widget in a notebook.

The text renderers here are pure (a ``Job`` in, a string out) and serve the terminal,
nbconvert and the ``text/plain`` fallback of the widget. ``register_formatters`` hooks the
``Job`` type into IPython's display system from ``%load_ext jupyter_kf``, so the pure job
model in ``jupyter_kf.jobs`` never imports a widget.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .jobs import Event, Job
from .jobs.explain import explain


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
    out.append(
        f"  workers: {job.workers if job.workers is not None else '-'}"
        f"  created: {job.created or '-'}"
    )
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
            j.created or "-",
        ]
        for j in jobs
    ]
    return table(rows, ["NAME", "KIND", "PHASE", "WORKERS", "BACKEND", "CREATED"])


def events_table(events: Sequence[Event]) -> str:
    if not events:
        return "no events"
    rows = [[e.time, e.type, e.reason, e.object, e.message] for e in events]
    return table(rows, ["TIME", "TYPE", "REASON", "OBJECT", "MESSAGE"])


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
