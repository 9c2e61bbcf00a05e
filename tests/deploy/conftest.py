"""deploy/ applied to the real control plane from tests/cluster, as a cluster operator
would: `kubectl apply --server-side -k deploy/` with the cluster's own kubectl (kustomize
built in), then the hub's ServiceAccount token from the TokenRequest API."""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path

import pytest
import yaml
from kubernetes import client as k8s

from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
HUB_NAMESPACE, HUB_SA = "jupyterhub", "hub"
HUB_USER = f"system:serviceaccount:{HUB_NAMESPACE}:{HUB_SA}"


def load_all(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def rendered(cluster, target: Path | str) -> list[dict]:
    """What `kubectl kustomize` makes of a kustomization (the objects apply would send)."""
    out = cluster.kubectl("kustomize", str(target)).stdout
    return [d for d in yaml.safe_load_all(out) if d]


@pytest.fixture(scope="session")
def deployed(cluster, admin_api):
    """deploy/ applied for real, and the Secret deploy/README.md tells people to create."""
    proc = cluster.kubectl("apply", "--server-side", "-k", str(DEPLOY), check=False)
    assert proc.returncode == 0, proc.stderr
    core = k8s.CoreV1Api(admin_api)
    secret = k8s.V1Secret(
        metadata=k8s.V1ObjectMeta(name="jupyterhub-secrets"),
        string_data={"proxy-token": "0" * 64, "cookie-secret": "1" * 64, "crypt-key": "2" * 64},
    )
    with contextlib.suppress(k8s.ApiException):
        core.create_namespaced_secret(HUB_NAMESPACE, secret)
    yield proc.stdout
    # Leave nothing behind for other test modules on a shared cluster: the admission policy
    # only concerns the hub's identity, but the namespace and roles go too.
    cluster.kubectl("delete", "-k", str(DEPLOY), "--ignore-not-found", "--timeout=90s", check=False)


@pytest.fixture(scope="session")
def hub_token(cluster, deployed, admin_api) -> str:
    core = k8s.CoreV1Api(admin_api)
    request = k8s.AuthenticationV1TokenRequest(
        spec=k8s.V1TokenRequestSpec(audiences=[], expiration_seconds=3600)
    )
    token = core.create_namespaced_service_account_token(
        HUB_SA, HUB_NAMESPACE, request
    ).status.token
    # A freshly applied ValidatingAdmissionPolicy takes effect once the API server's policy
    # informer has seen it and its binding (about a second): wait for it to bite.
    api = cluster.token_client(token)
    hub_core = k8s.CoreV1Api(api)

    def enforced() -> bool:
        try:
            hub_core.create_namespaced_service_account(
                "kube-system", {"metadata": {"name": "probe"}}, dry_run="All"
            )
        except k8s.ApiException as exc:
            return exc.status == 403 and "jupyter-kf-hub-scope" in exc.body
        return False

    wait_for(enforced, 30, what="the admission policy to take effect")
    api.close()
    return token


@pytest.fixture
def hub_api(cluster, hub_token):
    api = cluster.token_client(hub_token)
    yield api
    api.close()


@pytest.fixture(scope="session")
def hub_kubeconfig(cluster, hub_token, tmp_path_factory) -> Path:
    """A kubeconfig holding only the hub ServiceAccount's token (what the spawner loads)."""
    ca = cluster.ca_file or Path(cluster.admin_client().configuration.ssl_ca_cert)
    cfg = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "hub",
        "clusters": [
            {
                "name": "c",
                "cluster": {"server": cluster.api_server, "certificate-authority": str(ca)},
            }
        ],
        "users": [{"name": "hub", "user": {"token": hub_token}}],
        "contexts": [
            {"name": "hub", "context": {"cluster": "c", "user": "hub", "namespace": HUB_NAMESPACE}}
        ],
    }
    path = tmp_path_factory.mktemp("hub") / "kubeconfig"
    path.write_text(yaml.safe_dump(cfg))
    return path


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)
