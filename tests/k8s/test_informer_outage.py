"""How soon the list+watch cache sees the cluster again after an outage that never closes
its connection (a half-open TCP connection, a frozen API server or load balancer): the
proxy goes silent in front of the real API server, which keeps running for everyone else."""

from __future__ import annotations

import functools
import threading
import time

import pytest
from kubernetes import client as k8s

from jupyter_kf.errors import BackendUnavailableError
from jupyter_kf.k8s import Informer
from tests.support.waiting import wait_for

pytestmark = pytest.mark.cluster

STALL = 3.0  # the cache's bound on a watch's silence (90 s by default; bookmarks come each 60 s)
BACKOFF = 5.0  # Informer's max_backoff: the longest pause between two reconnects


def pod(name: str) -> dict:
    return {
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
    }


def test_a_silent_watch_is_noticed_and_the_cache_is_fresh_soon_after(
    behind_proxy, admin_api, namespace
):
    proxy, api = behind_proxy
    core = k8s.CoreV1Api(admin_api)
    informer = Informer(
        functools.partial(k8s.CoreV1Api(api).list_namespaced_pod, namespace),
        resource="pods",
        namespace=namespace,
        stall_seconds=STALL,
    ).start()
    # A healthy watch hears something every moment here (bookmarks alone come each 60 s).
    ticking = threading.Event()

    def tick() -> None:
        n = 0
        while not ticking.wait(0.5):
            n += 1
            core.patch_namespaced_pod("before", namespace, {"metadata": {"labels": {"n": str(n)}}})

    ticker = threading.Thread(target=tick, daemon=True)
    try:
        core.create_namespaced_pod(namespace, pod("before"))
        wait_for(lambda: informer.get("before") is not None, 30, what="the first pod cached")
        ticker.start()
        healthy_until = time.monotonic() + 2 * STALL
        while time.monotonic() < healthy_until:  # a watch that talks is never cut
            assert informer.synced, informer.last_error
            time.sleep(0.1)

        proxy.freeze()
        frozen_at = time.monotonic()
        # Never a frozen picture: the cache stops answering once the watch was silent
        # for STALL, instead of at the end of the watch (240 s) or of the read (255 s).
        wait_for(lambda: not informer.synced, STALL + 10, 0.1, what="the cache to notice")
        noticed = time.monotonic() - frozen_at
        assert noticed < STALL + 2, f"noticed after {noticed:.1f} s"
        with pytest.raises(BackendUnavailableError, match="retrying"):
            informer.items()
        core.create_namespaced_pod(namespace, pod("during"))
        time.sleep(2 * BACKOFF)  # long enough for the reconnects to back off to the cap
        assert not informer.synced

        proxy.thaw()
        back_at = time.monotonic()
        wait_for(
            lambda: informer.synced and informer.get("during") is not None,
            30,
            0.05,
            what="the pod made during the outage, in the cache",
        )
        fresh = time.monotonic() - back_at
        # The worst case: one capped back-off, then the resumed watch's first event.
        assert fresh < BACKOFF + 2, f"fresh {fresh:.1f} s after the API came back"
        assert informer.alive
        print(f"silence noticed after {noticed:.1f} s; fresh {fresh:.2f} s after the thaw")
    finally:
        ticking.set()
        informer.stop()
