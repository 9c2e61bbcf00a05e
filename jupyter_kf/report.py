"""``jupyter_kf.report(step=..., loss=...)``: a metric point from inside a worker."""

from __future__ import annotations

import json
import math
import sys

from .jobs.metrics import REPORT_PREFIX


def report(**metrics: float) -> None:
    """Record one metric point (``report(step=10, loss=0.3)``), from any replica.

    It is a line on stdout that the backend collects (the local supervisor, or the
    Kubernetes backend from the pod's log), so it needs no connection and no extra
    dependency in the image. Non-numbers and non-finite values are refused.
    """
    point = {}
    for key, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"metric {key} must be a number, not {type(value).__name__}")
        if not math.isfinite(value):
            raise ValueError(f"metric {key} is {value}, not a finite number")
        point[key] = value
    if not point:
        raise TypeError("report() needs at least one metric, e.g. report(step=1, loss=0.5)")
    sys.stdout.write(REPORT_PREFIX + json.dumps(point) + "\n")
    sys.stdout.flush()
