"""Metric points from worker output: Katib's stdout format, ``name=value`` pairs on a line.

``epoch=3 loss=0.41 accuracy=0.88`` becomes one point ``{"epoch": 3, "loss": 0.41,
"accuracy": 0.88}``. A line counts only when every word before an optional trailing
comment is a pair and at least one value is a number, so ordinary log lines that happen to
contain a '=' are not taken for metrics.
"""

from __future__ import annotations

import json
import math
import re

_PAIR = re.compile(r"^([A-Za-z_][A-Za-z0-9_./-]*)=(\S+)$")
REPORT_PREFIX = "@@jupyter-kf-metric "  # what jupyter_kf.report() prints


def _number(text: str) -> float | int | None:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def parse_metric_line(line: str) -> dict[str, float | int] | None:
    """The metric point on ``line``, or None when the line is not a metrics line."""
    line = line.strip()
    if line.startswith(REPORT_PREFIX):
        try:
            data = json.loads(line[len(REPORT_PREFIX) :])
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        reported: dict[str, float | int] = {
            str(k): v
            for k, v in data.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        }
        return reported or None
    words = line.replace(",", " ").split()
    if not words:
        return None
    point: dict[str, float | int] = {}
    for word in words:
        match = _PAIR.match(word)
        if not match:
            return None
        value = _number(match.group(2))
        if value is not None:
            point[match.group(1)] = value
    return point or None
