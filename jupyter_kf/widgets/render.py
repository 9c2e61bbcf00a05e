"""HTML for the monitor's read-only parts. Pure: a ``Job`` or events in, a string out.

Colours come from JupyterLab's theme variables (with fallbacks for other front ends), so
the widget follows the light and dark themes.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from ..display import trainer_progress_text
from ..jobs import Event, Job
from ..jobs.explain import reason

PHASE_COLOURS = {
    "Pending": "var(--jp-layout-color3, #9e9e9e)",
    "Created": "var(--jp-layout-color3, #9e9e9e)",
    "Running": "var(--jp-brand-color1, #1976d2)",
    "Restarting": "var(--jp-warn-color1, #f57c00)",
    "Suspended": "var(--jp-accent-color1, #7b1fa2)",
    "Succeeded": "var(--jp-success-color1, #388e3c)",
    "Failed": "var(--jp-error-color1, #d32f2f)",
    "Deleted": "var(--jp-layout-color4, #616161)",
}
_CELL = "padding:1px 8px;text-align:left;border-bottom:1px solid var(--jp-border-color2,#ddd)"


def badge(phase: str) -> str:
    colour = PHASE_COLOURS.get(phase, PHASE_COLOURS["Pending"])
    return (
        f'<span class="jkf-badge" style="background:{colour};color:white;'
        f'border-radius:8px;padding:1px 8px;font-weight:600">{escape(phase)}</span>'
    )


def header(
    job: Job,
    *,
    live: bool,
    note: str = "",
    phase: str | None = None,
    events: Sequence[Event] = (),
) -> str:
    """The status line: kind, name, where, workers, the phase badge, and under it the
    one-line reason (jobs/explain.py: how the job ended, or why it waits)."""
    workers = "-" if job.workers is None else job.workers
    state = "live" if live else "not updating"
    runtime = job.extra.get("runtime")
    parts = [
        f"<b>{escape(job.kind)} {escape(job.name)}</b>",
        *([f"runtime {escape(runtime)}"] if runtime else []),
        f"{escape(job.backend)}/{escape(job.namespace)}",
        f"{workers} {'nodes' if job.kind == 'TrainJob' else 'workers'}",
        badge(phase or job.phase),
        f'<span style="opacity:.6">{state}</span>',
    ]
    out = " &middot; ".join(parts)
    message = note or reason(job, events)
    if message:
        out += f'<div style="opacity:.8">{escape(message)}</div>'
    # A TrainJob's own progress (status.trainerStatus), beside the one from its metric points.
    trainer = trainer_progress_text(job.extra.get("progress"))
    if trainer:
        out += f'<div class="jkf-trainer-progress" style="opacity:.8">{escape(trainer)}</div>'
    if job.extra.get("notice"):
        out += f'<div class="jkf-notice" style="opacity:.8">{escape(job.extra["notice"])}</div>'
    return f'<div class="jkf-header">{out}</div>'


def timeline(job: Job) -> str:
    """The conditions in order, each with when it last changed; false ones faded."""
    if not job.status.conditions:
        return '<div class="jkf-timeline" style="opacity:.6">no conditions yet</div>'
    items = []
    for c in job.status.conditions:
        when = (c.last_transition_time or "")[11:19]  # HH:MM:SS of an RFC 3339 time
        style = "" if c.is_true else "opacity:.45;text-decoration:line-through"
        title = escape(f"{c.reason}: {c.message}" if c.message else c.reason, quote=True)
        items.append(
            f'<span title="{title}" style="{style}">{escape(c.type)}'
            f" <small>{escape(when)}</small></span>"
        )
    return '<div class="jkf-timeline">' + " &rarr; ".join(items) + "</div>"


def replica_rows(job: Job) -> list[dict]:
    return [
        {
            "role": r.role,
            "index": r.index,
            "phase": r.phase,
            "restarts": r.restarts,
            "node": r.node or "",
            "reason": r.reason,
        }
        for r in job.replicas
    ]


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]], cls: str) -> str:
    head = "".join(f'<th style="{_CELL}">{escape(h)}</th>' for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td style="{_CELL}">{escape(str(v))}</td>' for v in row) + "</tr>"
        for row in rows
    )
    return (
        f'<table class="{cls}" style="border-collapse:collapse;font-size:90%">'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def replicas_table(job: Job) -> str:
    rows = [
        [r["role"], r["index"], r["phase"], r["restarts"], r["node"] or "-", r["reason"]]
        for r in replica_rows(job)
    ]
    return _table(["role", "index", "phase", "restarts", "node", "reason"], rows, "jkf-replicas")


def events_table(events: Sequence[Event], limit: int) -> str:
    if not events:
        return '<div class="jkf-events" style="opacity:.6">no events</div>'
    shown = list(events)[-limit:]
    rows = [[e.time[11:19], e.type, e.reason, e.object, e.message] for e in shown]
    return _table(["time", "type", "reason", "object", "message"], rows, "jkf-events")


def earlier_attempts(backend: str, restarts: int) -> list[int]:
    """A replica's earlier attempts whose logs the backend keeps: every one locally, the
    container's previous one on Kubernetes (the kubelet keeps one dead container)."""
    if restarts <= 0:
        return []
    return [restarts - 1] if backend == "kubernetes" else list(range(restarts))


def log_tail(lines: Sequence[str], replica: str) -> str:
    """The newest log lines, static (the snapshot's; the live view is ``LogView``)."""
    if not lines:
        return ""
    body = escape("\n".join(lines))
    return (
        f'<div class="jkf-log-tail"><b>log of {escape(replica)}</b>'
        '<pre style="max-height:16em;overflow:auto;margin:2px 0;padding:4px 6px;'
        "border:1px solid var(--jp-border-color2,#ddd);"
        f'font-size:var(--jp-code-font-size,12px)">{body}</pre></div>'
    )
