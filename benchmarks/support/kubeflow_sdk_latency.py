"""The kubeflow SDK's side of benchmarks/submit_latency.py and benchmarks/widget_latency.py.

Runs in .venv-bench/ (the pinned ``kubeflow`` of benchmarks/requirements-kubeflow-sdk.txt),
one measurement per call, and prints one line ``SDK_LATENCY {json}``:

``submit``: seconds from just before ``TrainerClient.train(...)`` (LocalProcessBackend) to
``get_job(name)`` returning the job — the SDK's "job visible through the client". The job is
deleted at once (its virtualenv would otherwise be built).

``status``: seconds from a job's status change to the moment the SDK's own way of following
a job, ``wait_for_job_status(..., callbacks=[...])`` at its default ``polling_interval``
(2 s), reports it. The change is the job ending: without ``packages_to_install`` the job's
fresh virtualenv has no torchrun, so it fails once ``venv`` and ``ensurepip`` are done. A
thread reading ``get_job(name).status`` every millisecond marks when the change happened.
"""

from __future__ import annotations

import json
import sys
import threading
import time


def train_func():
    print("hello")


def main() -> int:
    mode = sys.argv[1]
    import kubeflow
    from kubeflow.trainer import CustomTrainer, LocalProcessBackendConfig, TrainerClient

    client = TrainerClient(backend_config=LocalProcessBackendConfig())
    trainer = CustomTrainer(func=train_func)
    out: dict = {"version": getattr(kubeflow, "__version__", None), "mode": mode}
    if mode == "submit":
        t0 = time.perf_counter()
        name = client.train(runtime="torch-distributed", trainer=trainer)
        client.get_job(name)
        out["visible_s"] = time.perf_counter() - t0
        client.delete_job(name)
    else:
        name = client.train(runtime="torch-distributed", trainer=trainer)
        flips: dict[str, float] = {}
        stop = threading.Event()

        def mark() -> None:
            last = None
            while not stop.is_set():
                status = client.get_job(name).status
                if status != last:
                    flips.setdefault(status, time.perf_counter())
                    last = status
                time.sleep(0.001)

        marker = threading.Thread(target=mark, daemon=True)
        marker.start()
        seen: dict[str, float] = {}

        def callback(job) -> None:
            seen.setdefault(job.status, time.perf_counter())

        job = client.wait_for_job_status(
            name, status={"Complete", "Failed"}, timeout=600, callbacks=[callback]
        )
        stop.set()
        marker.join()
        out["status"] = job.status
        out["latency_s"] = seen[job.status] - flips[job.status]
        client.delete_job(name)
    print("SDK_LATENCY " + json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
