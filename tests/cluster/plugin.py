"""pytest fixtures for the real control plane of tests/cluster.

Loaded from the root ``tests/conftest.py`` (``pytest_plugins = ["tests.cluster.plugin"]``).

Fixtures:

``cluster`` (session)
    A running cluster (:class:`Cluster`). If ``JKF_CLUSTER_KUBECONFIG`` names the admin
    kubeconfig of a running cluster, that one is used and left running. Otherwise
    ``build.sh`` (a no-op when the binaries are cached) and ``up.sh`` start one in
    ``JKF_CLUSTER_DIR`` (default ``tests/cluster/.run``) and ``down.sh`` stops it at the
    end of the session; a cluster that was already running there (``make cluster-up``)
    is reused and left running.
``admin_api`` (session)
    ``kubernetes.client.ApiClient`` authenticated as the cluster admin (system:masters).
``namespace`` / ``namespace_factory``
    A fresh namespace per test (its default ServiceAccount exists), deleted afterwards;
    the factory makes as many as a test needs.
``sa_client``
    Factory ``sa_client(namespace, name)`` -> ``ApiClient`` that authenticates with a real
    ServiceAccount token from the TokenRequest API, so RBAC refusals are real 403s.

A test that uses them, directly or through another fixture, gets the ``cluster`` marker
from ``tests/conftest.py``.

Every session that uses a running cluster holds it shared, and a test that stops the API
server holds it alone (``session_lock.py``): mark such a test ``apiserver_outage`` so it
waits for the others before its timeout starts; ``apiserver_down`` refuses to run without
the cluster to itself.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import re
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.waiting import wait_for

from .session_lock import SessionLock, session_lock

HERE = Path(__file__).resolve().parent
DEFAULT_DIR = HERE / ".run"

# Annotations understood by the KWOK stages in kwok-stages.yaml.
OUTCOME = "jupyter-kf.test/outcome"  # succeed | fail | run
AFTER = "jupyter-kf.test/after"  # Go duration spent Running before the outcome
EXIT_CODE = "jupyter-kf.test/exit-code"  # exit code when the outcome is "fail"
POD_IP = "jupyter-kf.test/pod-ip"  # podIP to report instead of one from the node's podCIDR
# Stopping or freezing these takes the API away from every session on the machine.
OUTAGE_COMPONENTS = frozenset({"kube-apiserver", "etcd"})


def _read_env_file(path: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    return env


@dataclass
class Cluster:
    """A running tests/cluster control plane.

    ``state_dir`` is the directory up.sh wrote (pki/, logs/, pids/, cmd/); the component
    helpers (``stop``, ``start``, ``apiserver_down``...) need it and so only work for a
    cluster started by up.sh on this machine.
    """

    kubeconfig: Path
    state_dir: Path | None
    api_server: str
    ca_file: Path | None
    bin_dir: Path | None
    managed: bool  # True when this session started it (and will stop it)

    @classmethod
    def from_kubeconfig(cls, kubeconfig: Path, managed: bool = False) -> Cluster:
        kubeconfig = Path(kubeconfig).resolve()
        env_file = kubeconfig.parent / "cluster.env"
        if env_file.is_file():
            env = _read_env_file(env_file)
            return cls(
                kubeconfig=kubeconfig,
                state_dir=Path(env["JKF_CLUSTER_DIR"]),
                api_server=env["JKF_API_SERVER"],
                ca_file=Path(env["JKF_CA_FILE"]),
                bin_dir=Path(env["JKF_BIN_DIR"]),
                managed=managed,
            )
        from kubernetes import config as k8s_config

        api = k8s_config.new_client_from_config(str(kubeconfig))
        server = api.configuration.host
        api.close()
        return cls(kubeconfig, None, server, None, None, managed)

    # --- clients -------------------------------------------------------------------------
    def admin_client(self):
        """A new ``ApiClient`` authenticated as the admin (close it when done)."""
        from kubernetes import config as k8s_config

        return k8s_config.new_client_from_config(str(self.kubeconfig))

    def token_client(self, token: str):
        """A new ``ApiClient`` that sends ``Authorization: Bearer <token>``."""
        from kubernetes import client

        cfg = client.Configuration()
        cfg.host = self.api_server
        if self.ca_file is not None:
            cfg.ssl_ca_cert = str(self.ca_file)
        else:  # take the CA from the admin kubeconfig
            admin = self.admin_client()
            cfg.ssl_ca_cert = admin.configuration.ssl_ca_cert
            admin.close()
        cfg.api_key = {"authorization": token}
        cfg.api_key_prefix = {"authorization": "Bearer"}
        return client.ApiClient(cfg)

    def kubectl(self, *args: str, check: bool = True, **kwargs: Any) -> subprocess.CompletedProcess:
        """Run the cluster's kubectl as admin; returns the CompletedProcess (text)."""
        kubectl = str(self.bin_dir / "kubectl") if self.bin_dir else "kubectl"
        return subprocess.run(
            [kubectl, "--kubeconfig", str(self.kubeconfig), *args],
            check=check,
            capture_output=True,
            text=True,
            **kwargs,
        )

    # --- components ----------------------------------------------------------------------
    def _need_state(self) -> Path:
        if self.state_dir is None:
            raise RuntimeError("this cluster was not started by tests/cluster/up.sh here")
        return self.state_dir

    @property
    def lock(self) -> SessionLock:
        """This process's hold on the cluster, shared with other sessions (session_lock.py)."""
        return session_lock(self._need_state())

    def _need_alone(self, component: str) -> None:
        if component in OUTAGE_COMPONENTS and not self.lock.exclusive_held:
            raise RuntimeError(
                f"stopping {component} breaks every other test session on this cluster: "
                "use cluster.apiserver_down() and mark the test apiserver_outage"
            )

    def pid(self, component: str) -> int | None:
        """The pid of a running component (etcd, kube-apiserver, kube-controller-manager,
        kube-scheduler, kwok, training-operator, jobset, trainer-controller-manager, and the real
        node's containerd, kubelet, coredns), or None if it is not running."""
        pid_file = self._need_state() / "pids" / component
        if not pid_file.is_file():
            return None
        pid = int(pid_file.read_text())
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return None
        return pid if cmdline else None  # empty for a zombie

    def stop(self, component: str, timeout: float = 5.0) -> None:
        """Stop a component (SIGTERM, SIGKILL after ``timeout``) and wait until it is gone.

        kube-apiserver stops listening at once on SIGTERM, but with clients' watches open
        its process lingers for up to a minute (the HTTP server's shutdown timeout), hence
        the SIGKILL after a few seconds.
        """
        self._need_alone(component)
        pid = self.pid(component)
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
            os.kill(pid, signal.SIGTERM)
        try:
            wait_for(lambda: self.pid(component) is None, timeout, 0.1, f"{component} to exit")
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            wait_for(lambda: self.pid(component) is None, 10, 0.1, f"{component} to die")

    def start(self, component: str, wait: bool = True, timeout: float = 120.0) -> int:
        """Start a stopped component again, with the command line up.sh used."""
        state = self._need_state()
        if (pid := self.pid(component)) is not None:
            return pid
        cmd = (state / "cmd" / component).read_text()
        with open(state / "logs" / f"{component}.log", "ab") as log:
            proc = subprocess.Popen(
                ["bash", "-c", f"exec {cmd}"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        (state / "pids" / component).write_text(f"{proc.pid}\n")
        if wait and component == "kube-apiserver":
            self.wait_apiserver_ready(timeout)
        return proc.pid

    def pause(self, component: str) -> None:
        """Freeze a component (SIGSTOP): its port stays open but nothing answers."""
        self._need_alone(component)
        pid = self.pid(component)
        if pid is not None:
            os.kill(pid, signal.SIGSTOP)

    def resume(self, component: str) -> None:
        pid = self.pid(component)
        if pid is not None:
            os.kill(pid, signal.SIGCONT)

    def apiserver_ready(self) -> bool:
        """True when kube-apiserver answers /readyz with 200."""
        api = self.admin_client()
        try:
            api.call_api("/readyz", "GET", response_type="str", _request_timeout=2)
            return True
        except Exception:
            return False
        finally:
            api.close()

    def wait_apiserver_ready(self, timeout: float = 120.0) -> None:
        wait_for(self.apiserver_ready, timeout, 0.25, "kube-apiserver /readyz")

    @contextlib.contextmanager
    def apiserver_down(self, seconds: float | None = None) -> Iterator[None]:
        """Stop kube-apiserver for the body of the ``with`` block (and at least ``seconds``),
        then start it again and wait until it is ready.

        Everything else keeps running: controllers, KWOK and the operator see the API
        disappear and must reconnect on their own, as against a real apiserver restart.
        No other test session uses the cluster meanwhile (``session_lock.py``).
        """
        with self.lock.exclusive():
            started = time.monotonic()
            self.stop("kube-apiserver")
            try:
                yield
                if seconds is not None:
                    time.sleep(max(0.0, seconds - (time.monotonic() - started)))
            finally:
                self.start("kube-apiserver", wait=True)

    # --- pod logs through KWOK -------------------------------------------------------------
    def set_pod_logs(
        self,
        api_client,
        namespace: str,
        pod: str,
        lines: list[str] | str,
        container: str | None = None,
        stream: str = "stdout",
    ) -> Path:
        """Make ``pods/log`` of ``pod`` return ``lines`` (served by KWOK via the apiserver).

        Writes a CRI-format log file and a KWOK ``Logs`` object named like the pod. Append
        more lines later with :meth:`append_pod_logs` (``follow=true`` readers see them).
        """
        from kubernetes import client

        state = self._need_state()
        log_dir = state / "kwok" / "logs" / namespace
        log_dir.mkdir(parents=True, exist_ok=True)
        path = log_dir / f"{pod}{'_' + container if container else ''}.log"
        path.write_text("")
        self.append_pod_logs(path, lines, stream)
        entry: dict[str, Any] = {"logsFile": str(path)}
        if container:
            entry["containers"] = [container]
        api = client.CustomObjectsApi(api_client)
        body = {
            "apiVersion": "kwok.x-k8s.io/v1alpha1",
            "kind": "Logs",
            "metadata": {"name": pod, "namespace": namespace},
            "spec": {"logs": [entry]},
        }
        try:
            api.create_namespaced_custom_object(
                "kwok.x-k8s.io", "v1alpha1", namespace, "logs", body
            )
        except client.ApiException as exc:
            if exc.status != 409:
                raise
            current = api.get_namespaced_custom_object(
                "kwok.x-k8s.io", "v1alpha1", namespace, "logs", pod
            )
            logs = [
                e for e in current["spec"]["logs"] if e.get("containers") != entry.get("containers")
            ]
            current["spec"]["logs"] = [*logs, entry]
            api.replace_namespaced_custom_object(
                "kwok.x-k8s.io", "v1alpha1", namespace, "logs", pod, current
            )
        return path

    @staticmethod
    def append_pod_logs(path: Path, lines: list[str] | str, stream: str = "stdout") -> None:
        """Append lines to a log file made by :meth:`set_pod_logs`, in CRI format."""
        if isinstance(lines, str):
            lines = lines.splitlines()
        with open(path, "a") as f:
            for line in lines:
                now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                f.write(f"{now} {stream} F {line}\n")


# --- session cluster ----------------------------------------------------------------------


def _run_script(name: str, env: dict[str, str], log_dir: Path) -> subprocess.CompletedProcess:
    log_dir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        ["bash", str(HERE / name)], env=env, capture_output=True, text=True, check=False
    )
    (log_dir / f"{name}.out").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise RuntimeError(
            f"tests/cluster/{name} failed ({proc.returncode}); last output:\n"
            + "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
        )
    return proc


def _state_dir() -> Path | None:
    """Where the session's cluster keeps its state (None for a cluster not made here)."""
    external = os.environ.get("JKF_CLUSTER_KUBECONFIG")
    if external:
        env_file = Path(external).resolve().parent / "cluster.env"
        if not env_file.is_file():
            return None
        return Path(_read_env_file(env_file)["JKF_CLUSTER_DIR"])
    return Path(os.environ.get("JKF_CLUSTER_DIR", DEFAULT_DIR)).resolve()


def _say(config: pytest.Config) -> Callable[[str], None]:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    return reporter.write_line if reporter is not None else lambda text: None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "apiserver_outage: stops the shared API server; runs while no other session uses the "
        "cluster (tests/cluster/session_lock.py)",
    )


def pytest_collection_finish(session: pytest.Session) -> None:
    """Build the binaries before any test runs when cluster tests are selected, and hold a
    running cluster shared (waiting out an outage test of another session).

    A cold build takes ~20 minutes on 2 cores; done here it is not charged to the first
    test's timeout (pytest-timeout also times fixture setup). Warm, it takes a second.
    """
    config = session.config
    if config.option.collectonly:
        return
    if not any(item.get_closest_marker("cluster") for item in session.items):
        return
    if not os.environ.get("JKF_CLUSTER_KUBECONFIG"):
        _say(config)("tests/cluster: build.sh (no-op when cached; log in tests/cluster/.logs)")
        _run_script("build.sh", dict(os.environ), HERE / ".logs")
    state = _state_dir()
    if state is not None and (state / "ready").is_file():
        session_lock(state, _say(config)).share()


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    """An ``apiserver_outage`` test gets the cluster to itself before its timeout starts
    (outermost wrapper: pytest-timeout's timer starts inside it)."""
    state = _state_dir()
    if (
        item.get_closest_marker("apiserver_outage") is None
        or state is None
        or not (state / "ready").is_file()
    ):
        yield
        return
    with session_lock(state, _say(item.config)).exclusive():
        yield


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    external = os.environ.get("JKF_CLUSTER_KUBECONFIG")
    if external:
        c = Cluster.from_kubeconfig(Path(external), managed=False)
        if c.state_dir is not None:
            c.lock.share()
        yield c
        return
    state = Path(os.environ.get("JKF_CLUSTER_DIR", DEFAULT_DIR)).resolve()
    env = {**os.environ, "JKF_CLUSTER_DIR": str(state)}
    already = (state / "ready").is_file()
    _run_script("build.sh", env, HERE / ".logs")  # normally done at collection time
    up = _run_script("up.sh", env, HERE / ".logs")
    # up.sh says "already running" and changes nothing if a ready cluster is there.
    managed = not (already and "already running" in up.stderr)
    c = Cluster.from_kubeconfig(state / "admin.kubeconfig", managed=managed)
    session_lock(state).share()  # when collection did not (it was not running then)
    try:
        yield c
    finally:
        if managed:
            _run_script("down.sh", env, HERE / ".logs")


@pytest.fixture(scope="session")
def admin_api(cluster: Cluster):
    api = cluster.admin_client()
    yield api
    api.close()


def _require_marker(request: pytest.FixtureRequest) -> None:
    """tests/conftest.py marks the tests that ask for the cluster by name; one that reaches it
    at run time (request.getfixturevalue) must carry the marker itself, or `-m "not cluster"`
    would pick it."""
    if request.node.get_closest_marker("cluster") is None:
        pytest.fail(f"{request.node.nodeid} uses the cluster but is not marked cluster")


def _slug(text: str, limit: int) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:limit].strip("-")


# Pods of a namespace carrying these run on the real node, and only those: the real node is
# tainted, and the API server's PodNodeSelector and PodTolerationRestriction admission plugins
# give every pod of the namespace the node selector and the toleration. The manifests
# jupyter-kf renders stay as they are.
REAL_NODE_ANNOTATIONS = {
    "scheduler.alpha.kubernetes.io/node-selector": "jupyter-kf.test/node=real",
    "scheduler.alpha.kubernetes.io/defaultTolerations": (
        '[{"key": "jupyter-kf.test/real-node", "operator": "Exists", "effect": "NoSchedule"}]'
    ),
}
REAL_NODE = os.environ.get("JKF_NODE_NAME", "jkf-node-0")


@pytest.fixture
def namespace_factory(request: pytest.FixtureRequest, admin_api) -> Iterator[Callable[..., str]]:
    """Factory ``namespace_factory(prefix=None, labels=None, real_node=False) -> name``: fresh
    namespaces, each with its default ServiceAccount, all deleted after the test. With
    ``real_node=True`` the namespace's pods run on the real node (see REAL_NODE_ANNOTATIONS)."""
    from kubernetes import client

    _require_marker(request)

    core = client.CoreV1Api(admin_api)
    made: list[str] = []

    def factory(
        prefix: str | None = None, labels: dict[str, str] | None = None, real_node: bool = False
    ) -> str:
        name = f"t-{_slug(prefix or request.node.name, 40)}-{uuid.uuid4().hex[:6]}"
        meta = client.V1ObjectMeta(
            name=name,
            labels={"jupyter-kf.test": "1", **(labels or {})},
            annotations=REAL_NODE_ANNOTATIONS if real_node else None,
        )
        core.create_namespace(client.V1Namespace(metadata=meta))
        made.append(name)
        # The ServiceAccount admission plugin refuses pods until KCM has made "default".
        wait_for(
            lambda: core.read_namespaced_service_account("default", name),
            60,
            what=f"{name}/default SA",
        )
        return name

    yield factory
    for name in made:
        with contextlib.suppress(client.ApiException):
            core.delete_namespace(name, propagation_policy="Background")


@pytest.fixture
def namespace(namespace_factory: Callable[..., str]) -> str:
    """A fresh namespace for this test, deleted afterwards."""
    return namespace_factory()


def require_real_node(request: pytest.FixtureRequest, admin_api) -> None:
    """Fail (not skip) a test that wants the real node when it is not there and Ready."""
    from kubernetes import client

    if request.node.get_closest_marker("realpods") is None:
        pytest.fail(f"{request.node.nodeid} uses the real node but is not marked realpods")
    try:
        node = client.CoreV1Api(admin_api).read_node(REAL_NODE)
    except client.ApiException as exc:
        pytest.fail(f"the real node {REAL_NODE} is not registered ({exc.status}); JKF_REAL_NODE=0?")
    ready = [c for c in node.status.conditions or [] if c.type == "Ready"]
    if not ready or ready[0].status != "True":
        pytest.fail(f"the real node {REAL_NODE} is not Ready: {ready}")


@pytest.fixture
def real_namespace(request: pytest.FixtureRequest, admin_api, namespace_factory) -> str:
    """A fresh namespace whose pods run on the real node (marker ``realpods``)."""
    require_real_node(request, admin_api)
    return namespace_factory(real_node=True)


@pytest.fixture
def sa_client(
    request: pytest.FixtureRequest, cluster: Cluster, admin_api
) -> Iterator[Callable[..., Any]]:
    """Factory: ``sa_client(namespace, name, create=True, expiration_seconds=3600)``.

    Returns an ``ApiClient`` authenticated as ``system:serviceaccount:<namespace>:<name>``
    with a token from the TokenRequest API (the ServiceAccount is created if missing).
    """
    from kubernetes import client

    _require_marker(request)

    core = client.CoreV1Api(admin_api)
    made: list[Any] = []

    def factory(namespace: str, name: str, create: bool = True, expiration_seconds: int = 3600):
        if create:
            try:
                core.create_namespaced_service_account(
                    namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name=name))
                )
            except client.ApiException as exc:
                if exc.status != 409:
                    raise
        request = client.AuthenticationV1TokenRequest(
            spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=expiration_seconds)
        )
        token = core.create_namespaced_service_account_token(name, namespace, request).status.token
        api = cluster.token_client(token)
        made.append(api)
        return api

    yield factory
    for api in made:
        api.close()
