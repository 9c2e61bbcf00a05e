"""``MetricsPlot``: reported metrics (loss, accuracy, ...) against the step, live.

Drawn with plotly's ``FigureWidget``. Why plotly: it is one of the plotting libraries
notebooks already use; since plotly 6 its widget is an anywidget whose JavaScript ships
inside the Python package (``plotly/package_data/widgetbundle.js``), so it works offline
and in JupyterLab 4, Notebook 7 and VS Code with no extension of its own to install, the
same front-end machinery as our log view. matplotlib through ipympl would redraw a PNG in
the kernel on every point, and bqplot needs its own front-end extension.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

import plotly.graph_objects as go

X_KEYS = ("step", "epoch")  # what a point is plotted against, in order of preference
NOT_METRICS = {"replica", "time", *X_KEYS}


class MetricsPlot:
    """One line per metric, from one replica (rank 0: every DDP rank reports the same)."""

    def __init__(self, height: int = 260):
        self.figure = go.FigureWidget(
            layout=go.Layout(
                height=height,
                margin=dict(l=50, r=10, t=30, b=40),
                xaxis_title="step",
                title=dict(text="metrics", font=dict(size=13)),
                showlegend=True,
                legend=dict(orientation="h", y=1.12, x=1, xanchor="right"),
            )
        )
        self.series: dict[str, tuple[list, list]] = {}
        self.replica: str | None = None
        self._count = 0
        self._x_key: str | None = None
        self._lock = threading.Lock()

    @property
    def points(self) -> int:
        """How many metric points were plotted."""
        return self._count

    def add(self, points: Iterable[dict], rank0: str | None = None) -> bool:
        """Plot new points; True when the figure changed.

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
            changed: set[str] = set()
            for p in points:
                if self.replica is not None and p.get("replica", self.replica) != self.replica:
                    continue
                if self._x_key is None:
                    self._x_key = next((k for k in X_KEYS if k in p), "")
                values = {
                    k: v
                    for k, v in p.items()
                    if k not in NOT_METRICS
                    and isinstance(v, (int, float))
                    and not isinstance(v, bool)
                }
                if not values:
                    continue
                self._count += 1
                for metric, value in values.items():
                    xs, ys = self.series.setdefault(metric, ([], []))
                    xs.append(p.get(self._x_key, len(xs)) if self._x_key else len(xs))
                    ys.append(value)
                    changed.add(metric)
            if changed:
                self._draw(changed)
            return bool(changed)

    def _draw(self, changed: set[str]) -> None:
        traces = {t.name: t for t in self.figure.data}
        with self.figure.batch_update():
            if self._x_key:
                self.figure.layout.xaxis.title.text = self._x_key
            for metric in sorted(changed):
                xs, ys = self.series[metric]
                if metric in traces:
                    traces[metric].x, traces[metric].y = list(xs), list(ys)
                else:
                    self.figure.add_scatter(
                        x=list(xs), y=list(ys), name=metric, mode="lines+markers"
                    )

    def close(self) -> None:
        self.figure.close()
