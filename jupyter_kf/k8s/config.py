"""How jupyter-kf reaches the API server: in-cluster ServiceAccount, kubeconfig, or token."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from kubernetes import client, config

from ..errors import BackendUnavailableError
from .api import own_retries

SA_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


@dataclass(frozen=True)
class ClusterConfig:
    """Explicit settings; anything left None is found the usual way."""

    kubeconfig: str | None = None
    context: str | None = None
    host: str | None = None  # with token: talk to this API server as that token
    token: str | None = None
    ca_file: str | None = None


def cluster_configured() -> bool:
    """Whether a cluster is reachable by configuration: in a pod, or a kubeconfig exists."""
    if os.environ.get("KUBERNETES_SERVICE_HOST") and (SA_DIR / "token").exists():
        return True
    paths = os.environ.get("KUBECONFIG", str(Path.home() / ".kube" / "config"))
    return any(Path(p).expanduser().is_file() for p in paths.split(os.pathsep) if p)


def load_api_client(cfg: ClusterConfig | None = None) -> tuple[client.ApiClient, str]:
    """An ApiClient and the namespace to use by default.

    The default namespace is ``$JUPYTER_KF_NAMESPACE`` when set (the spawner sets it in
    every notebook pod), else the ServiceAccount's or the kubeconfig context's.
    """
    api, namespace = _load(cfg or ClusterConfig())
    return own_retries(api), os.environ.get("JUPYTER_KF_NAMESPACE") or namespace


def _load(cfg: ClusterConfig) -> tuple[client.ApiClient, str]:
    if cfg.host and cfg.token:
        conf = client.Configuration()
        conf.host = cfg.host
        conf.api_key = {"authorization": f"Bearer {cfg.token}"}
        if cfg.ca_file:
            conf.ssl_ca_cert = cfg.ca_file
        return client.ApiClient(conf), "default"
    if (
        cfg.kubeconfig is None
        and os.environ.get("KUBERNETES_SERVICE_HOST")
        and (SA_DIR / "token").exists()
    ):
        conf = client.Configuration()
        config.load_incluster_config(client_configuration=conf)
        namespace = (SA_DIR / "namespace").read_text().strip() or "default"
        return client.ApiClient(conf), namespace
    conf = client.Configuration()
    try:
        config.load_kube_config(
            config_file=cfg.kubeconfig, context=cfg.context, client_configuration=conf
        )
        _, active = config.list_kube_config_contexts(config_file=cfg.kubeconfig)
    except (config.ConfigException, FileNotFoundError, TypeError) as exc:
        raise BackendUnavailableError(
            f"no Kubernetes configuration found ({exc}); set KUBECONFIG, run inside a "
            "cluster, or use the local backend"
        ) from exc
    namespace = "default"
    if cfg.context is None and active:
        namespace = active.get("context", {}).get("namespace") or "default"
    return client.ApiClient(conf), namespace
