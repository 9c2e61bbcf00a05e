"""Submit latency: a ``%%kftrain`` cell executed -> the job visible through the client.

Local (the default): IPython runs ``%%kftrain --local --name N`` (the magic, the client, the
local backend's detached supervisor); a *separate* ``Client`` polls ``get(N)`` every
millisecond from a thread, as another process (the side panel, a second kernel) would see
the job. Reported: ``visible_s`` (cell start -> the other client sees the job) and
``returned_s`` (cell start -> the cell is done), plus ``widget_s``, what building the
JobMonitor the notebook shows for the returned job costs on top.

Peer (local): the kubeflow SDK (``kubeflow`` 0.5.0, pinned in
benchmarks/requirements-kubeflow-sdk.txt, installed in .venv-sdk/),
``TrainerClient(LocalProcessBackendConfig()).train(...)`` then ``get_job(name)``: its jobs
live in the client object, so "visible" is in the same process only (see
benchmarks/support/kubeflow_sdk_latency.py).

Cluster (``--cluster``): the same question on tests/cluster's control plane (KWOK
kubelets: images are never pulled), each side in its own long-lived process
(benchmarks/support/k8s_driver.py ``submit``), acting as the cluster admin, each in its own
fresh namespace (deleted afterwards):

- Ours: an IPython InteractiveShell with ``jupyter_kf.load_ipython_extension`` runs
  ``%%kftrain --cluster --name N --namespace NS`` + ``import time; time.sleep(120)``
  ($KUBECONFIG is the admin kubeconfig, JUPYTER_KF_IMAGE=python:3.11-slim): the magic's
  Kubernetes client POSTs the PyTorchJob (1 worker) with the cell's code inside it (pod
  annotations behind a downwardAPI volume; a ConfigMap only past 64 KiB) and returns the
  POST's answer, which its own list+watch cache holds at once (read your writes).
- Peer: kubeflow-training 1.9.4's ``TrainingClient.create_job(name=N, train_func=train,
  base_image=python:3.11-slim, num_workers=1)`` (PyPI, in .venv-bench-training/) with
  ``train`` the same two lines as a function: the SDK's own way to ship a notebook's code
  (it inlines the function's source into the container command; one POST, returns when
  the POST does). ``create_job(job=...)`` with a hand-built object would skip the part that
  corresponds to the magic's work, so train_func is the closer equivalent.
- Visible: one observer for both sides, in this process: a separate jupyter_kf ``Client``
  on ``KubernetesBackend`` whose list+watch cache of both namespaces is running before the
  rounds start (as the side panel sees jobs) and a thread polling ``get(N)`` every
  millisecond. It does not poll the API server: a raw GET every millisecond on this small
  shared machine would load the API server that both sides are timed against.
  ``api_watch_s`` is the floor under it: a raw watch (plain ``kubernetes`` client, admin)
  timestamping the job's first event, i.e. when its creation reached any watcher.
- Times are ``time.monotonic()`` (CLOCK_MONOTONIC, one clock for every process on the
  machine): t0 is taken in the side's process just before ``run_cell`` / ``create_job``.
  ``returned_s`` is t0 -> the call returned; ``requests``: HTTP requests the side's
  process sent for one submission.
- A warm-up submission per side first (reported as ``first_*``: for ours it includes
  making the magic's client and starting its namespace cache, once per kernel and
  namespace), then rounds alternate ours, peer, each job deleted once seen, with a pause
  of --settle s after every submission so the operator's work on one job (pods, service,
  deletion) does not land in the next one's measurement.

    python benchmarks/submit_latency.py [--quick] [--rounds N]
    python benchmarks/submit_latency.py --cluster [--quick] [--rounds N] [--kubeconfig PATH]
        [--settle S]

The cluster half writes benchmarks/results/submit_latency_cluster.json and prints ``RESULT
submit_latency_cluster {...}``. Without --kubeconfig, $KUBECONFIG is used; without either,
a cluster is started with tests/cluster/up.sh (state in /tmp/jkfc-bench-auto, ports 57xxx)
and stopped afterwards.
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

from support.peer import ensure_peer, run_peer, stats
from support.verdict import Run

NAME = "submit_latency"
NAME_CLUSTER = "submit_latency_cluster"


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


def local(rounds: int, quick: bool) -> int:
    os.environ["JUPYTER_KF_HOME"] = tempfile.mkdtemp(prefix="jkf-bench-")
    from IPython.core.interactiveshell import InteractiveShell

    from jupyter_kf import Client, load_ipython_extension

    run = Run(NAME, quick=quick)
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
        print(
            f"round {i}: ours visible {ours['visible_s'][-1]:.3f} s, "
            f"returned {ours['returned_s'][-1]:.3f} s; peer visible {peer[-1]:.3f} s",
            flush=True,
        )

    ours_stats = {key: stats(values) for key, values in ours.items()}
    # The peer's train() returns once its job is visible: one time serves both columns.
    peer_stats = {"kubeflow-sdk-0.5.0": {"visible_s": stats(peer), "returned_s": stats(peer)}}
    ratio = {
        key: round(ours_stats[key]["median"] / stats(peer)["median"], 2)
        for key in ("visible_s", "returned_s")
    }
    goal = {
        "visible_s": "median <= 1x the peer's",
        "returned_s": "median <= 1x the peer's",
    }
    result = {
        "ours": ours_stats,
        "peer": peer_stats,
        "ratio": ratio,
        "goal": goal,
        "notes": (
            "ours: a detached supervisor process per job and state on disk, so the job "
            "is visible to every process and outlives the kernel; the peer's job lives "
            "in its client object (a thread). The cluster half: --cluster "
            "(results/submit_latency_cluster.json)."
        ),
    }
    return run.finish(result, "the same, 3 rounds (full: 9)")


# -- the cluster half --------------------------------------------------------------------------
def observe(observer, name: str, namespace: str, seen: dict, timeout: float = 60) -> None:
    """Poll the observer's ``get(name)`` (served from its cache) every millisecond."""
    from jupyter_kf.errors import NotFoundError

    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                observer.get(name, namespace)
            except NotFoundError:
                time.sleep(0.001)
                continue
            seen["visible"] = time.monotonic()
            return
    except Exception as exc:
        seen["error"] = f"{type(exc).__name__}: {exc}"


def cluster_once(side, observer, reference, api, name: str, settle: float) -> dict:
    from kubernetes import client
    from support.k8s_bench import GROUP, PLURAL, VERSION

    ns = reference.namespace
    seen: dict = {}
    thread = threading.Thread(target=observe, args=(observer, name, ns, seen), daemon=True)
    thread.start()  # polling before the side is told to submit
    side.send({"name": name})
    done = side.read("SUBMITTED", 120)
    thread.join(60)
    if done["error"]:
        raise RuntimeError(f"{side.side}: {done['error']}")
    if "visible" not in seen:
        raise RuntimeError(f"{side.side}: the observer never saw {name}: {seen.get('error')}")
    deadline = time.monotonic() + 10
    while name not in reference.first and time.monotonic() < deadline:
        time.sleep(0.01)
    if name not in reference.first:
        raise RuntimeError(f"{side.side}: the raw watch never saw {name}: {reference.error!r}")
    client.CustomObjectsApi(api).delete_namespaced_custom_object(
        GROUP, VERSION, ns, PLURAL, name, propagation_policy="Background"
    )
    time.sleep(settle)
    t0 = done["t0"]
    return {
        "visible_s": seen["visible"] - t0,
        "returned_s": done["returned"] - t0,
        "api_watch_s": reference.first[name] - t0,
        "requests": float(done["requests"]["total"]),
    }


def on_cluster(kubeconfig_arg: str | None, rounds: int, settle: float, quick: bool) -> int:
    from support import k8s_bench
    from support.k8s_bench import (
        ConditionWatch,
        Driver,
        admin_api,
        cluster,
        code_state,
        create_namespace,
        delete_namespace,
        log,
    )

    from jupyter_kf import Client
    from jupyter_kf.backends.kubernetes import KubernetesBackend
    from jupyter_kf.k8s import ClusterConfig

    run = Run(NAME_CLUSTER, quick=quick)
    k8s_bench.ensure_peer()
    peer_name = k8s_bench.peer_version()
    log(f"peer: {peer_name}")
    keys = ("visible_s", "returned_s", "api_watch_s", "requests")
    values = {side: {key: [] for key in keys} for side in ("ours", "peer")}
    first: dict[str, dict] = {}
    t_start = time.monotonic()
    with cluster(kubeconfig_arg) as kubeconfig:
        api = admin_api(kubeconfig)
        namespaces, drivers, references = {}, {}, {}
        observer = None
        try:
            for side in ("ours", "peer"):
                namespaces[side] = create_namespace(api, f"jkf-bench-submit-{side}")
                references[side] = ConditionWatch(api, namespaces[side], condition=None).start()
                drivers[side] = Driver("submit", side, kubeconfig, namespaces[side])
            observer = Client(
                KubernetesBackend(
                    config=ClusterConfig(kubeconfig=kubeconfig), image=k8s_bench.IMAGE
                )
            )
            for ns in namespaces.values():
                observer.list(ns)  # its cache of the namespace: listed, watching
            versions = {side: d.wait_ready()["version"] for side, d in drivers.items()}
            log(f"namespaces {namespaces}; warm-up: one submission per side")
            for side in ("ours", "peer"):
                first[side] = cluster_once(
                    drivers[side], observer, references[side], api, f"warm-{side}", settle
                )
                log(f"first {side}: {fmt(first[side])}")
            for i in range(1, rounds + 1):  # A B A B ...
                line = []
                for side in ("ours", "peer"):
                    got = cluster_once(
                        drivers[side], observer, references[side], api, f"bench-submit-{i}", settle
                    )
                    for key in keys:
                        values[side][key].append(got[key])
                    line.append(f"{side} {fmt(got)}")
                log(f"round {i}/{rounds}: " + "; ".join(line))
        finally:
            for d in drivers.values():
                d.close()
            if observer is not None:
                observer.close()
            for r in references.values():
                r.stop()
            for ns in namespaces.values():
                delete_namespace(api, ns)

    ours = {key: stats(v) for key, v in values["ours"].items()}
    peer = {key: stats(v) for key, v in values["peer"].items()}
    ratio = {
        key: round(ours[key]["median"] / peer[key]["median"], 2)
        for key in ("visible_s", "returned_s", "api_watch_s", "requests")
    }
    peer_key = f"{peer_name.split(' (')[0]} TrainingClient.create_job(train_func=...)"
    result = {
        "ours": {
            "client": f"{versions['ours']} %%kftrain --cluster (IPython InteractiveShell)",
            **ours,
            "first": round_all(first["ours"]),
        },
        "peer": {peer_key: {**peer, "first": round_all(first["peer"])}},
        "ratio": ratio,
        "goal": {
            "visible_s": "median <= 1x the peer's",
            "returned_s": "median <= 1x the peer's",
        },
        "setup": {
            "rounds": rounds,
            "quick": quick,
            "settle_s": settle,
            "peer": peer_name,
            "kind": "PyTorchJob, 1 worker (Master only), python:3.11-slim",
            "identity": "cluster admin for both sides",
            "observer": "a separate jupyter_kf Client(KubernetesBackend) in the "
            "benchmark's process, get(N) polled every 1 ms from its cache",
            "seconds": round(time.monotonic() - t_start, 1),
            "code": code_state(),
        },
        "notes": (
            "visible_s: t0 in the side's process (before run_cell / create_job) to the "
            "observer's get(N) first succeeding; api_watch_s: to a raw admin watch's "
            "first event for the job (the floor for any watcher); returned_s: to the "
            "call returning. Ours POSTs the job with its code inside (pod annotations behind "
            "a downwardAPI volume) and returns the POST's answer, which its own cache holds "
            "at once (so the cell's result is already live); "
            "the peer POSTs the job with the code inlined in its command and returns "
            "with the POST. requests: per submission, from the side's process. "
            "first: the warm-up submission (ours: includes making the magic's client "
            "and starting its namespace cache)."
        ),
    }
    print(
        f"cluster submit, medians: visible ours {ours['visible_s']['median'] * 1000:.1f} ms, "
        f"peer {peer['visible_s']['median'] * 1000:.1f} ms (ours/peer {ratio['visible_s']}); "
        f"returned ours {ours['returned_s']['median'] * 1000:.1f} ms, peer "
        f"{peer['returned_s']['median'] * 1000:.1f} ms (ours/peer {ratio['returned_s']})",
        flush=True,
    )
    return run.finish(result, "the same, 3 rounds (full: 9)")


def fmt(got: dict) -> str:
    return (
        f"visible {got['visible_s'] * 1000:.1f} ms, returned {got['returned_s'] * 1000:.1f} "
        f"ms, watch {got['api_watch_s'] * 1000:.1f} ms, {got['requests']:g} requests"
    )


def round_all(got: dict) -> dict:
    return {key: round(value, 4) for key, value in got.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument(
        "--cluster",
        action="store_true",
        help="measure on a Kubernetes cluster (ours vs kubeflow-training) instead of locally",
    )
    parser.add_argument(
        "--kubeconfig",
        default=None,
        help="with --cluster: admin kubeconfig (default $KUBECONFIG; else start a cluster)",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=1.0,
        help="with --cluster: seconds to pause after each submission",
    )
    args = parser.parse_args()
    rounds = 3 if args.quick else args.rounds
    if args.cluster:
        return on_cluster(args.kubeconfig, rounds, args.settle, args.quick)
    if args.kubeconfig:
        parser.error("--kubeconfig goes with --cluster")
    return local(rounds, args.quick)


if __name__ == "__main__":
    sys.exit(main())
