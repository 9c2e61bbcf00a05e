"""Fixtures of the door's tests: a fault-injecting proxy in front of the real API server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kubernetes import client as k8s

from .proxy import FaultyProxy, notebook_behind_proxy


@pytest.fixture
def behind_proxy(
    cluster, admin_api, namespace, sa_client
) -> Iterator[tuple[FaultyProxy, k8s.ApiClient]]:
    """(a proxy in front of the API server, an API client through it with a notebook's
    ServiceAccount's rights in ``namespace``)."""
    proxy, api = notebook_behind_proxy(cluster, admin_api, namespace, sa_client)
    yield proxy, api
    proxy.thaw()
    api.close()
    proxy.close()
