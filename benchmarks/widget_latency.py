"""Widget update latency: a job's status changes -> the JobMonitor shows it.

Ours: a ``JobMonitor`` follows a running local job; the job is suspended, then resumed
(each a status change the supervisor writes to status.json). The latency of one change is
from status.json's modification time (when the supervisor wrote the change) to the moment
the monitor's ``phase`` changes (its updater thread, fed by the client's ``watch``).

Peer: the kubeflow SDK (0.5.0, in .venv-bench/) has no widget; its way to follow a job from
a notebook is ``TrainerClient.wait_for_job_status(..., callbacks=[...])``, polling at its
default 2 s. Measured from the job's status change (marked by a thread that reads the status
every millisecond) to the callback seeing it; see benchmarks/support/kubeflow_sdk_latency.py.

    python benchmarks/widget_latency.py [--quick] [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import textwrap
import threading
import time

from support.peer import ensure_peer, run_peer, stats
from support.verdict import Run

NAME = "widget_latency"
SCRIPT = textwrap.dedent("""
    import time
    for _ in range(3000):
        time.sleep(0.1)
""")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    rounds = 3 if args.quick else args.rounds
    run = Run(NAME, quick=args.quick)

    os.environ["JUPYTER_KF_HOME"] = tempfile.mkdtemp(prefix="jkf-bench-")
    from jupyter_kf import Client
    from jupyter_kf.backends.local.layout import default_root
    from jupyter_kf.widgets import JobMonitor

    ensure_peer()
    client = Client("local")
    job = client.submit(name="bench-widget", framework="pytorch", cell=SCRIPT)
    status_file = default_root() / job.name / "status.json"
    monitor = JobMonitor(job.name, client)
    changed = threading.Condition()
    seen: dict[str, float] = {}

    def on_phase(change) -> None:
        now = time.time()
        written = status_file.stat().st_mtime_ns / 1e9
        with changed:
            seen[change["new"]] = now - written
            changed.notify_all()

    def change_to(phase: str, action) -> float:
        with changed:
            seen.pop(phase, None)
        action(job.name)
        with changed:
            changed.wait_for(lambda: phase in seen, timeout=30)
        return seen[phase]

    client.wait(job.name, conditions=("Running",), timeout=60)
    while monitor.phase != "Running":
        time.sleep(0.01)
    monitor.observe(on_phase, names="phase")
    ours: list[float] = []
    peer: list[float] = []
    try:
        change_to("Suspended", client.suspend)  # warm-up
        change_to("Running", client.resume)
        run_peer("status")
        for i in range(1, rounds + 1):  # A B A B ...
            ours.append(change_to("Suspended", client.suspend))
            ours.append(change_to("Running", client.resume))
            peer.append(run_peer("status")["latency_s"])
            print(
                f"round {i}: ours {ours[-2]:.3f} s, {ours[-1]:.3f} s; peer {peer[-1]:.3f} s",
                flush=True,
            )
    finally:
        monitor.close()
        client.delete(job.name)

    ours_stats = {"update_s": stats(ours)}
    peer_stats = {"kubeflow-sdk-0.5.0": {"update_s": stats(peer)}}
    ratio = {"update_s": round(ours_stats["update_s"]["median"] / stats(peer)["median"], 2)}
    result = {
        "ours": ours_stats,
        "peer": peer_stats,
        "ratio": ratio,
        "goal": {"update_s": "median under 0.5 s and below the peer's"},
        "notes": (
            "ours: two samples a round (suspend, resume) of one running job; the local "
            "backend's watch sleeps in inotify until the job folder changes (and re-reads "
            "it every 2 s regardless). The peer polls every 2 s (its default "
            "polling_interval). Cluster not measured (needs the Kubernetes backend)."
        ),
    }
    return run.finish(result, "the same, 3 rounds (full: 7)")


if __name__ == "__main__":
    sys.exit(main())
