"""One side of the trainjob_* benchmarks, in its own process.

    python trainjob_driver.py follow|list|submit --side ours|peer --kubeconfig K --namespace NS

``--side ours`` runs in the project's .venv: ``jupyter_kf.Client`` on ``KubernetesBackend``
(reads served from its list+watch cache). ``--side peer`` runs in .venv-sdk/: the kubeflow
SDK's ``TrainerClient`` (``kubeflow`` 0.5.0, KubernetesBackend), at its defaults. Both act as
the admin of the kubeconfig. Every HTTP request either sends is counted (request_counter:
urllib3's ``HTTPConnectionPool.urlopen`` wrapped before any client exists; both clients
send through it). Times are ``time.monotonic()`` (one clock for every process on the
machine, so the parent compares them with its reference watch).

Protocol (stdout, one line each), as benchmarks/support/k8s_driver.py: ``READY {json}`` once
the client is built, then

``follow``: one line ``{"jobs": [names], "timeout": s}``; follows every job to its end at
once, one thread per job — ours ``client.wait(name)``, the peer
``wait_for_job_status(name)`` at its defaults (status Complete, polling_interval 2 s), one
TrainerClient per job (its API client has one thread for async requests: sharing one would
queue the jobs' polls, so this is the peer's best case) — and prints ``FOLLOWED {"go",
"seen": {name: t}, "requests", "errors"}``.

``list``: answers each ``list`` line with ``LISTED {"seconds", "count", "requests"}`` (ours
``client.list()``, the peer ``list_jobs()``).

``submit``: answers each ``{"name": N}`` with ``SUBMITTED {"t0", "returned", "requests",
"error"}``: ours ``client.train(train, name=N, runtime="torch-distributed")``, the peer
``train(runtime="torch-distributed", trainer=CustomTrainer(func=train, image=IMAGE),
options=[Name(N)])``: each ships the same function the way its users do.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time

import request_counter

request_counter.install()  # before any client is made

IMAGE = "python:3.11-slim"  # never pulled: KWOK stands in for the kubelet
RUNTIME = "torch-distributed"


def train():
    import time

    time.sleep(120)


def emit(tag: str, obj: dict) -> None:
    print(f"{tag} {json.dumps(obj)}", flush=True)


class Ours:
    def __init__(self, args):
        import jupyter_kf
        from jupyter_kf import Client
        from jupyter_kf.backends.kubernetes import KubernetesBackend
        from jupyter_kf.k8s import ClusterConfig

        self.version = f"jupyter-kf {getattr(jupyter_kf, '__version__', '?')}"
        self.client = Client(
            KubernetesBackend(
                config=ClusterConfig(kubeconfig=args.kubeconfig),
                namespace=args.namespace,
                image=IMAGE,
            )
        )

    def start(self) -> None:
        """The namespace's cache, listed and watched once before the followers start (N
        threads making the first call at once would each list it)."""
        self.client.list()

    def follow_one(self, name: str, timeout: float) -> str:
        return self.client.wait(name, timeout=timeout).phase

    def list(self) -> int:
        return len(self.client.list())

    def submit(self, name: str) -> None:
        self.client.train(train, name=name, runtime=RUNTIME)

    def close(self) -> None:
        self.client.close()


class Peer:
    def __init__(self, args):
        from importlib.metadata import version

        from kubeflow.common.types import KubernetesBackendConfig
        from kubeflow.trainer import TrainerClient

        self.version = f"kubeflow {version('kubeflow')} TrainerClient"
        self.make = lambda: TrainerClient(
            backend_config=KubernetesBackendConfig(
                namespace=args.namespace, config_file=args.kubeconfig
            )
        )
        self.client = self.make()
        self.clients: list = []

    def prepare(self, count: int) -> None:
        """One TrainerClient per job to follow, made before READY (each reads the Trainer's
        version ConfigMap once when made: not counted)."""
        self.clients = [self.make() for _ in range(count)]

    def start(self) -> None:
        pass

    def follow_one(self, name: str, timeout: float) -> str:
        client = self.clients.pop()
        return client.wait_for_job_status(name, timeout=int(timeout)).status

    def list(self) -> int:
        return len(self.client.list_jobs())

    def submit(self, name: str) -> None:
        from kubeflow.trainer import CustomTrainer
        from kubeflow.trainer.options import Name

        self.client.train(
            runtime=RUNTIME, trainer=CustomTrainer(func=train, image=IMAGE), options=[Name(name)]
        )

    def close(self) -> None:
        pass


def follow(side, names: list[str], timeout: float) -> dict:
    seen: dict[str, float] = {}
    errors: dict[str, str] = {}
    lock = threading.Lock()

    def one(name: str) -> None:
        try:
            end = side.follow_one(name, timeout)
            with lock:
                seen[name] = time.monotonic()
                if end not in ("Succeeded", "Complete"):
                    errors[name] = f"ended {end}"
        except Exception as exc:
            errors[name] = f"{type(exc).__name__}: {exc}"

    threads = [threading.Thread(target=one, args=(n,), daemon=True) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout + 60)
    return {"seen": seen, "errors": errors}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["follow", "list", "submit"])
    parser.add_argument("--side", choices=["ours", "peer"], required=True)
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--followers", type=int, default=0)
    args = parser.parse_args()

    side = Ours(args) if args.side == "ours" else Peer(args)
    if args.side == "peer" and args.followers:
        side.prepare(args.followers)
    before = request_counter.snapshot()
    if args.mode == "list":
        t = time.perf_counter()
        count = side.list()  # ours: the first list also fills the cache and starts watching
        emit(
            "READY",
            {
                "version": side.version,
                "first_list_seconds": time.perf_counter() - t,
                "count": count,
                "requests": request_counter.since(before),
            },
        )
        for line in sys.stdin:
            if line.strip() != "list":
                break
            before = request_counter.snapshot()
            t = time.perf_counter()
            count = side.list()
            seconds = time.perf_counter() - t
            emit(
                "LISTED",
                {
                    "seconds": seconds,
                    "count": count,
                    "requests": request_counter.since(before)["total"],
                },
            )
    elif args.mode == "submit":
        emit("READY", {"version": side.version})
        for line in sys.stdin:
            if line.strip() == "quit":
                break
            name = json.loads(line)["name"]
            before = request_counter.snapshot()
            error = None
            t0 = time.monotonic()
            try:
                side.submit(name)
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
            returned = time.monotonic()
            emit(
                "SUBMITTED",
                {
                    "name": name,
                    "t0": t0,
                    "returned": returned,
                    "error": error,
                    "requests": request_counter.since(before),
                },
            )
    else:
        emit("READY", {"version": side.version, "requests": request_counter.since(before)})
        order = json.loads(sys.stdin.readline())
        request_counter.reset()
        go = time.monotonic()
        side.start()
        result = follow(side, order["jobs"], float(order["timeout"]))
        emit(
            "FOLLOWED",
            {
                "go": go,
                "end": time.monotonic(),
                **result,
                "requests": request_counter.snapshot(),
            },
        )
    side.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
