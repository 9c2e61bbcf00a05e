"""Every benchmark's goal, and how every benchmark ends.

The goals of the benchmarks that end through ``finish`` are written here, in one table, so
that a goal changed after a miss shows in this file's history, and so that tests/unit can
run each goal against a failing result without running the benchmark. ``finish`` stamps
the result with the date and the machine (these machines are shared: the load average at
the start and the end of the run goes with the figures), writes
``benchmarks/results/<name>.json``, prints ``RESULT <name> {...}`` as the last line and
returns the exit status: 1 when a goal is not met, so ``make bench`` and CI see a miss.

Only the standard library: tests/unit loads this file by its path.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"


def _median(result: dict, *path: str) -> float:
    node = result
    for key in path:
        node = node[key]
    return float(node["median"])


def _panel(result: dict) -> dict[str, bool]:
    idle = result["ours"]["idle"]
    return {
        "change_to_panel_ms median < 500": _median(result, "ours", "change_to_panel_ms") < 500,
        "no polling: the open panel sends no request and opens no websocket while idle": (
            idle["panel_requests"] == 0 and idle["websockets_opened"] == 0
        ),
    }


def _list_latency(result: dict) -> dict[str, bool]:
    ms = result["ours"]["list_ms"]
    return {"list_ms p50 < 250": ms["p50"] < 250, "list_ms p99 < 1000": ms["p99"] < 1000}


def _widget(result: dict) -> dict[str, bool]:
    return {
        "update_s median < 0.5": _median(result, "ours", "update_s") < 0.5,
        "update_s median below the peer's": result["ratio"]["update_s"] < 1,
    }


def _submit(result: dict) -> dict[str, bool]:
    # Where a peer exists the goal is to be at least as fast as it, not "fast enough".
    ratio = result["ratio"]
    return {
        "visible_s median <= 1x the peer's": ratio["visible_s"] <= 1,
        "returned_s median <= 1x the peer's": ratio["returned_s"] <= 1,
    }


def _status_propagation(result: dict) -> dict[str, bool]:
    ratio = result["ratio"]
    return {
        "latency <= 0.1x peer@1": ratio["latency_median_vs_peer@1"] <= 0.1,
        "requests per job-minute < peer@15 (its default)": ratio[
            "requests_per_job_minute_vs_peer@15"
        ]
        < 1,
    }


def _list_jobs(result: dict) -> dict[str, bool]:
    return {"list_ms p99 < 20": result["ours"]["list_ms"]["p99"] < 20}


def _local_launch(result: dict) -> dict[str, bool]:
    ratio = result["ratio"]
    r4, r1 = ratio["ours_over_torchrun_4_workers"], ratio["ours_over_kubeflow_sdk_1_worker"]
    peak = result["ours"]["supervisor_rss_mb"]["max"]
    return {
        "first step <= 1.2x torchrun (4 workers)": r4 is not None and r4 <= 1.2,
        "first step <= 0.1x the kubeflow SDK (1 worker)": r1 is not None and r1 <= 0.1,
        "supervisor peak RSS < 40 MB": peak is not None and peak < 40.0,
        "every run completed": not result.get("failures"),
    }


def _idle_api_load(result: dict) -> dict[str, bool]:
    ratio = result["ratio"]["requests_per_s"]
    return {
        "requests_per_s <= 0.1x KubeSpawner": ratio is not None and ratio <= 0.1,
        "window >= 2x the longest watch period": result["seconds"] >= 2 * WATCH_PERIOD_S,
    }


def _trainjob_status_propagation(result: dict) -> dict[str, bool]:
    ratio = result["ratio"]
    return {
        "latency median <= 0.1x the peer's": ratio["latency_median"] <= 0.1,
        "requests per batch <= 0.25x the peer's": ratio["requests_per_batch_median"] <= 0.25,
    }


def _trainjob_list(result: dict) -> dict[str, bool]:
    return {"list_ms p99 <= 0.05x the peer's (20x lower)": result["ratio"]["list_ms_p99"] <= 0.05}


def _trainjob_submit(result: dict) -> dict[str, bool]:
    return {"visible_s median <= 1x the peer's": result["ratio"]["visible_median"] <= 1}


# The longest watch/relist period on either side of idle_api_load: jupyter-kf's hub watch
# ends and resumes every 240 s (jupyter_kf/hub/watch.py's watch_seconds; its stall cut is
# 150 s), KubeSpawner 7.1.0's reflectors every 10 s (timeout_seconds) and at most every 30 s
# (restart_seconds). A window of two periods sees each side rotate at least once.
WATCH_PERIOD_S = 240

CHECKS: dict[str, Callable[[dict], dict[str, bool]]] = {
    "panel_latency": _panel,
    "list_latency": _list_latency,
    "widget_latency": _widget,
    "submit_latency": _submit,
    "submit_latency_cluster": _submit,
    "status_propagation": _status_propagation,
    "list_jobs": _list_jobs,
    "local_launch": _local_launch,
    "idle_api_load": _idle_api_load,
    "trainjob_status_propagation": _trainjob_status_propagation,
    "trainjob_list": _trainjob_list,
    "trainjob_submit": _trainjob_submit,
}


def check(name: str, result: dict) -> dict[str, bool]:
    """Each goal of benchmark ``name`` against ``result``: True where it is met. A result
    without the figures a goal needs fails that goal (a run that measured nothing met
    nothing)."""
    try:
        return CHECKS[name](result)
    except (KeyError, TypeError, ValueError) as exc:
        return {f"the result holds what the goals need ({exc!r})": False}


def machine() -> dict:
    """What the figures were measured on, as far as a benchmark can tell."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = None
    try:
        memory = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError):
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": memory,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }


def commit() -> str | None:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    if done.returncode != 0:
        return None
    return done.stdout.strip() or None


class Run:
    """One run of a benchmark: made at its start, ``finish``ed with its result."""

    def __init__(self, name: str, *, quick: bool, results: Path = RESULTS):
        self.name, self.quick, self.results = name, quick, results
        self.started = datetime.now(UTC)
        self.load_start = [round(x, 2) for x in os.getloadavg()]

    def finish(self, result: dict, quick_note: str | None = None) -> int:
        """Stamp, check, write and print ``result``; the benchmark's exit status."""
        checks = check(self.name, result)
        result["checks"] = checks
        result["met"] = bool(checks) and all(checks.values())
        result["run"] = {
            "date": self.started.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "seconds": round((datetime.now(UTC) - self.started).total_seconds(), 1),
            "quick": self.quick,
            **({"quick_measures": quick_note} if self.quick and quick_note else {}),
            "machine": machine(),
            "load_avg_start": self.load_start,
            "load_avg_end": [round(x, 2) for x in os.getloadavg()],
            "commit": commit(),
        }
        self.results.mkdir(parents=True, exist_ok=True)
        (self.results / f"{self.name}.json").write_text(json.dumps(result, indent=1) + "\n")
        for goal, ok in checks.items():
            print(f"{'met' if ok else 'NOT MET'}: {goal}", file=sys.stderr, flush=True)
        line = {k: result.get(k) for k in ("ours", "peer", "ratio", "goal", "met")}
        print(f"RESULT {self.name} {json.dumps(line)}", flush=True)
        return 0 if result["met"] else 1
