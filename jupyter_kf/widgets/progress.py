"""How far a job is, in the monitor: ``ProgressView`` shows ``display.Progress`` (elapsed
time, the step, steps per second and an ETA) and ticks by itself in the browser (elapsed
time and the ETA count every second with nothing sent from the kernel); ``progress_html``
is the same line, static, for the snapshot.
"""

from __future__ import annotations

from pathlib import Path

import anywidget
from traitlets import Float, Int

from ..display import Progress

_HERE = Path(__file__).parent


def progress_html(text: str, fraction: float | None) -> str:
    """The static line (and bar, when there is a total)."""
    bar = ""
    if fraction is not None:
        bar = (
            '<div style="height:4px;width:16em;background:var(--jp-layout-color3,#ddd);'
            'border-radius:2px;margin-top:2px"><div style="height:4px;border-radius:2px;'
            f'background:var(--jp-brand-color1,#1976d2);width:{fraction * 100:.1f}%"></div></div>'
        )
    return f'<div class="jkf-progress" style="opacity:.85;padding-left:2px">{text}{bar}</div>'


class ProgressView(anywidget.AnyWidget):
    """The progress line, ticking in the browser (progress.js). Times are epoch seconds."""

    _esm = _HERE / "progress.js"

    started = Float(0.0, help="When the job started; 0 when not yet.").tag(sync=True)
    ended = Float(0.0, help="When the job ended; 0 while it runs.").tag(sync=True)
    step = Int(-1, help="Rank 0's newest step; -1 before the first.").tag(sync=True)
    total = Int(0, help="The total steps the job reported; 0 when it did not.").tag(sync=True)
    rate = Float(0.0, help="Steps per second, recently.").tag(sync=True)
    seen_at = Float(0.0, help="When the newest step was seen.").tag(sync=True)

    def show(self, progress: Progress, started: float | None, ended: float | None) -> None:
        with self.hold_sync():
            self.started, self.ended = started or 0.0, ended or 0.0
            self.step = -1 if progress.step is None else progress.step
            self.total, self.rate = progress.total or 0, progress.rate
            self.seen_at = progress.seen_at
