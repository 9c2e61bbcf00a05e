"""Shared by benchmarks/submit_latency.py and benchmarks/widget_latency.py: the kubeflow SDK
peer's virtual environment, its driver, and the statistics every benchmark reports."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PEER_VENV = ROOT / ".venv-bench"
PEER_PY = PEER_VENV / "bin" / "python"
REQUIREMENTS = ROOT / "benchmarks" / "requirements-kubeflow-sdk.txt"
DRIVER = ROOT / "benchmarks" / "support" / "kubeflow_sdk_latency.py"


def ensure_peer() -> Path:
    """.venv-bench with the pinned kubeflow SDK (made once; never the project's .venv)."""
    ok = (
        PEER_PY.exists()
        and subprocess.run(
            [str(PEER_PY), "-c", "import kubeflow.trainer"], capture_output=True
        ).returncode
        == 0
    )
    if not ok:
        print("setting up the peer in .venv-bench (kubeflow SDK) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        subprocess.run(
            [str(PEER_PY), "-m", "pip", "install", "-q", "-r", str(REQUIREMENTS)], check=True
        )
    return PEER_PY


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


def write_result(name: str, result: dict) -> None:
    out = ROOT / "benchmarks" / "results" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"RESULT {name} {json.dumps(result)}", flush=True)
