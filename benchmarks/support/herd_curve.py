"""spawn_herd's cost curve: ours and the peer at every herd size that has a result
(``benchmarks/results/spawn_herd_users<N>.json``), as a table, an SVG (no plotting
library) and a check that our cost per user grows linearly.

Linear means each user costs the hub about the same at every size: per-user wall time,
loop CPU, hub CPU and API requests at the largest size within ``LINEAR_BOUND`` times their
value at the 200-user herd. A cost that turns superlinear (a scan of every pod per event,
a list per spawn) shows there as a ratio that grows with the size.
"""

from __future__ import annotations

import json
from pathlib import Path

from .hub_bench import RESULTS

BASE = 200  # the herd size the goals are judged at (issue 21)
LINEAR_BOUND = 1.5
PER_USER = {  # what one user costs the hub, from a size's medians
    "wall_ms_per_user": lambda side, users: side["wall_s"]["median"] / users * 1000,
    "loop_cpu_ms_per_spawn": lambda side, users: side["loop_thread_cpu_ms_per_spawn"]["median"],
    "hub_cpu_ms_per_spawn": lambda side, users: side["hub_cpu_ms_per_spawn"]["median"],
    "api_requests_per_spawn": lambda side, users: side["api_requests_per_spawn"]["median"],
}
MEASURES = [
    ("wall_s", "wall (s)"),
    ("loop_lag_p99_ms", "loop-lag p99 (ms)"),
    ("api_requests_per_spawn", "API requests per spawn"),
    ("hub_rss_mb", "hub RSS (MiB)"),
]


def load_points(results: Path = RESULTS) -> dict[int, dict]:
    """{users: {"ours": ..., "peer": ..., "rounds": n, "load": ...}} from the result files."""
    points = {}
    for f in results.glob("spawn_herd_users*.json"):
        data = json.loads(f.read_text())
        points[int(f.stem.removeprefix("spawn_herd_users"))] = {
            "ours": data["ours"],
            "peer": data["peer"]["kubespawner-7.1.0"],
            "rounds": data["rounds"],
        }
    return dict(sorted(points.items()))


def linearity(points: dict[int, dict]) -> dict:
    """Per-user cost at each size over its value at ``BASE`` users, both sides; ``met``
    when ours stays within ``LINEAR_BOUND`` at the largest size measured."""
    if BASE not in points:
        return {"met": False, "why": f"no {BASE}-user result to compare with"}
    largest = max(points)
    out: dict = {"base_users": BASE, "largest_users": largest, "bound": LINEAR_BOUND}
    for side in ("ours", "peer"):
        base = {k: f(points[BASE][side], BASE) for k, f in PER_USER.items()}
        out[side] = {
            n: {
                k: (f(points[n][side], n) / base[k] if base[k] else None)
                for k, f in PER_USER.items()
            }
            for n in points
            if n >= BASE
        }
    worst = out["ours"][largest]
    out["met"] = largest > BASE and all(v is not None and v <= LINEAR_BOUND for v in worst.values())
    if largest == BASE:
        out["why"] = "only the 200-user herd measured: nothing to compare"
    return out


def table(points: dict[int, dict]) -> str:
    """The docs' markdown table: medians, ours / peer."""
    rows = [
        "| users | rounds | wall (s) | loop-lag p99 (ms) | requests per spawn "
        "| loop CPU per spawn (ms) | hub RSS (MiB) | load |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for n, p in points.items():
        o, q = p["ours"], p["peer"]

        def pair(key: str, fmt: str, o: dict = o, q: dict = q) -> str:
            return f"{o[key]['median']:{fmt}} / {q[key]['median']:{fmt}}"

        rows.append(
            f"| {n} | {p['rounds']} | {pair('wall_s', '.1f')} | {pair('loop_lag_p99_ms', '.0f')} "
            f"| {pair('api_requests_per_spawn', '.2f')} "
            f"| {pair('loop_thread_cpu_ms_per_spawn', '.1f')} | {pair('hub_rss_mb', '.0f')} "
            f"| {pair('load_1min', '.1f')} |"
        )
    return "\n".join(rows)


def svg(points: dict[int, dict]) -> str:
    """Ours and the peer against the herd's size, one small panel per measure."""
    users = sorted(points)
    w, h, pad = 300, 200, 40
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * w}" height="{2 * h}" '
        'font-family="sans-serif" font-size="11">'
    ]
    for i, (key, label) in enumerate(MEASURES):
        x0, y0 = (i % 2) * w, (i // 2) * h
        series = {
            side: [points[u][side][key]["median"] for u in users] for side in ("ours", "peer")
        }
        top = max(max(v) for v in series.values()) * 1.1 or 1

        def xy(n: int, v: float, x0: int = x0, y0: int = y0, top: float = top) -> str:
            x = x0 + pad + (w - 2 * pad) * (n / max(users[-1], 1))
            y = y0 + h - pad - (h - 2 * pad) * (v / top)
            return f"{x:.1f},{y:.1f}"

        out.append(f'<text x="{x0 + pad}" y="{y0 + 20}">{label}, median</text>')
        out.append(
            f'<polyline fill="none" stroke="#888" points="{xy(0, top)} {xy(0, 0)} '
            f'{xy(users[-1], 0)}"/>'
        )
        out.append(f'<text x="{x0 + 4}" y="{y0 + pad + 4}">{top:.0f}</text>')
        for n in users:
            out.append(
                f'<text x="{xy(n, 0).split(",")[0]}" y="{y0 + h - pad + 14}" '
                f'text-anchor="middle">{n}</text>'
            )
        for side, color in (("ours", "#1f77b4"), ("peer", "#d62728")):
            pts = " ".join(xy(n, v) for n, v in zip(users, series[side], strict=True))
            out.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{pts}"/>')
            for pt in pts.split():
                cx, cy = pt.split(",")
                out.append(f'<circle cx="{cx}" cy="{cy}" r="3" fill="{color}"/>')
        out.append(f'<text x="{x0 + w - pad}" y="{y0 + h - 8}" text-anchor="end">users</text>')
    out.append(f'<text x="{2 * w - 150}" y="15" fill="#1f77b4">ours (jupyter-kf)</text>')
    out.append(f'<text x="{2 * w - 150}" y="28" fill="#d62728">KubeSpawner 7.1.0</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
