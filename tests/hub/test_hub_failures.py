"""A pod that will never start fails the spawn at once, with the kubelet's reason:
ErrImagePull / ImagePullBackOff / CrashLoopBackOff, instead of waiting out start_timeout.

KWOK's kubelets never pull images, so these pods are scheduled (by the real scheduler) on
a node that KWOK does not manage, and the test plays that node's kubelet: it reports the
container's waiting state and records the kubelet's event, through the same API a
kubelet uses (pods/status, events)."""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid

import pytest
from kubernetes import client

from tests.support.waiting import wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.hub, pytest.mark.timeout(300)]


@pytest.fixture
def manual_node(node_side):
    core = client.CoreV1Api(node_side["api"])
    name = f"jkf-manual-{uuid.uuid4().hex[:6]}"
    now = dt.datetime.now(dt.UTC).isoformat()
    res = {"cpu": "8", "memory": "32Gi", "pods": "110"}
    core.create_node(
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": name,
                "labels": {"kubernetes.io/hostname": name, "jupyter-kf.test/manual": "true"},
            },
            "spec": {"taints": [{"key": "jupyter-kf.test/manual", "effect": "NoSchedule"}]},
        }
    )
    core.patch_node_status(
        name,
        {
            "status": {
                "capacity": res,
                "allocatable": res,
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "True",
                        "reason": "KubeletReady",
                        "message": "played by the test",
                        "lastHeartbeatTime": now,
                        "lastTransitionTime": now,
                    }
                ],
            }
        },
    )
    yield name
    core.delete_node(name)


def play_kubelet(core, ns: str, pod_name: str, reason: str, message: str, stop: threading.Event):
    """Once the pod is bound to our node: report the container waiting with ``reason``,
    post the kubelet's event, and finish deletions (a kubelet does the final delete)."""
    reported = False
    while not stop.is_set():
        try:
            pod = core.read_namespaced_pod(pod_name, ns)
        except client.ApiException:
            time.sleep(0.2)
            continue
        if pod.metadata.deletion_timestamp:
            core.delete_namespaced_pod(pod_name, ns, grace_period_seconds=0)
            return
        if pod.spec.node_name and not reported:
            now = dt.datetime.now(dt.UTC).isoformat()
            core.patch_namespaced_pod_status(
                pod_name,
                ns,
                {
                    "status": {
                        "phase": "Pending",
                        "containerStatuses": [
                            {
                                "name": "notebook",
                                "image": pod.spec.containers[0].image,
                                "imageID": "",
                                "ready": False,
                                "restartCount": 0,
                                "state": {"waiting": {"reason": reason, "message": message}},
                            }
                        ],
                    }
                },
            )
            core.create_namespaced_event(
                ns,
                {
                    "apiVersion": "v1",
                    "kind": "Event",
                    "metadata": {"generateName": f"{pod_name}."},
                    "involvedObject": {
                        "kind": "Pod",
                        "name": pod_name,
                        "namespace": ns,
                        "uid": pod.metadata.uid,
                        "apiVersion": "v1",
                    },
                    "reason": "Failed" if "Pull" in reason else "BackOff",
                    "message": message,
                    "type": "Warning",
                    "source": {"component": "kubelet", "host": pod.spec.node_name},
                    "firstTimestamp": now,
                    "lastTimestamp": now,
                    "count": 1,
                },
            )
            reported = True
        time.sleep(0.2)


@pytest.mark.parametrize(
    "reason,message",
    [
        ("ErrImagePull", 'Failed to pull image "example.org/nope:1": not found'),
        ("CrashLoopBackOff", "back-off 10s restarting failed container=notebook"),
    ],
    ids=["image-pull", "crash-loop"],
)
def test_spawn_fails_fast_with_the_reason(hub_factory, node_side, manual_node, reason, message):
    hub = hub_factory(
        start_timeout=120,
        spawner={
            "node_selector": {"kubernetes.io/hostname": manual_node},
            "tolerations": [{"key": "jupyter-kf.test/manual", "operator": "Exists"}],
        },
    )
    core = client.CoreV1Api(node_side["api"])
    hub.add_user("gina")
    ns = f"{hub.settings['prefix']}gina"
    stop = threading.Event()
    kubelet = threading.Thread(
        target=play_kubelet, args=(core, ns, "jupyter-gina", reason, message, stop), daemon=True
    )
    kubelet.start()
    started = time.monotonic()
    r = hub.spawn("gina")
    if r.status_code in (201, 202):
        events = hub.progress("gina")
        final = events[-1]
        assert final.get("failed") is True, events
        text = final["message"]
    else:  # failed before the hub's slow_spawn_timeout: the API answers with the reason
        text = r.json()["message"]
    took = time.monotonic() - started
    assert reason in text and message.split(":")[0] in text, text
    assert took < 30, f"took {took:.0f} s (start_timeout is 120)"
    wait_for(lambda: not core.list_namespaced_pod(ns).items, 60, what="pod deleted after failure")
    stop.set()
    assert hub.server("gina") is None
