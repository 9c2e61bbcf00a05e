"""The list+watch cache survives the API server going away and coming back."""

import time

import pytest
from kubernetes import client as k8s

from jupyter_kf.errors import BackendUnavailableError
from jupyter_kf.jobs import Code, JobSpec
from tests.cluster.plugin import AFTER, OUTCOME
from tests.support.waiting import wait_for

pytestmark = pytest.mark.cluster


@pytest.mark.apiserver_outage
@pytest.mark.parametrize("outage", [30, 90])
def test_api_server_outage(user, cluster, admin_api, outage):
    """No clock decides the order here: the pods stay Running (KWOK's ``run`` outcome) until
    the test releases them, right before the API server stops, so they finish while it is
    down. The product must refuse to answer while it cannot see the cluster (never a
    frozen "Running"), keep its watch threads, and, once the API server is back, show what
    the API server shows: the job's phase never goes backwards, and it catches up with the
    CR's own status within seconds of the API server having it."""
    c = user.client
    c.submit(
        JobSpec.create(
            "pytorch",
            name="outage",
            workers=2,
            code=Code("print(1)"),
            pod_annotations={"jupyter-kf.test/outcome": "run"},  # held Running
        )
    )
    wait_for(lambda: c.get("outage").phase == "Running", timeout=120)
    core = k8s.CoreV1Api(admin_api)
    custom = k8s.CustomObjectsApi(admin_api)
    pods = [p.metadata.name for p in core.list_namespaced_pod(user.namespace).items]
    assert sorted(pods) == ["outage-master-0", "outage-worker-0"]
    ns = user.backend._ns(None)
    release = {"metadata": {"annotations": {OUTCOME: "succeed", AFTER: "2s"}}}
    for pod in pods:
        core.patch_namespaced_pod(pod, user.namespace, release)
    with cluster.apiserver_down(outage):
        time.sleep(3)
        with pytest.raises(BackendUnavailableError, match="retrying"):
            c.get("outage")
        with pytest.raises(BackendUnavailableError):
            c.list()
    # Back: read the API server's own view and ours side by side until both say Succeeded.
    seen: list[str] = []
    api_done_at: float | None = None

    def caught_up() -> bool:
        nonlocal api_done_at
        cr = custom.get_namespaced_custom_object(
            "kubeflow.org", "v1", user.namespace, "pytorchjobs", "outage"
        )
        conditions = (cr.get("status") or {}).get("conditions") or []
        if api_done_at is None and any(
            x["type"] == "Succeeded" and x["status"] == "True" for x in conditions
        ):
            api_done_at = time.monotonic()
        try:
            phase = c.get("outage").phase
        except BackendUnavailableError:
            return False  # still reconnecting: refusing is allowed, stale answers are not
        if not seen or seen[-1] != phase:
            seen.append(phase)
        return phase == "Succeeded"

    wait_for(caught_up, timeout=180, interval=0.2, what="the job to be Succeeded again")
    assert seen in (["Running", "Succeeded"], ["Succeeded"]), seen  # never backwards
    assert api_done_at is not None
    lag = time.monotonic() - api_done_at
    assert lag < 10, f"the cache showed Succeeded {lag:.1f} s after the API server had it"
    assert all(informer.alive for informer in ns.informers())  # no thread died
    assert all(informer.synced for informer in ns.informers())
    # The job succeeds with its master; the worker's pod ends a moment later.
    wait_for(
        lambda: (
            {r.name: r.phase for r in c.get("outage").replicas}
            == {"master-0": "Succeeded", "worker-0": "Succeeded"}
        ),
        timeout=60,
        what="both replicas Succeeded in the cache",
    )


def test_410_gone_relists_once(user):
    c = user.client
    c.submit(
        JobSpec.create(
            "pytorch",
            name="gone",
            workers=1,
            code=Code("print(1)"),
            pod_annotations={"jupyter-kf.test/outcome": "run"},
        )
    )
    informer = user.backend._ns(None).pods.informers[0]  # the v1 operator's pods
    wait_for(lambda: c.get("gone").phase == "Running")
    lists = informer.lists
    # Resume from a resourceVersion the API server no longer has (what compaction does to
    # a watcher that was away too long): it answers 410 Gone.
    informer._rv = "1"
    informer.reconnect()
    wait_for(lambda: informer.lists == lists + 1 and informer.synced, timeout=30)
    time.sleep(3)
    assert informer.lists == lists + 1  # one relist, not a loop
    assert informer.get("gone-master-0") is not None
    assert c.get("gone").phase == "Running"
