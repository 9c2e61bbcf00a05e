"""``MetricsPlot``: reported metrics (loss, accuracy, ...) against the step, live.

Drawn here as SVG, one small chart per metric, and shown in an ``ipywidgets.HTML``. Why not
a plotting library's widget: plotly's ``FigureWidget`` embeds its 5 MB JavaScript bundle in
every saved widget state, so a saved notebook with one monitor weighed 5 MB; an SVG string
is a few kilobytes, needs no front-end code at all, and is the same markup the static
snapshot (``JobMonitor.snapshot_html``) shows in nbviewer or a notebook reopened without a
kernel. Colours are JupyterLab's theme variables (with fallbacks), so the charts follow the
light and dark themes.

A restart of the job shows as a new *attempt*: when rank 0's step goes back, a new line
starts; earlier attempts stay visible, faded and dashed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from html import escape

import ipywidgets as W

X_KEYS = ("step", "epoch")  # what a point is plotted against, in order of preference
TOTAL_KEYS = ("total_steps",)  # a job's total, for progress: reported, never plotted
NOT_METRICS = {"replica", "time", *X_KEYS, *TOTAL_KEYS}
MAX_DRAWN = 300  # points drawn per attempt; more are thinned evenly (the last one kept)
COLOURS = (
    "var(--jp-brand-color1, #1976d2)",
    "var(--jp-warn-color1, #f57c00)",
    "var(--jp-success-color1, #388e3c)",
    "var(--jp-accent-color1, #7b1fa2)",
    "var(--jp-error-color1, #d32f2f)",
)
_TEXT = "fill:var(--jp-ui-font-color2, #616161);font-size:10px"
_AXIS = "stroke:var(--jp-border-color1, #bdbdbd);stroke-width:1"

Attempts = list[list[tuple[float, float]]]


class MetricsPlot:
    """One chart per metric, from one replica (rank 0: every DDP rank reports the same)."""

    def __init__(self, width: int = 300, height: int = 110):
        self.width, self.height = width, height
        self.view = W.HTML(layout=W.Layout(display="none"))
        self.series: dict[str, Attempts] = {}
        self.replica: str | None = None
        self.x_key = ""
        self._count = 0
        self._last_x: float | None = None
        self._lock = threading.Lock()

    @property
    def points(self) -> int:
        """How many metric points were plotted."""
        return self._count

    @property
    def attempts(self) -> int:
        """How many times the step started over (restarts), plus one."""
        return max((len(a) for a in self.series.values()), default=0)

    def add(self, points: Iterable[dict], rank0: str | None = None) -> bool:
        """Plot new points; True when a chart changed.

        ``rank0`` is the job's (``Job.rank0``): its points are the ones plotted. Without it,
        the first replica by name that reports is.
        """
        points = list(points)
        with self._lock:
            if self.replica is None:
                replicas = {str(p["replica"]) for p in points if p.get("replica")}
                if rank0 is not None:
                    self.replica = rank0
                elif replicas:
                    self.replica = min(replicas)
            changed = False
            for p in points:
                if self.replica is not None and p.get("replica", self.replica) != self.replica:
                    continue
                values = metric_values(p)
                if not values:
                    continue
                if not self.x_key:
                    self.x_key = next((k for k in X_KEYS if k in p), "")
                x = p.get(self.x_key, self._count) if self.x_key else self._count
                new_attempt = self._last_x is not None and x < self._last_x
                self._last_x = x
                self._count += 1
                for metric, value in values.items():
                    attempts = self.series.setdefault(metric, [[]])
                    if new_attempt or not attempts:
                        attempts.append([])
                    attempts[-1].append((x, value))
                changed = True
            if changed:
                self.view.value = self.svg()
                self.view.layout.display = None
            return changed

    def svg(self) -> str:
        """The charts as HTML (inline SVG): what the view shows and the snapshot keeps."""
        return charts_html(self.series, self.x_key or "point", self.width, self.height)

    def close(self) -> None:
        self.view.close()


def metric_values(point: dict) -> dict[str, float]:
    """The plottable numbers of a point (not the step, the time or a total)."""
    return {
        k: v
        for k, v in point.items()
        if k not in NOT_METRICS and isinstance(v, (int, float)) and not isinstance(v, bool)
    }


def thin(points: Sequence[tuple[float, float]], limit: int = MAX_DRAWN) -> list:
    """At most ``limit`` points spread evenly over ``points``, the first and last kept."""
    if len(points) <= limit:
        return list(points)
    step = (len(points) - 1) / (limit - 1)
    return [points[round(i * step)] for i in range(limit)]


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def chart_svg(metric: str, attempts: Attempts, x_key: str, width: int, height: int) -> str:
    """One metric's chart: each attempt a line (earlier ones faded and dashed), the y range
    and x range as labels, the newest value in the caption."""
    drawn = [thin(a) for a in attempts if a]
    every = [p for a in drawn for p in a]
    if not every:
        return ""
    left, right, top, bottom = 44, 8, 16, 16
    w, h = width - left - right, height - top - bottom
    xs, ys = [p[0] for p in every], [p[1] for p in every]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)

    def sx(x: float) -> float:
        return left + (w / 2 if x1 == x0 else (x - x0) / (x1 - x0) * w)

    def sy(y: float) -> float:
        return top + (h / 2 if y1 == y0 else h - (y - y0) / (y1 - y0) * h)

    colour = COLOURS[0]
    lines = []
    for i, attempt in enumerate(drawn):
        current = i == len(drawn) - 1
        style = f"fill:none;stroke:{colour};stroke-width:{1.6 if current else 1.2}"
        if not current:
            style += ";opacity:.45;stroke-dasharray:3 2"
        coords = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in attempt)
        lines.append(
            f'<polyline class="jkf-attempt" data-attempt="{i + 1}" style="{style}" '
            f'points="{coords}"/>'
        )
    last = drawn[-1][-1][1]
    more = f" &middot; {len(drawn)} attempts" if len(drawn) > 1 else ""
    name = escape(metric)
    return (
        f'<svg class="jkf-chart" data-metric="{name}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'aria-label="{name} against {escape(x_key)}">'
        f'<text x="{left}" y="11" style="{_TEXT};font-weight:600">{name} {_fmt(last)}{more}</text>'
        f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}" style="{_AXIS}"/>'
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + h}" style="{_AXIS}"/>'
        f'<text x="{left - 4}" y="{top + 8}" text-anchor="end" style="{_TEXT}">{_fmt(y1)}</text>'
        f'<text x="{left - 4}" y="{top + h}" text-anchor="end" style="{_TEXT}">{_fmt(y0)}</text>'
        f'<text x="{left}" y="{height - 3}" style="{_TEXT}">{escape(x_key)} {_fmt(x0)}</text>'
        f'<text x="{left + w}" y="{height - 3}" text-anchor="end" style="{_TEXT}">'
        f"{_fmt(x1)}</text>" + "".join(lines) + "</svg>"
    )


def charts_html(series: dict[str, Attempts], x_key: str, width: int, height: int) -> str:
    charts = [chart_svg(m, a, x_key, width, height) for m, a in sorted(series.items())]
    return (
        '<div class="jkf-charts" style="display:flex;flex-wrap:wrap;gap:4px 12px">'
        + "".join(charts)
        + "</div>"
    )
