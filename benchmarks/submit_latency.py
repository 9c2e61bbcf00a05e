"""Submit latency: a ``%%kftrain`` cell executed -> the job visible through the client.

Ours: IPython runs ``%%kftrain --local --name N`` (the magic, the client, the local
backend's detached supervisor); a *separate* ``Client`` polls ``get(N)`` every millisecond
from a thread, as another process (the side panel, a second kernel) would see the job.
Reported: ``visible_s`` (cell start -> the other client sees the job) and ``returned_s``
(cell start -> the cell is done), plus ``widget_s``, what building the JobMonitor the
notebook shows for the returned job costs on top.

Peer: the kubeflow SDK (``kubeflow`` 0.5.0, pinned in benchmarks/requirements-kubeflow-sdk.txt,
installed in .venv-bench/), ``TrainerClient(LocalProcessBackendConfig()).train(...)`` then
``get_job(name)``: its jobs live in the client object, so "visible" is in the same process
only (see benchmarks/support/kubeflow_sdk_latency.py).

The cluster half (``--cluster``) is not measured here yet: it needs the Kubernetes backend
and tests/cluster's control plane running.

    python benchmarks/submit_latency.py [--quick] [--rounds N]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "support"))
from peer import ensure_peer, run_peer, stats, write_result  # noqa: E402

NAME = "submit_latency"


def ours_once(shell, watcher, index: int) -> dict:
    from jupyter_kf.errors import NotFoundError
    from jupyter_kf.widgets import JobMonitor

    name = f"bench-submit-{index}"
    seen: dict[str, float] = {}
    start = threading.Event()

    def poll() -> None:
        start.wait()
        deadline = time.perf_counter() + 30
        while time.perf_counter() < deadline:
            try:
                watcher.get(name)
            except NotFoundError:
                time.sleep(0.001)
                continue
            seen["visible"] = time.perf_counter()
            return

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    t0 = time.perf_counter()
    start.set()
    with contextlib.redirect_stdout(io.StringIO()):  # the cell's displayed output
        result = shell.run_cell(f"%%kftrain --local --name {name}\nimport time\ntime.sleep(120)\n")
    returned = time.perf_counter()
    if result.error_in_exec is not None:
        raise result.error_in_exec
    thread.join(30)
    t1 = time.perf_counter()
    monitor = JobMonitor(name, watcher, job=result.result)  # what the notebook displays
    widget = time.perf_counter() - t1
    monitor.close()
    watcher.delete(name)
    return {"visible_s": seen["visible"] - t0, "returned_s": returned - t0, "widget_s": widget}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds")
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    rounds = 3 if args.quick else args.rounds

    os.environ["JUPYTER_KF_HOME"] = tempfile.mkdtemp(prefix="jkf-bench-")
    from IPython.core.interactiveshell import InteractiveShell

    from jupyter_kf import Client, load_ipython_extension

    ensure_peer()
    shell = InteractiveShell.instance()
    load_ipython_extension(shell)
    watcher = Client("local")

    ours: dict[str, list[float]] = {"visible_s": [], "returned_s": [], "widget_s": []}
    peer: list[float] = []
    ours_once(shell, watcher, 0)  # warm-up: imports, first supervisor
    run_peer("submit")
    for i in range(1, rounds + 1):  # A B A B ...
        for key, value in ours_once(shell, watcher, i).items():
            ours[key].append(value)
        peer.append(run_peer("submit")["visible_s"])
        print(f"round {i}: ours visible {ours['visible_s'][-1]:.3f} s, "
              f"returned {ours['returned_s'][-1]:.3f} s; peer visible {peer[-1]:.3f} s", flush=True)

    ours_stats = {key: stats(values) for key, values in ours.items()}
    # The peer's train() returns once its job is visible: one time serves both columns.
    peer_stats = {"kubeflow-sdk-0.5.0": {"visible_s": stats(peer), "returned_s": stats(peer)}}
    ratio = {key: round(ours_stats[key]["median"] / stats(peer)["median"], 2)
             for key in ("visible_s", "returned_s")}
    goal = {"visible_s": "median under 1 s (a cell feels immediate)",
            "returned_s": "median under 1 s"}
    result = {
        "ours": ours_stats, "peer": peer_stats, "ratio": ratio, "goal": goal,
        "met": ours_stats["visible_s"]["median"] < 1.0 and ours_stats["returned_s"]["median"] < 1.0,
        "notes": ("ours: a detached supervisor process per job and state on disk, so the job "
                  "is visible to every process and outlives the kernel; the peer's job lives "
                  "in its client object (a thread). Cluster not measured (needs the "
                  "Kubernetes backend and tests/cluster)."),
    }
    write_result(NAME, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
