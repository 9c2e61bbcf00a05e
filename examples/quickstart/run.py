"""The quickstart: a real 2-worker PyTorch DDP job launched through jupyter-kf's local backend.

Run it with `make quickstart` (or `.venv/bin/python examples/quickstart/run.py`). It submits
train.py as a PyTorchJob (a Master and a Worker), streams rank 0's log, waits for the
job, and prints the final status and every replica's outcome.
"""

import sys
import time
from pathlib import Path

from jupyter_kf import Client, JupyterKFError
from jupyter_kf.jobs.metrics import REPORT_PREFIX

HERE = Path(__file__).resolve().parent


def main() -> int:
    client = Client("local")
    name = f"quickstart-{time.strftime('%H%M%S')}"
    try:
        job = client.submit(
            name=name,
            framework="pytorch",
            workers=2,
            script=HERE / "train.py",
            args=["--epochs", "5"],
        )
        print(
            f"submitted {job.kind} {job.name}: {job.workers} workers "
            f"({', '.join(r.name for r in job.replicas)}), jobs in {client.backend.root}"
        )
        for line in client.logs(name, follow=True):
            if not line.startswith(REPORT_PREFIX):  # metric points are shown at the end
                print(f"  [master-0] {line}")
        job = client.wait(name, timeout=600)
    except JupyterKFError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"\n{job.kind} {job.name}: {job.phase} — {job.status.message}")
    for replica in job.replicas:
        print(f"  {replica.name:<10} {replica.phase:<10} exit code {replica.exit_code}")
    losses = [p["loss"] for p in client.metrics(name) if "loss" in p]
    if losses:
        print(
            f"loss went from {losses[0]:.4f} to {losses[-1]:.4f} over {len(losses)} epochs "
            "(from the metric points the job reported)"
        )
    return 0 if job.phase == "Succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
