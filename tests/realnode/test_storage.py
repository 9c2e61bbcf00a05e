"""Data in, results out, on the real node: a job reads a dataset from the user's home claim (a
PersistentVolume on a host folder, bound to the user's PVC), reads a Secret of the user's
namespace through env, writes a checkpoint to JKF_OUTPUT_DIR, and the notebook reads it back
with ``client.outputs``; the notebook here is this test process, which sees the claim's folder
at the same path the job's pods mount it, as a notebook pod sees its home.

Secrets stay namespace-local: a secretKeyRef has no namespace field, so the kubelet resolves
it in the pod's own namespace, and a job naming a Secret that only another namespace has
never starts (CreateContainerConfigError); a namespace smuggled into a raw CR's secretKeyRef
is dropped by the API server (pruned: the schema has no such field).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kubernetes import client as k8s

from jupyter_kf import Client, InvalidSpecError
from jupyter_kf.backends.kubernetes import KubernetesBackend
from jupyter_kf.jobs import Code, JobSpec
from jupyter_kf.jobs.explain import explain
from tests.support.images import PYTHON_IMAGE
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.realpods]

TRAIN = """
import json, os, pathlib
home = pathlib.Path(os.environ["JKF_HOME"])
rows = (home / "dataset" / "train.csv").read_text().splitlines()
out = pathlib.Path(os.environ["JKF_OUTPUT_DIR"])
(out / "model.json").write_text(json.dumps({
    "rows": len(rows),
    "token": os.environ["TRACKER_TOKEN"],
    "backend": os.environ["JKF_DIST_BACKEND"],
    "shm": os.path.ismount("/dev/shm"),
}))
print("wrote", out / "model.json")
"""


def home_claim(admin_api, namespace: str, folder: Path, modes: list[str]) -> str:
    """A PVC in ``namespace`` bound to a PersistentVolume on ``folder`` (host path)."""
    core = k8s.CoreV1Api(admin_api)
    claim = "claim-user"
    pv = f"jkf-{namespace}"[:63]
    core.create_persistent_volume(
        {
            "metadata": {"name": pv},
            "spec": {
                "capacity": {"storage": "1Gi"},
                "accessModes": modes,
                "storageClassName": "",
                "persistentVolumeReclaimPolicy": "Retain",
                "hostPath": {"path": str(folder), "type": "Directory"},
                "claimRef": {"namespace": namespace, "name": claim},
            },
        }
    )
    core.create_namespaced_persistent_volume_claim(
        namespace,
        {
            "metadata": {"name": claim},
            "spec": {
                "accessModes": modes,
                "storageClassName": "",
                "volumeName": pv,
                "resources": {"requests": {"storage": "1Gi"}},
            },
        },
    )
    wait_for(
        lambda: (
            core.read_namespaced_persistent_volume_claim(claim, namespace).status.phase == "Bound"
        ),
        timeout=60,
        what=f"PVC {claim} bound",
    )
    return claim


@pytest.fixture
def pvs(admin_api):
    core = k8s.CoreV1Api(admin_api)
    before = {pv.metadata.name for pv in core.list_persistent_volume().items}
    yield
    for pv in core.list_persistent_volume().items:
        if pv.metadata.name not in before:
            core.delete_persistent_volume(pv.metadata.name)


def client_with_home(user, claim: str, mount: Path) -> Client:
    return Client(
        KubernetesBackend(
            api_client=user.api,
            namespace=user.namespace,
            image=PYTHON_IMAGE,
            home_claim=claim,
            home_mount=str(mount),
        )
    )


@pytest.mark.parametrize("runtime", [None, "torch-distributed"], ids=["PyTorchJob", "TrainJob"])
def test_dataset_in_secret_in_checkpoint_back(real_user, admin_api, pvs, tmp_path, runtime):
    folder = tmp_path / "home"
    (folder / "dataset").mkdir(parents=True)
    (folder / "dataset" / "train.csv").write_text("x,y\n1,2\n3,4\n5,6\n")
    ns = real_user.namespace
    claim = home_claim(admin_api, ns, folder, ["ReadWriteMany"])
    k8s.CoreV1Api(admin_api).create_namespaced_secret(
        ns, {"metadata": {"name": "tracker"}, "stringData": {"token": "tok-123"}}
    )
    c = client_with_home(real_user, claim, folder)
    try:
        spec = JobSpec.create(
            None if runtime is None else "TrainJob",
            name="ckpt",
            code=Code(TRAIN),
            home=True,
            shm="64Mi",
            secret_env={"TRACKER_TOKEN": "tracker:token"},
            runtime=runtime,
        )
        c.submit(spec)
        job = c.wait("ckpt", conditions=("Succeeded", "Failed"), timeout=300)
        assert job.phase == "Succeeded", f"{explain(job)}\n" + "\n".join(c.logs("ckpt"))
        outs = c.outputs("ckpt")
        assert outs.location == f"claim {claim!r}, folder jupyter-kf/outputs/ckpt", outs
        assert [f.path for f in outs.files] == ["model.json"], outs
        assert json.loads(outs.read_text("model.json")) == {
            "rows": 4,
            "token": "tok-123",
            "backend": "gloo",
            "shm": True,
        }
        # What the API server keeps names the Secret, never its value.
        assert "tok-123" not in json.dumps(c.get("ckpt").spec.to_dict())
    finally:
        c.close()


def test_a_secret_of_another_namespace_cannot_be_read(real_user, admin_api, namespace_factory):
    core = k8s.CoreV1Api(admin_api)
    other = namespace_factory("victim")
    core.create_namespaced_secret(
        other, {"metadata": {"name": "foreign"}, "stringData": {"token": "theirs"}}
    )
    c = real_user.client
    # Our validation refuses a namespace-qualified reference before anything is sent.
    with pytest.raises(InvalidSpecError, match="names another namespace"):
        c.submit(name="steal", code=Code("pass"), secret_env={"T": f"{other}/foreign:token"})
    # A reference by name resolves in the job's own namespace, where there is no such Secret:
    # the kubelet will not start the container.
    c.submit(
        name="steal",
        code=Code("import os; print('GOT', os.environ['T'])"),
        secret_env={"T": "foreign:token"},
    )

    def config_error():
        pods = core.list_namespaced_pod(real_user.namespace).items
        for pod in pods:
            for st in pod.status.container_statuses or ():
                waiting = st.state.waiting
                if waiting and waiting.reason == "CreateContainerConfigError":
                    return waiting.message
        return None

    message = wait_for(config_error, timeout=120, what="CreateContainerConfigError")
    assert 'secret "foreign" not found' in message, message
    assert not any("GOT" in line for line in c.logs("steal"))
    # A raw CR that names a namespace in its secretKeyRef: the API server drops the field
    # (the pod template's schema has none), so it too resolves in the job's own namespace.
    custom = k8s.CustomObjectsApi(real_user.api)
    cr = {
        "apiVersion": "kubeflow.org/v1",
        "kind": "PyTorchJob",
        "metadata": {"name": "raw"},
        "spec": {
            "runPolicy": {},
            "pytorchReplicaSpecs": {
                "Master": {
                    "replicas": 1,
                    "template": {
                        "spec": {
                            "containers": [
                                {
                                    "name": "pytorch",
                                    "image": PYTHON_IMAGE,
                                    "command": ["python", "-c", "1"],
                                    "env": [
                                        {
                                            "name": "T",
                                            "valueFrom": {
                                                "secretKeyRef": {
                                                    "name": "foreign",
                                                    "key": "token",
                                                    "namespace": other,
                                                }
                                            },
                                        }
                                    ],
                                }
                            ]
                        }
                    },
                }
            },
        },
    }
    made = custom.create_namespaced_custom_object(
        "kubeflow.org", "v1", real_user.namespace, "pytorchjobs", cr
    )
    env = made["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["containers"][0]["env"]
    assert env[0]["valueFrom"]["secretKeyRef"] == {"name": "foreign", "key": "token"}
    # And the user cannot read the other namespace's Secret directly (403).
    with pytest.raises(k8s.ApiException) as err:
        k8s.CoreV1Api(real_user.api).read_namespaced_secret("foreign", other)
    assert err.value.status == 403


def test_home_and_claims_that_cannot_be_shared_are_refused(user, admin_api, pvs, tmp_path):
    folder = tmp_path / "home"
    folder.mkdir()
    claim = home_claim(admin_api, user.namespace, folder, ["ReadWriteOnce"])
    c = client_with_home(user, claim, folder)
    try:
        with pytest.raises(InvalidSpecError) as err:
            c.submit(
                name="j",
                code=Code("pass"),
                home=True,
                volumes=["not-mine:/data"],
            )
        text = str(err.value)
        assert f"your home volume {claim!r} is ReadWriteOnce" in text, text
        assert "a job cannot share it" in text
        assert f"no PersistentVolumeClaim 'not-mine' in namespace {user.namespace!r}" in text
        assert c.list() == []
    finally:
        c.close()
