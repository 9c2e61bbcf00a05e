"""Shared by the benchmarks whose peer is the kubeflow SDK (PyPI ``kubeflow``, pinned in
benchmarks/requirements-kubeflow-sdk.txt): its one virtual environment, .venv-sdk/ (the
Makefile's, which tests/sdk use too), its driver for the local benchmarks, and the
statistics every benchmark reports."""

from __future__ import annotations

import json
import statistics
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PEER_VENV = ROOT / ".venv-sdk"
PEER_PY = PEER_VENV / "bin" / "python"
DRIVER = ROOT / "benchmarks" / "support" / "kubeflow_sdk_latency.py"


def ensure_peer() -> str:
    """.venv-sdk with the pinned SDK (the Makefile's target: a no-op when up to date; never
    the project's .venv); returns what is installed there."""
    subprocess.run(["make", "-s", ".venv-sdk/.installed-stamp"], cwd=ROOT, check=True)
    return versions(PEER_PY, "kubeflow")


def versions(python: Path, package: str) -> str:
    """``package`` and the HTTP stack under it, as installed for ``python``."""
    probe = f"from importlib.metadata import version as v; print(v({package!r}), v('kubernetes'), v('urllib3'))"
    out = subprocess.run(
        [str(python), "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    return f"{package} {out[0]} (kubernetes {out[1]}, urllib3 {out[2]})"


def run_peer(mode: str, timeout: float = 600) -> dict:
    proc = subprocess.run(
        [str(PEER_PY), str(DRIVER), mode], capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )
    for line in proc.stdout.splitlines():
        if line.startswith("SDK_LATENCY "):
            return json.loads(line[len("SDK_LATENCY ") :])
    raise RuntimeError(
        f"the kubeflow SDK driver gave no result:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    )


def stats(values: list[float]) -> dict:
    return {
        "median": round(statistics.median(values), 4),
        "min": round(min(values), 4),
        "max": round(max(values), 4),
        "n": len(values),
    }
