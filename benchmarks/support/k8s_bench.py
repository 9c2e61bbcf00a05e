"""Shared by the cluster benchmarks (benchmarks/status_propagation.py, list_jobs.py, the
cluster half of submit_latency.py, and the trainjob_* ones): a cluster to run on, jobs made
the way jupyter-kf makes them, a raw reference watch, and the two sides' driver processes
(benchmarks/support/k8s_driver.py), each in its own virtual environment.

Runs in the project's .venv (the peer's driver runs in .venv-bench-training/ for
PyTorchJobs, in .venv-sdk/ for TrainJobs).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from jupyter_kf.k8s.informer import interrupt
from support.peer import PEER_PY as SDK_PY
from support.peer import versions

ROOT = Path(__file__).resolve().parents[2]
SUPPORT = Path(__file__).resolve().parent
DRIVER = SUPPORT / "k8s_driver.py"
CLUSTER = ROOT / "tests" / "cluster"

PEER_VENV = ROOT / ".venv-bench-training"
PEER_PY = PEER_VENV / "bin" / "python"
PEER_REQUIREMENTS = ROOT / "benchmarks" / "requirements-kubeflow-training.txt"

IMAGE = "python:3.11-slim"  # never pulled: KWOK stands in for the kubelet
GROUP, VERSION, PLURAL = "kubeflow.org", "v1", "pytorchjobs"
PYTORCHJOBS = (GROUP, VERSION, PLURAL)
TRAINJOBS = ("trainer.kubeflow.org", "v1alpha1", "trainjobs")

# A cluster these benchmarks start for themselves when no kubeconfig is given: its own
# state directory and ports (any JKF_* already in the environment wins), so it never
# touches tests/cluster/.run or anyone else's cluster on the machine.
AUTO_CLUSTER_ENV = {
    "JKF_CLUSTER_DIR": "/tmp/jkfc-bench-auto",
    "JKF_ETCD_PORT": "57379",
    "JKF_ETCD_PEER_PORT": "57380",
    "JKF_API_PORT": "57443",
    "JKF_KCM_PORT": "57257",
    "JKF_SCHED_PORT": "57259",
    "JKF_KWOK_PORT": "57250",
    "JKF_OPERATOR_WEBHOOK_PORT": "57444",
    "JKF_OPERATOR_HEALTH_PORT": "57081",
    "JKF_OPERATOR_METRICS_PORT": "57080",
}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# -- the cluster -----------------------------------------------------------------------------
@contextmanager
def cluster(kubeconfig: str | None):
    """Yield an admin kubeconfig: ``kubeconfig``, else $KUBECONFIG, else a cluster started
    here with tests/cluster/up.sh (AUTO_CLUSTER_ENV) and stopped with down.sh afterwards."""
    kubeconfig = kubeconfig or os.environ.get("KUBECONFIG") or None
    if kubeconfig:
        if not Path(kubeconfig).is_file():
            raise SystemExit(f"no kubeconfig at {kubeconfig}")
        log(f"using the cluster of {kubeconfig}")
        yield kubeconfig
        return
    env = {**AUTO_CLUSTER_ENV, **os.environ}
    log(
        f"no --kubeconfig and no $KUBECONFIG: starting a cluster in {env['JKF_CLUSTER_DIR']} "
        f"(API port {env['JKF_API_PORT']}) with tests/cluster/up.sh"
    )
    subprocess.run(["bash", str(CLUSTER / "build.sh")], check=True, env=env, cwd=ROOT)
    up = subprocess.run(
        ["bash", str(CLUSTER / "up.sh")], env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        if up.returncode != 0:
            raise SystemExit(
                f"tests/cluster/up.sh failed ({up.returncode}); logs in "
                f"{env['JKF_CLUSTER_DIR']}/logs"
            )
        kubeconfig = up.stdout.strip().splitlines()[-1].removeprefix("export KUBECONFIG=")
        yield kubeconfig
    finally:
        log("stopping the cluster this benchmark started (tests/cluster/down.sh)")
        subprocess.run(["bash", str(CLUSTER / "down.sh")], env=env, cwd=ROOT)


def admin_api(kubeconfig: str, pool: int = 32):
    from kubernetes import client, config

    conf = client.Configuration()
    config.load_kube_config(config_file=kubeconfig, client_configuration=conf)
    conf.connection_pool_maxsize = pool
    return client.ApiClient(conf)


# -- the peer's environment ------------------------------------------------------------------
def ensure_peer() -> Path:
    """.venv-bench-training with the pinned kubeflow-training (made once; never .venv)."""
    probe = "import kubeflow.training, urllib3, kubernetes"
    ok = (
        PEER_PY.exists()
        and subprocess.run([str(PEER_PY), "-c", probe], capture_output=True).returncode == 0
    )
    if not ok:
        log(f"setting up the peer in {PEER_VENV.name}/ ({PEER_REQUIREMENTS.name}) ...")
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        subprocess.run(
            [str(PEER_PY), "-m", "pip", "install", "-q", "-r", str(PEER_REQUIREMENTS)], check=True
        )
    return PEER_PY


def peer_version() -> str:
    return versions(PEER_PY, "kubeflow-training")


# -- namespaces and jobs ---------------------------------------------------------------------
def create_namespace(api, prefix: str) -> str:
    from kubernetes import client

    name = f"{prefix}-{secrets.token_hex(3)}"
    client.CoreV1Api(api).create_namespace({"metadata": {"name": name}})
    deadline = time.monotonic() + 30  # the ServiceAccount controller fills it in
    while time.monotonic() < deadline:
        if client.CoreV1Api(api).list_namespaced_service_account(name).items:
            break
        time.sleep(0.2)
    return name


def delete_namespace(api, name: str) -> None:
    """Asks for it to go (the namespace controller removes jobs, pods... in the background)."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    try:
        client.CoreV1Api(api).delete_namespace(name, propagation_policy="Background")
    except ApiException as exc:
        if exc.status != 404:
            raise


def job_manifests(name: str, namespace: str, *, outcome: str, after: str) -> tuple[dict, dict]:
    """The PyTorchJob and code ConfigMap jupyter-kf's Kubernetes backend submits for a
    1-worker job whose pod KWOK ends as ``outcome`` after ``after`` Running."""
    from jupyter_kf.jobs import Code, JobSpec
    from jupyter_kf.jobs.render import render_code_configmap, render_job

    spec = JobSpec.create(
        "pytorch",
        name=name,
        workers=1,
        code=Code("pass"),
        pod_annotations={"jupyter-kf.test/outcome": outcome, "jupyter-kf.test/after": after},
    )
    cr = render_job(spec, namespace=namespace, image=IMAGE)
    # jupyter-kf leaves spec.runPolicy out when nothing in it is set; kubeflow-training
    # 1.9.4's models require it (get_job/list_jobs fail with "Failed to get PyTorchJob" on
    # such a job), and its own create_job always writes one. An empty runPolicy (the CRD
    # defaults suspend=false into it) lets both sides read the very same jobs.
    cr["spec"].setdefault("runPolicy", {})
    return cr, render_code_configmap(spec, namespace=namespace)


def create_jobs(
    api, namespace: str, jobs: dict[str, tuple[str, str]], threads: int = 8
) -> dict[str, float]:
    """Create ``{name: (outcome, after)}`` as an admin with the plain client, as
    KubernetesBackend.submit does (the CR, then its code ConfigMap owned by it); returns
    each job's monotonic creation time."""
    from kubernetes import client

    custom, core = client.CustomObjectsApi(api), client.CoreV1Api(api)

    def one(item):
        name, (outcome, after) = item
        cr, cm = job_manifests(name, namespace, outcome=outcome, after=after)
        created = create_custom(custom, PYTORCHJOBS, namespace, cr)
        t = time.monotonic()
        cm["metadata"]["ownerReferences"] = [
            {
                "apiVersion": created["apiVersion"],
                "kind": created["kind"],
                "name": name,
                "uid": created["metadata"]["uid"],
            }
        ]
        core.create_namespaced_config_map(namespace, cm)
        return name, t

    with ThreadPoolExecutor(threads) as pool:
        return dict(pool.map(one, jobs.items()))


def create_custom(custom, resource: tuple[str, str, str], namespace: str, body: dict) -> dict:
    """POST ``body`` as ``resource`` (group, version, plural), again after a webhook's hiccup
    under load (a taken name is no hiccup)."""
    from kubernetes import client

    group, version, plural = resource
    for attempt in range(5):
        try:
            return custom.create_namespaced_custom_object(group, version, namespace, plural, body)
        except client.exceptions.ApiException as exc:
            if exc.status == 409 or attempt == 4:
                raise
            time.sleep(0.5)
    raise AssertionError("unreachable")


# -- the reference: when the operator wrote the condition ------------------------------------
class ConditionWatch:
    """A raw watch (admin, plain ``kubernetes`` client) on a namespace's PyTorchJobs that
    timestamps (time.monotonic, system-wide on Linux) the event in which each job's
    ``condition`` first appears with status True: when the operator's status write reached
    a watcher, the earliest any client can know it. ``condition=None``: the job's first
    event at all (its ADDED: when its creation reached a watcher)."""

    def __init__(
        self,
        api,
        namespace: str,
        condition: str | None = "Succeeded",
        resource: tuple[str, str, str] = PYTORCHJOBS,
    ):
        from kubernetes import client

        self.custom = client.CustomObjectsApi(api)
        self.resource = resource  # (group, version, plural): PyTorchJobs unless told
        self.namespace, self.condition = namespace, condition
        self.first: dict[str, float] = {}
        self.event_type: dict[str, str] = {}
        self._stop = threading.Event()
        self._response = None
        self._ready = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, daemon=True, name=f"reference-watch-{namespace}"
        )

    def start(self) -> ConditionWatch:
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError(f"the reference watch did not start: {self.error!r}")
        return self

    def _seen(self, obj: dict, kind: str) -> None:
        name = obj["metadata"]["name"]
        if name in self.first:
            return
        if self.condition is None:
            self.first[name] = time.monotonic()
            self.event_type[name] = kind
            return
        for c in (obj.get("status") or {}).get("conditions") or ():
            if c.get("type") == self.condition and c.get("status") == "True":
                self.first[name] = time.monotonic()
                self.event_type[name] = kind
                return

    def _run(self) -> None:
        from kubernetes.watch.watch import iter_resp_lines

        try:
            listed = json.loads(
                self.custom.list_namespaced_custom_object(
                    *self.resource[:2], self.namespace, self.resource[2], _preload_content=False
                ).data
            )
            rv = listed["metadata"]["resourceVersion"]
            for obj in listed.get("items") or ():
                self._seen(obj, "LIST")
            while not self._stop.is_set():
                response = self.custom.list_namespaced_custom_object(
                    *self.resource[:2],
                    self.namespace,
                    self.resource[2],
                    watch=True,
                    resource_version=rv,
                    allow_watch_bookmarks=True,
                    timeout_seconds=600,
                    _preload_content=False,
                )
                self._response = response
                self._ready.set()
                try:
                    for line in iter_resp_lines(response):
                        event = json.loads(line)
                        obj = event.get("object") or {}
                        if event.get("type") == "ERROR":
                            raise RuntimeError(f"reference watch: {obj}")
                        rv = (obj.get("metadata") or {}).get("resourceVersion") or rv
                        if event.get("type") in ("ADDED", "MODIFIED"):
                            self._seen(obj, event["type"])
                finally:
                    self._response = None
                    response.release_conn()
        except BaseException as exc:
            if not self._stop.is_set():
                self.error = exc
                self._ready.set()

    def stop(self) -> None:
        self._stop.set()
        interrupt(self._response)
        self._thread.join(5)


# -- the two sides' processes ----------------------------------------------------------------
class Driver:
    """benchmarks/support/k8s_driver.py in a subprocess: ``side`` is ``ours`` (the project's
    .venv, jupyter_kf's Client on KubernetesBackend) or ``peer``: for PyTorchJobs
    kubeflow-training's TrainingClient (.venv-bench-training), for TrainJobs
    (``resource=TRAINJOBS``) the kubeflow SDK's TrainerClient (.venv-sdk). One JSON line in,
    one tagged JSON line out."""

    def __init__(
        self,
        mode: str,
        side: str,
        kubeconfig: str,
        namespace: str,
        resource: tuple[str, str, str] = PYTORCHJOBS,
        **options,
    ):
        peer = SDK_PY if resource == TRAINJOBS else PEER_PY
        python = sys.executable if side == "ours" else str(peer)
        args = [python, str(DRIVER), mode, "--side", side]
        args += ["--kubeconfig", kubeconfig, "--namespace", namespace]
        args += ["--resource", "/".join(resource)]
        for key, value in options.items():
            if value is not None:
                args += [f"--{key.replace('_', '-')}", str(value)]
        env = dict(os.environ)
        if side == "ours":
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        else:  # the peer sees nothing of the project
            env.pop("PYTHONPATH", None)
        self.side = side
        self.proc = subprocess.Popen(
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
            bufsize=1,
        )
        self._stderr: list[str] = []
        threading.Thread(target=self._drain, daemon=True).start()
        self.ready: dict | None = None

    def _drain(self) -> None:
        for line in self.proc.stderr:
            self._stderr.append(line)
            del self._stderr[:-200]

    def read(self, tag: str, timeout: float = 600) -> dict:
        result: list = []

        def reader():
            for line in self.proc.stdout:
                if line.startswith(tag + " "):
                    result.append(json.loads(line[len(tag) + 1 :]))
                    return

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        t.join(timeout)
        if not result:
            self.close()
            raise RuntimeError(
                f"the {self.side} driver gave no {tag} line in {timeout:g} s:\n"
                + "".join(self._stderr[-40:])
            )
        return result[0]

    def wait_ready(self, timeout: float = 180) -> dict:
        if self.ready is None:
            self.ready = self.read("READY", timeout)
        return self.ready

    def send(self, obj) -> None:
        self.proc.stdin.write((obj if isinstance(obj, str) else json.dumps(obj)) + "\n")
        self.proc.stdin.flush()

    def close(self) -> None:
        try:
            if self.proc.poll() is None:
                self.send("quit")
                self.proc.stdin.close()
                self.proc.wait(10)
        except (OSError, subprocess.TimeoutExpired, ValueError):
            pass
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def code_state() -> dict:
    """The commit measured, and the files of jupyter_kf/ changed in the work tree since it
    (a shared tree may change between runs)."""

    def git(*args):
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout

    changed = [
        line[3:]
        for line in git("status", "--porcelain", "--", "jupyter_kf").splitlines()
        if line.strip()
    ]
    return {"commit": git("rev-parse", "--short", "HEAD").strip(), "jupyter_kf_changed": changed}


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in [0, 1])."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(-(-q * len(ordered) // 1)) - 1))]
