"""The `kubeflow` spawner, configured by deploy/hub/jupyterhub_config.py and running as
the hub's ServiceAccount from deploy/rbac (a real token: the API server decides), spawns
users end to end; each user's notebook identity then runs a training job through
jupyter-kf with the Role from deploy/ and cannot see another user's jobs or logs."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import pytest
from kubernetes import client as k8s
from traitlets.config import Config

from jupyter_kf import Client
from jupyter_kf.backends.kubernetes import KubernetesBackend
from jupyter_kf.errors import ForbiddenError
from jupyter_kf.jobs import Code, JobSpec
from tests.support.images import IMAGE
from tests.support.waiting import wait_for

from .conftest import DEPLOY

pytestmark = pytest.mark.cluster

CONFIG = DEPLOY / "hub" / "jupyterhub_config.py"


def load_hub_config(monkeypatch, **env) -> Config:
    """deploy/'s jupyterhub_config.py, evaluated as JupyterHub evaluates it."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    cfg = Config()
    code = compile(CONFIG.read_text(), str(CONFIG), "exec")
    exec(code, {"get_config": lambda: cfg, "__file__": str(CONFIG)})
    return cfg


class FakeUser:
    """What the hub hands a spawner about its user (kubespawner's tests do the same)."""

    def __init__(self, name):
        from jupyterhub.objects import Server

        self.name = self.escaped_name = name
        self.id = abs(hash(name)) % 10_000
        self.groups = []
        self.server = Server(base_url=f"/user/{name}/")
        self.url = f"/user/{name}/"
        self.settings = {}

    def progress_url(self, server_name=""):
        return f"/hub/api/users/{self.name}/server/progress"


def make_spawner(cfg: Config, user: str):
    from jupyterhub.objects import Hub

    from jupyter_kf.hub import KubeflowSpawner

    return KubeflowSpawner(
        config=cfg,
        user=FakeUser(user),
        hub=Hub(),
        api_token=uuid.uuid4().hex,
        oauth_client_id=f"jupyterhub-user-{user}",
    )


def home_volume(admin_api, sp) -> str:
    names = sp.names
    name = f"pv-{names['namespace']}-{names['pvc_name']}"[:63]
    k8s.CoreV1Api(admin_api).create_persistent_volume(
        {
            "metadata": {"name": name},
            "spec": {
                "capacity": {"storage": sp.storage_capacity},
                "accessModes": ["ReadWriteOnce"],
                "storageClassName": "",
                "persistentVolumeReclaimPolicy": "Delete",
                "hostPath": {"path": f"/tmp/{name}"},
                "claimRef": {"namespace": names["namespace"], "name": names["pvc_name"]},
            },
        }
    )
    return name


@pytest.fixture
def hub_config(monkeypatch, hub_kubeconfig):
    run_id = uuid.uuid4().hex[:6]
    cfg = load_hub_config(
        monkeypatch, JUPYTER_KF_NOTEBOOK_IMAGE=IMAGE, JUPYTER_KF_NAMESPACE_PREFIX=f"t-{run_id}-"
    )
    spawner_cfg = cfg.KubeflowSpawner
    spawner_cfg.kubeconfig = str(hub_kubeconfig)  # the hub's ServiceAccount token only
    spawner_cfg.hub_id = f"deploy-test-{run_id}"
    spawner_cfg.start_timeout = 60
    spawner_cfg.k8s_api_retry_seconds = 5.0
    spawner_cfg.storage_class = ""  # no provisioner here: the test pre-binds a PV (home_volume)
    spawner_cfg.extra_annotations = {"jupyter-kf.test/outcome": "run"}  # KWOK: keep the pod running
    return cfg


def test_the_deploy_config_selects_the_kubeflow_spawner_and_culler(hub_config):
    assert hub_config.JupyterHub.spawner_class == "kubeflow"
    (culler,) = hub_config.JupyterHub.services
    assert culler["name"] == "jupyterhub-idle-culler"
    assert culler["command"][1:3] == ["-m", "jupyterhub_idle_culler"]
    (role,) = hub_config.JupyterHub.load_roles
    assert set(role["scopes"]) == {
        "list:users",
        "read:users:activity",
        "read:servers",
        "delete:servers",
    }


def test_spawn_two_users_and_each_trains_alone(hub_config, hub_api, admin_api, sa_client, cluster):
    core = k8s.CoreV1Api(admin_api)
    alice, bob = make_spawner(hub_config, "alice"), make_spawner(hub_config, "bob")

    # The test cluster has no volume provisioner: give each home PVC a PV, pre-bound to it,
    # as an administrator would (KWOK mounts nothing; the scheduler only needs it bound).
    pvs = [home_volume(admin_api, sp) for sp in (alice, bob)]

    async def spawn_both():
        return await asyncio.gather(alice.start(), bob.start())

    loop = asyncio.new_event_loop()
    try:
        urls = loop.run_until_complete(spawn_both())
        assert all(u.startswith("http://") and u.endswith(":8888") for u in urls)
        assert loop.run_until_complete(alice.poll()) is None

        users = {}
        for sp in (alice, bob):
            names = sp.names
            ns, sa = names["namespace"], names["service_account"]
            pod = core.read_namespaced_pod(names["pod_name"], ns)
            assert pod.spec.service_account_name == sa
            (rb,) = [
                b
                for b in k8s.RbacAuthorizationV1Api(admin_api)
                .list_namespaced_role_binding(ns)
                .items
                if any(s.name == sa for s in b.subjects or [])
            ]
            assert (rb.role_ref.kind, rb.role_ref.name) == ("ClusterRole", "jupyter-kf-user")
            # The notebook's identity, as the pod would have it.
            api = sa_client(ns, sa, create=False)
            users[sp.user.name] = (
                ns,
                Client(KubernetesBackend(api_client=api, namespace=ns, image=IMAGE)),
                api,
            )

        (a_ns, a, _), (_, b, b_api) = users["alice"], users["bob"]
        a.submit(
            JobSpec.create(
                "pytorch", name="train", workers=1, code=Code("print('epoch=1 loss=0.5')\n")
            )
        )
        wait_for(lambda: a.get("train").phase == "Succeeded", 90, what="alice's job to succeed")
        cluster.set_pod_logs(admin_api, a_ns, "train-master-0", ["epoch=1 loss=0.5"])
        wait_for(lambda: "loss=0.5" in "".join(a.logs("train")), 30, what="logs")

        # Bob's notebook identity, aimed at Alice's namespace.
        intruder = Client(KubernetesBackend(api_client=b_api, namespace=a_ns, image=IMAGE))
        for call in (
            lambda: intruder.list(),
            lambda: intruder.get("train"),
            lambda: list(intruder.logs("train")),
            lambda: intruder.delete("train"),
        ):
            with pytest.raises(ForbiddenError):
                call()
        assert a.get("train").phase == "Succeeded"
        for c in (a, b):
            c.close()

        async def stop_both():
            await asyncio.gather(alice.stop(), bob.stop())

        loop.run_until_complete(stop_both())
        assert loop.run_until_complete(alice.poll()) == 1
        loop.run_until_complete(alice.delete_forever())
    finally:
        loop.close()
        for pv in pvs:
            with contextlib.suppress(k8s.ApiException):
                core.delete_persistent_volume(pv)
        for sp in (alice, bob):
            with contextlib.suppress(k8s.ApiException):  # 404: never made
                core.delete_namespace(sp.names["namespace"], propagation_policy="Background")
