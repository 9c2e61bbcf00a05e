"""The one door to the Kubernetes API (jupyter_kf.k8s.api) against the real API server,
behind a proxy that injects faults: what is retried, what is not, and that causes are kept."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from jupyter_kf.errors import BackendUnavailableError, ConflictError, ForbiddenError
from jupyter_kf.k8s import acall, call, open_stream

from .proxy import Fault, FaultyProxy, notebook_behind_proxy

pytestmark = pytest.mark.cluster


class Door:
    """A notebook user's API client that reaches the API server through ``proxy``."""

    def __init__(self, namespace: str, proxy: FaultyProxy, api: k8s.ApiClient):
        self.namespace, self.proxy, self.api = namespace, proxy, api
        self.core = k8s.CoreV1Api(api)
        self.pods = f"/api/v1/namespaces/{namespace}/pods"


@pytest.fixture
def door(cluster, admin_api, namespace, sa_client) -> Iterator[Door]:
    proxy, api = notebook_behind_proxy(cluster, admin_api, namespace, sa_client)
    yield Door(namespace, proxy, api)
    api.close()
    proxy.close()


def list_pods(door: Door) -> dict:
    return call(
        door.core.list_namespaced_pod,
        door.namespace,
        verb="list",
        resource="pods",
        namespace=door.namespace,
        raw=True,
    )


def test_503_then_200_is_retried(door):
    door.proxy.fail("GET", door.pods, Fault(2, 503, {"Retry-After": "1"}))
    started = time.monotonic()
    body = list_pods(door)
    assert body["kind"] == "PodList"  # raw JSON, not the client's models
    assert door.proxy.attempts("GET", door.pods) == 3
    assert time.monotonic() - started >= 1.9  # it waited as Retry-After asked, twice


def test_403_is_not_retried_and_keeps_its_cause(door):
    secrets = f"/api/v1/namespaces/{door.namespace}/secrets"  # not in the user's Role
    with pytest.raises(ForbiddenError, match="forbidden: you may not list secrets") as err:
        call(
            door.core.list_namespaced_secret,
            door.namespace,
            verb="list",
            resource="secrets",
            namespace=door.namespace,
            raw=True,
        )
    assert isinstance(err.value.__cause__, ApiException)
    assert err.value.__cause__.status == 403
    assert door.proxy.attempts("GET", secrets) == 1


def test_injected_403_is_not_retried(door):
    door.proxy.fail("GET", door.pods, Fault(1, 403))
    with pytest.raises(ForbiddenError) as err:
        list_pods(door)
    assert err.value.__cause__.status == 403
    assert door.proxy.attempts("GET", door.pods) == 1


def test_429_waits_as_long_as_retry_after_says(door):
    door.proxy.fail("GET", door.pods, Fault(1, 429, {"Retry-After": "2"}))
    started = time.monotonic()
    list_pods(door)
    waited = time.monotonic() - started
    assert door.proxy.attempts("GET", door.pods) == 2
    assert 1.9 <= waited < 4.0


def test_retry_after_is_capped(door):
    door.proxy.fail("GET", door.pods, Fault(1, 503, {"Retry-After": "3600"}))
    started = time.monotonic()
    list_pods(door)
    assert time.monotonic() - started < 15  # the cap (10 s), not an hour


def test_a_dropped_connection_is_retried(door):
    # urllib3 retries nothing itself (own_retries): each drop is one of the door's attempts.
    door.proxy.fail("GET", door.pods, Fault(5, drop=True))
    assert list_pods(door)["kind"] == "PodList"
    assert door.proxy.attempts("GET", door.pods) == 6


def test_persistent_503_gives_up_with_the_cause(door):
    door.proxy.fail("GET", door.pods, Fault(100, 503))
    with pytest.raises(BackendUnavailableError, match="503") as err:
        list_pods(door)
    assert err.value.__cause__.status == 503
    assert door.proxy.attempts("GET", door.pods) == 6  # the policy's attempts, then no more


def configmap(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {}}


def create_configmap(door: Door, name: str) -> dict:
    return call(
        door.core.create_namespaced_config_map,
        door.namespace,
        configmap(name),
        verb="create",
        resource="configmaps",
        namespace=door.namespace,
        name=name,
        raw=True,
    )


def test_a_create_that_may_have_happened_is_not_retried(door):
    path = f"/api/v1/namespaces/{door.namespace}/configmaps"
    door.proxy.fail("POST", path, Fault(1, 500))
    with pytest.raises(BackendUnavailableError) as err:
        create_configmap(door, "maybe")
    assert err.value.__cause__.status == 500
    assert door.proxy.attempts("POST", path) == 1


def test_a_create_turned_away_by_429_is_retried_once_made(door):
    path = f"/api/v1/namespaces/{door.namespace}/configmaps"
    door.proxy.fail("POST", path, Fault(1, 429, {"Retry-After": "1"}))
    made = create_configmap(door, "later")
    assert made["metadata"]["name"] == "later"
    assert door.proxy.attempts("POST", path) == 2
    with pytest.raises(ConflictError):  # and a real conflict is still one
        create_configmap(door, "later")


def test_ok_statuses_return_none(door):
    got = call(
        door.core.read_namespaced_config_map,
        "missing",
        door.namespace,
        verb="get",
        resource="configmaps",
        namespace=door.namespace,
        name="missing",
        raw=True,
        ok=(404,),
    )
    assert got is None


def test_async_call_retries_and_translates(door):
    door.proxy.fail("GET", door.pods, Fault(2, 503))
    body = asyncio.run(
        acall(
            door.core.list_namespaced_pod,
            door.namespace,
            verb="list",
            resource="pods",
            namespace=door.namespace,
            raw=True,
        )
    )
    assert body["kind"] == "PodList"
    assert door.proxy.attempts("GET", door.pods) == 3
    secrets = f"/api/v1/namespaces/{door.namespace}/secrets"
    with pytest.raises(ForbiddenError) as err:
        asyncio.run(
            acall(
                door.core.list_namespaced_secret,
                door.namespace,
                verb="list",
                resource="secrets",
                namespace=door.namespace,
            )
        )
    assert err.value.__cause__.status == 403
    assert door.proxy.attempts("GET", secrets) == 1


def test_async_waits_without_blocking_the_loop(door):
    door.proxy.fail("GET", door.pods, Fault(1, 429, {"Retry-After": "2"}))
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.1)
            ticks += 1

    async def main() -> dict:
        task = asyncio.create_task(ticker())
        try:
            return await acall(
                door.core.list_namespaced_pod,
                door.namespace,
                verb="list",
                resource="pods",
                namespace=door.namespace,
                raw=True,
            )
        finally:
            task.cancel()

    assert asyncio.run(main())["kind"] == "PodList"
    assert ticks >= 15  # the loop ran on while the call waited ~2 s


def test_a_stream_opens_through_faults(door):
    door.proxy.fail("GET", door.pods, Fault(1, 503))
    response = open_stream(
        door.core.list_namespaced_pod,
        door.namespace,
        verb="watch",
        resource="pods",
        namespace=door.namespace,
        watch=True,
        timeout_seconds=1,
    )
    try:
        assert response.status == 200
    finally:
        response.close()
    assert door.proxy.attempts("GET", door.pods) == 2
