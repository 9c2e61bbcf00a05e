"""One side of a cluster benchmark, in its own process: benchmarks/status_propagation.py,
list_jobs.py and the cluster half of submit_latency.py on PyTorchJobs, and the trainjob_*
benchmarks on TrainJobs (``--resource trainer.kubeflow.org/v1alpha1/trainjobs``).

    python k8s_driver.py follow|list|submit --side ours|peer --kubeconfig K --namespace NS
        [--resource GROUP/VERSION/PLURAL] [...]

``--side ours`` runs in the project's .venv: ``jupyter_kf.Client`` on
``KubernetesBackend`` (reads served from its list+watch cache). ``--side peer`` is the
resource's own client: kubeflow-training's ``TrainingClient`` (job_kind PyTorchJob, in
.venv-bench-training/) for PyTorchJobs; the kubeflow SDK's ``TrainerClient`` (``kubeflow``
0.5.0, KubernetesBackend, in .venv-sdk/) at its defaults for TrainJobs. Both act as the admin
of the kubeconfig. Every HTTP request either makes is counted (request_counter: urllib3's
``HTTPConnectionPool.urlopen`` wrapped before any client exists). Times are
``time.monotonic()`` (CLOCK_MONOTONIC: one clock for every process on the machine, so the
parent compares them with its reference watch).

Protocol (stdout, one line each): the driver builds its client and prints ``READY {json}``.

``follow``: reads one line ``{"jobs": [names], "timeout": s}``, then follows every job to
its end at once, one thread per job — ours ``client.wait(name)`` (or one ``client.watch()``
with ``--ours-follow watch``); the peer with one client per job (each has one thread for
async requests: sharing one would queue the jobs' polls, so this is the peer's best case):
``wait_for_job_conditions(name, polling_interval=P)`` for a PyTorchJob,
``wait_for_job_status(name)`` at its defaults (status Complete, polling_interval 2 s) for a
TrainJob — and prints ``FOLLOWED {"go", "seen": {name: t}, "requests": {...}, ...}``.

``list``: answers each ``list`` line with ``LISTED {"seconds", "count", "requests"}``
(ours ``client.list()``, the peer ``list_jobs()``; ``cpu_seconds``: the CPU time of the
calling thread during the call — for the peer that leaves out its HTTP request, which runs
in the API client's pool thread); ``quit`` ends it. Ours adds, measured after the timed
call, ``cache_copy_seconds`` (reading the raw cached objects only).

``submit``: answers each ``{"name": N}`` line with ``SUBMITTED {"t0", "returned",
"requests", "error"}`` (monotonic times around the submission; ``quit`` ends it). Each side
ships the same code the way its users do. PyTorchJob: ours runs the cell ``%%kftrain
--cluster --name N --namespace NS`` + CELL_CODE in an IPython InteractiveShell with
``jupyter_kf.load_ipython_extension`` (the magic makes its "kubernetes" client from
$KUBECONFIG on the first cell; the cell's displayed output is captured, as a terminal
shell would print it); the peer calls ``TrainingClient.create_job(name=N,
train_func=train, base_image=IMAGE, num_workers=1)`` (the function's source inlined in the
container's command). TrainJob: ours ``client.train(train, name=N,
runtime="torch-distributed")``, the peer ``train(runtime="torch-distributed",
trainer=CustomTrainer(func=train, image=IMAGE), options=[Name(N)])``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import threading
import time

import request_counter

request_counter.install()  # before any client is made

IMAGE = "python:3.11-slim"  # never pulled: KWOK stands in for the kubelet
RUNTIME = "torch-distributed"  # a TrainJob's
PYTORCHJOBS = "kubeflow.org/v1/pytorchjobs"
TRAINJOBS = "trainer.kubeflow.org/v1alpha1/trainjobs"
CELL_CODE = "import time\ntime.sleep(120)\n"  # ours' cell body; the peer's is train() below


def train():
    """CELL_CODE as a function: the job code of the sides that ship a function's source."""
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
        self.follow_api = args.ours_follow
        self.client = Client(
            KubernetesBackend(
                config=ClusterConfig(kubeconfig=args.kubeconfig),
                namespace=args.namespace,
                image=IMAGE,
            )
        )

    def start(self) -> None:
        """The first call lists and starts the namespace's watches (one set, shared by
        every later call). Done once before the followers start: the backend builds a
        namespace's cache outside its lock, so N threads making the first call at once
        would each list and watch the namespace (a duplicate set is closed, but its
        requests were made)."""
        self.client.list()

    def follow(self, names: list[str], timeout: float, seen: dict, errors: dict) -> None:
        if self.follow_api == "watch":
            self._follow_watch(names, timeout, seen, errors)
            return

        def one(name):
            try:
                job = self.client.wait(name, timeout=timeout)
                seen[name] = time.monotonic()
                if job.phase != "Succeeded":
                    errors[name] = f"phase {job.phase}"
            except Exception as exc:
                errors[name] = f"{type(exc).__name__}: {exc}"

        threads = [threading.Thread(target=one, args=(n,), daemon=True) for n in names]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout + 30)

    def _follow_watch(self, names, timeout, seen, errors) -> None:
        wanted = set(names)
        try:
            for change in self.client.watch(timeout=timeout):
                job = change.job
                if (
                    job.name in wanted
                    and job.name not in seen
                    and (job.phase == "Succeeded" or job.status.has("Succeeded"))
                ):
                    seen[job.name] = time.monotonic()
                    if len(seen) == len(wanted):
                        return
        except Exception as exc:
            errors["watch"] = f"{type(exc).__name__}: {exc}"
        for name in wanted - set(seen):
            errors.setdefault(name, "not seen Succeeded")

    def list(self) -> int:
        return len(self.client.list())

    def submit(self, name: str) -> None:
        self.client.train(train, name=name, runtime=RUNTIME)

    def diagnose(self) -> dict:
        """The time to copy the cache's raw objects (jobs of every kind, pods) without
        turning them into Jobs. Reaches into the backend's private namespace cache:
        diagnostic only."""
        out = {}
        try:
            ns = self.client.backend._ns(None)
            t = time.perf_counter()
            [cr for informer in ns.jobs.values() for cr in informer.items()]
            ns.pods.items()
            out["cache_copy_seconds"] = time.perf_counter() - t
        except Exception as exc:
            out["cache_copy_error"] = repr(exc)
        return out

    def close(self) -> None:
        self.client.close()


class Peer:
    """kubeflow-training's TrainingClient, for PyTorchJobs."""

    def __init__(self, args):
        from importlib.metadata import version

        from kubeflow.training import TrainingClient

        self.version = f"kubeflow-training {version('kubeflow-training')}"
        self.args = args
        self.polling_interval = args.polling_interval
        self.make = lambda: TrainingClient(
            config_file=args.kubeconfig, namespace=args.namespace, job_kind="PyTorchJob"
        )
        self.client = self.make()
        self.clients: list = []

    def prepare(self, count: int) -> None:
        """One TrainingClient per job to follow (made before READY: no request)."""
        self.clients = [self.make() for _ in range(count)]

    def start(self) -> None:
        pass

    def follow(self, names: list[str], timeout: float, seen: dict, errors: dict) -> None:
        clients = self.clients if len(self.clients) >= len(names) else [self.make() for _ in names]

        def one(tc, name):
            try:
                end = self.wait(tc, name, timeout)
                seen[name] = time.monotonic()
                if end is not None:
                    errors[name] = end
            except Exception as exc:
                errors[name] = f"{type(exc).__name__}: {exc}"

        threads = [
            threading.Thread(target=one, args=(tc, n), daemon=True)
            for tc, n in zip(clients, names, strict=False)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout + 60)

    def wait(self, tc, name: str, timeout: float) -> str | None:
        """Follow ``name`` to its end; what went wrong, or None."""
        tc.wait_for_job_conditions(
            name, wait_timeout=int(timeout), polling_interval=self.polling_interval
        )
        return None

    def list(self) -> int:
        return len(self.client.list_jobs())

    def submit(self, name: str) -> None:
        self.client.create_job(name=name, train_func=train, base_image=IMAGE, num_workers=1)

    def close(self) -> None:
        pass


class PeerTrainer(Peer):
    """The kubeflow SDK's TrainerClient, for TrainJobs, at its defaults."""

    def __init__(self, args):
        from importlib.metadata import version

        from kubeflow.common.types import KubernetesBackendConfig
        from kubeflow.trainer import TrainerClient

        # Each TrainerClient reads the Trainer's version ConfigMap once when made (before
        # READY for the followers: not counted).
        self.version = f"kubeflow {version('kubeflow')} TrainerClient"
        self.make = lambda: TrainerClient(
            backend_config=KubernetesBackendConfig(
                namespace=args.namespace, config_file=args.kubeconfig
            )
        )
        self.client = self.make()
        self.clients: list = []

    def wait(self, tc, name: str, timeout: float) -> str | None:
        end = tc.wait_for_job_status(name, timeout=int(timeout)).status
        return None if end == "Complete" else f"ended {end}"

    def submit(self, name: str) -> None:
        from kubeflow.trainer import CustomTrainer
        from kubeflow.trainer.options import Name

        self.client.train(
            runtime=RUNTIME, trainer=CustomTrainer(func=train, image=IMAGE), options=[Name(name)]
        )


class OursCell:
    """``submit`` for ours: the magic in an IPython shell, as a notebook runs the cell."""

    def __init__(self, args):
        os.environ["KUBECONFIG"] = args.kubeconfig  # the magic's make_backend("kubernetes")
        os.environ["JUPYTER_KF_IMAGE"] = IMAGE
        from IPython.core.interactiveshell import InteractiveShell

        import jupyter_kf

        self.version = f"jupyter-kf {getattr(jupyter_kf, '__version__', '?')}"
        self.namespace = args.namespace
        self.shell = InteractiveShell.instance()
        jupyter_kf.load_ipython_extension(self.shell)

    def submit(self, name: str) -> None:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):  # the displayed job, off the protocol's stdout
            result = self.shell.run_cell(
                f"%%kftrain --cluster --name {name} --namespace {self.namespace}\n{CELL_CODE}"
            )
        if not result.success:
            raise RuntimeError(f"the cell failed: {out.getvalue()[-2000:]}")

    def close(self) -> None:
        import jupyter_kf

        jupyter_kf.unload_ipython_extension(self.shell)  # closes the magic's clients


def submit_loop(side) -> int:
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
    side.close()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["follow", "list", "submit"])
    parser.add_argument("--side", choices=["ours", "peer"], required=True)
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--polling-interval", type=int, default=15)
    parser.add_argument("--followers", type=int, default=0)
    parser.add_argument("--ours-follow", choices=["wait", "watch"], default="wait")
    parser.add_argument("--resource", choices=[PYTORCHJOBS, TRAINJOBS], default=PYTORCHJOBS)
    args = parser.parse_args()

    trainjobs = args.resource == TRAINJOBS
    if args.mode == "submit" and args.side == "ours" and not trainjobs:
        return submit_loop(OursCell(args))
    if args.side == "ours":
        side = Ours(args)
    else:
        side = PeerTrainer(args) if trainjobs else Peer(args)
    if args.mode == "submit":
        return submit_loop(side)
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
            cpu = time.thread_time()
            t = time.perf_counter()
            count = side.list()
            seconds = time.perf_counter() - t
            cpu = time.thread_time() - cpu
            listed = {
                "seconds": seconds,
                "cpu_seconds": cpu,
                "count": count,
                "requests": request_counter.since(before)["total"],
            }
            if hasattr(side, "diagnose"):
                listed.update(side.diagnose())  # after the timed call, not inside it
            emit("LISTED", listed)
        side.close()
        return 0

    emit("READY", {"version": side.version, "requests": request_counter.since(before)})
    order = json.loads(sys.stdin.readline())
    names, timeout = order["jobs"], float(order["timeout"])
    request_counter.reset()
    go = time.monotonic()
    seen: dict[str, float] = {}
    errors: dict[str, str] = {}
    side.start()
    side.follow(names, timeout, seen, errors)
    end = time.monotonic()
    emit(
        "FOLLOWED",
        {
            "go": go,
            "end": end,
            "seen": seen,
            "errors": errors,
            "requests": request_counter.snapshot(),
        },
    )
    side.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
