"""Which API server and default namespace jupyter-kf picks, from real kubeconfig files."""

from __future__ import annotations

import pytest
import yaml

from jupyter_kf.errors import BackendUnavailableError
from jupyter_kf.k8s.config import ClusterConfig, cluster_configured, load_api_client


def kubeconfig(path, namespace: str | None = None) -> str:
    context = {"cluster": "c", "user": "u", **({"namespace": namespace} if namespace else {})}
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "ctx",
                "clusters": [{"name": "c", "cluster": {"server": "https://203.0.113.7:6443"}}],
                "users": [{"name": "u", "user": {"token": "t0ken"}}],
                "contexts": [{"name": "ctx", "context": context}],
            }
        )
    )
    return str(path)


@pytest.fixture(autouse=True)
def no_ambient_cluster(monkeypatch, tmp_path):
    monkeypatch.delenv("JUPYTER_KF_NAMESPACE", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))


def test_the_context_namespace_is_the_default(tmp_path):
    api, ns = load_api_client(ClusterConfig(kubeconfig=kubeconfig(tmp_path / "k", "team-a")))
    assert ns == "team-a"
    assert api.configuration.host == "https://203.0.113.7:6443"
    assert api.configuration.api_key["authorization"] == "Bearer t0ken"


def test_default_namespace_without_one_in_the_context(tmp_path):
    assert load_api_client(ClusterConfig(kubeconfig=kubeconfig(tmp_path / "k")))[1] == "default"


def test_the_spawners_namespace_variable_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_KF_NAMESPACE", "jupyter-alice")
    path = kubeconfig(tmp_path / "k", "team-a")
    assert load_api_client(ClusterConfig(kubeconfig=path))[1] == "jupyter-alice"
    token = ClusterConfig(host="https://203.0.113.7:6443", token="t")
    assert load_api_client(token)[1] == "jupyter-alice"


def test_no_configuration_is_a_clear_error(tmp_path):
    assert not cluster_configured()
    with pytest.raises(
        BackendUnavailableError, match="no Kubernetes configuration found.*local backend"
    ):
        load_api_client()
    kubeconfig(tmp_path / "absent")  # $KUBECONFIG now names a file
    assert cluster_configured()
