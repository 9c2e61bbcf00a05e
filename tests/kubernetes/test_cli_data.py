"""``jupyter kf submit`` with the data flags against the real control plane, as a notebook user
(its own ServiceAccount and Role): the PyTorchJob's pod templates carry the Secret as a
``secretKeyRef`` (a reference, no value), /dev/shm as a Memory emptyDir of the asked size and
the claim as a read-only volume; a Secret of another namespace is refused before anything
reaches the API server, in the words the magic, REST and the form use."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from kubernetes import client as k8s

from tests.notebook.test_notebook_cluster import user_kubeconfig
from tests.support.data_inputs import BAD_DATA
from tests.support.images import IMAGE

pytestmark = [pytest.mark.cluster]

JUPYTER = Path(sys.executable).with_name("jupyter")
FOREIGN = next(c for c in BAD_DATA if c[0] == "secret-env-other-namespace")


def test_submit_puts_secret_env_shm_and_volume_in_the_pod_templates(
    tmp_path, cluster, user, admin_api
):
    core = k8s.CoreV1Api(admin_api)
    core.create_namespaced_persistent_volume_claim(
        user.namespace,
        {
            "metadata": {"name": "datasets"},
            "spec": {
                "accessModes": ["ReadWriteMany"],
                "storageClassName": "",
                "resources": {"requests": {"storage": "1Gi"}},
            },
        },
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_")}
    kubeconfig = user_kubeconfig(tmp_path / "kubeconfig", cluster, user.api, user.namespace)
    env.update(KUBECONFIG=kubeconfig, JUPYTER_KF_IMAGE=IMAGE)
    script = tmp_path / "train.py"
    script.write_text("print('hi')\n")

    def kf(*argv: str) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [str(JUPYTER), "kf", "--backend", "kubernetes", "submit", str(script), *argv],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        assert "Traceback" not in done.stderr, done.stderr
        return done

    refused = kf("--name", "foreign", "--framework", "pytorch", *FOREIGN[1])
    assert refused.returncode == 2 and FOREIGN[3] in refused.stderr, refused.stderr
    assert user.client.list() == []

    done = kf(
        "--name", "data", "--framework", "pytorch", "--workers", "2",
        "--secret-env", "WANDB_API_KEY=wandb:token", "--shm", "1Gi",
        "--volume", "datasets:/data:ro",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "submitted PyTorchJob data (2 workers)" in done.stdout
    cr = k8s.CustomObjectsApi(admin_api).get_namespaced_custom_object(
        "kubeflow.org", "v1", user.namespace, "pytorchjobs", "data"
    )
    for role, replica in cr["spec"]["pytorchReplicaSpecs"].items():
        pod = replica["template"]["spec"]
        [main] = [c for c in pod["containers"] if c["name"] == "pytorch"]
        secret_vars = [e for e in main["env"] if e["name"] == "WANDB_API_KEY"]
        assert secret_vars == [
            {
                "name": "WANDB_API_KEY",
                "valueFrom": {"secretKeyRef": {"name": "wandb", "key": "token"}},
            }
        ], role
        volumes = {v["name"]: v for v in pod["volumes"]}
        mounts = {m["mountPath"]: m for m in main["volumeMounts"]}
        shm = volumes[mounts["/dev/shm"]["name"]]
        assert shm["emptyDir"] == {"medium": "Memory", "sizeLimit": "1Gi"}, role
        data = volumes[mounts["/data"]["name"]]
        assert data["persistentVolumeClaim"] == {"claimName": "datasets", "readOnly": True}, role
        assert mounts["/data"]["readOnly"] is True
