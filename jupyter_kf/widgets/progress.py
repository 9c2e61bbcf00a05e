"""How far a job is: elapsed time, the step, steps per second and an ETA.

``Progress`` reads rank 0's metric points (``jupyter_kf.report(step=..., total_steps=...)``
or ``step=`` lines); the rate is measured over the newest points, by their ``time`` when the
backend stamps one (the local backend does) or else by when they arrived here. ETA needs a
total. ``ProgressView`` shows it and ticks by itself in the browser (elapsed time and the
ETA count every second with nothing sent from the kernel); ``Progress.html`` is the same
line, static, for the snapshot.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

import anywidget
from traitlets import Float, Int

_HERE = Path(__file__).parent
WINDOW = 20  # points the rate is measured over: recent speed, not the average since start


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


class Progress:
    """Rank 0's step, the job's total and the recent rate, from metric points."""

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
