"""Read your writes: the cache holds an object this process just wrote (the API server's
answer) before the watch reports it, and never brings back one the watch has already seen
go. The watch is held back by a silent proxy, so the order is certain, not a race."""

from __future__ import annotations

import functools
import json

import pytest
from kubernetes import client as k8s

from jupyter_kf.k8s import Informer
from tests.support.waiting import wait_for

pytestmark = pytest.mark.cluster


def pod(name: str) -> dict:
    return {"metadata": {"name": name}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


def create(core: k8s.CoreV1Api, namespace: str, name: str) -> dict:
    """The API server's answer to the create, as raw JSON (what the backend gets)."""
    response = core.create_namespaced_pod(namespace, pod(name), _preload_content=False)
    return json.loads(response.data)


def test_a_write_is_read_before_its_watch_event_and_a_passed_one_is_not_revived(
    behind_proxy, admin_api, namespace
):
    proxy, api = behind_proxy
    core = k8s.CoreV1Api(admin_api)
    seen: list[tuple[str, str]] = []
    informer = Informer(
        functools.partial(k8s.CoreV1Api(api).list_namespaced_pod, namespace),
        resource="pods",
        namespace=namespace,
        on_change=lambda kind, obj: seen.append((kind, obj["metadata"]["name"])),
    ).start()
    try:
        proxy.freeze()  # the watch hears nothing more; the cache still counts as synced
        written = create(core, namespace, "mine")
        assert informer.get("mine") is None  # not from the watch: it is silent
        assert informer.learn(written) is True
        assert informer.get("mine") == written
        assert ("ADDED", "mine") in seen  # listeners hear of it as of a watch event

        core.delete_namespaced_pod("mine", namespace, grace_period_seconds=0)
        proxy.thaw()  # the watch now reports ADDED and DELETED: the delete wins
        wait_for(lambda: informer.get("mine") is None, 30, 0.05, what="the delete, cached")
        # The watch has passed that revision: learning it again would make a ghost.
        assert informer.learn(written) is False
        assert informer.get("mine") is None

        # An answer older than what the watch has reported is not stored either.
        older = create(core, namespace, "twice")
        core.patch_namespaced_pod("twice", namespace, {"metadata": {"labels": {"v": "2"}}})
        wait_for(
            lambda: ((informer.get("twice") or {}).get("metadata") or {}).get("labels"),
            30,
            0.05,
            what="the patched pod, cached",
        )
        assert informer.learn(older) is False
        assert informer.get("twice")["metadata"]["labels"] == {"v": "2"}
    finally:
        proxy.thaw()
        informer.stop()


def test_nothing_is_learned_before_the_cache_has_listed(admin_api, namespace):
    """An informer that has not listed (or lost its watch) has no revision to compare with."""
    core = k8s.CoreV1Api(admin_api)
    informer = Informer(
        functools.partial(core.list_namespaced_pod, namespace),
        resource="pods",
        namespace=namespace,
    )
    written = create(core, namespace, "early")
    assert informer.learn(written) is False
    informer.start()
    try:
        wait_for(lambda: informer.get("early") is not None, 30, 0.05, what="the listed pod")
    finally:
        informer.stop()
