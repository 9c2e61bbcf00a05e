"""Fixtures of the door's tests: a fault-injecting proxy in front of the real API server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kubernetes import client as k8s

from jupyter_kf.k8s import own_retries
from jupyter_kf.k8s.rbac import user_role, user_role_binding

from .proxy import FaultyProxy


@pytest.fixture
def behind_proxy(
    cluster, admin_api, namespace, sa_client
) -> Iterator[tuple[FaultyProxy, k8s.ApiClient]]:
    """(a proxy in front of the API server, an API client through it with a notebook's
    ServiceAccount's rights in ``namespace``)."""
    rbac = k8s.RbacAuthorizationV1Api(admin_api)
    rbac.create_namespaced_role(namespace, user_role(namespace))
    rbac.create_namespaced_role_binding(namespace, user_role_binding(namespace, "notebook"))
    direct = sa_client(namespace, "notebook")
    proxy = FaultyProxy(cluster.api_server, direct.configuration.ssl_ca_cert)
    conf = k8s.Configuration()
    conf.host = proxy.url
    conf.api_key = dict(direct.configuration.api_key)
    conf.api_key_prefix = dict(direct.configuration.api_key_prefix)
    api = own_retries(k8s.ApiClient(conf))
    yield proxy, api
    proxy.thaw()
    api.close()
    proxy.close()
