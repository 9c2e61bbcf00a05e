"""The spawner's objects as literal dicts (pure builders), and what a
pod's status means for a spawn (pure, no cluster)."""

from __future__ import annotations

import copy

import pytest

from jupyter_kf.hub import objects as O
from jupyter_kf.hub.progress import describe_event, view_pod


def test_namespace_has_pod_security_labels():
    assert O.make_namespace("jupyter-alice", labels={"a": "b"}) == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": "jupyter-alice",
            "labels": {
                "a": "b",
                "pod-security.kubernetes.io/enforce": "baseline",
                "pod-security.kubernetes.io/enforce-version": "latest",
                "pod-security.kubernetes.io/warn": "baseline",
                "pod-security.kubernetes.io/warn-version": "latest",
                "pod-security.kubernetes.io/audit": "baseline",
                "pod-security.kubernetes.io/audit-version": "latest",
            },
        },
    }
    with pytest.raises(ValueError):
        O.make_namespace("x", pod_security="none")


def test_pvc():
    assert O.make_pvc("claim-a", "ns", capacity="1Gi", storage_class="fast") == {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "claim-a", "namespace": "ns"},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}},
            "storageClassName": "fast",
        },
    }
    assert "storageClassName" not in O.make_pvc("c", "ns", capacity="1Gi")["spec"]


@pytest.mark.parametrize(
    "kwargs,expected",
    [
        ({}, {}),
        (
            {"cpu_limit": 2, "cpu_guarantee": 0.5},
            {"limits": {"cpu": "2"}, "requests": {"cpu": "500m"}},
        ),
        (
            {"mem_limit": 1024, "extra_limits": {"nvidia.com/gpu": "1"}},
            {
                "limits": {"memory": "1024", "nvidia.com/gpu": "1"},
                "requests": {"nvidia.com/gpu": "1"},
            },
        ),
        ({"extra_limits": {"nvidia.com/gpu": "0"}}, {}),
    ],
)
def test_resources(kwargs, expected):
    assert O.resources(**kwargs) == expected


def test_pod_literal_and_inputs_untouched():
    env = {"B": "2", "A": "1"}
    tolerations = [{"key": "gpu", "operator": "Exists"}]
    before = copy.deepcopy((env, tolerations))
    pod = O.make_pod(
        "jupyter-a",
        "ns",
        image="img",
        command=["jupyterhub-singleuser"],
        port=8888,
        env=env,
        secret_env={"TOKEN": "TOKEN"},
        secret_name="jupyter-a",
        service_account="jupyter-a",
        resources_={"limits": {"cpu": "1"}},
        pvc_name="claim-a",
        node_selector={"n": "1"},
        tolerations=tolerations,
        fs_gid=100,
        labels={"l": "v"},
        annotations={"a": "v"},
    )
    assert (env, tolerations) == before
    assert pod == {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "jupyter-a",
            "namespace": "ns",
            "labels": {"l": "v"},
            "annotations": {"a": "v"},
        },
        "spec": {
            "serviceAccountName": "jupyter-a",
            "automountServiceAccountToken": True,
            "restartPolicy": "OnFailure",
            "enableServiceLinks": False,
            "containers": [
                {
                    "name": "notebook",
                    "image": "img",
                    "command": ["jupyterhub-singleuser"],
                    "ports": [{"name": "notebook-port", "containerPort": 8888}],
                    "env": [
                        {"name": "A", "value": "1"},
                        {"name": "B", "value": "2"},
                        {
                            "name": "TOKEN",
                            "valueFrom": {"secretKeyRef": {"name": "jupyter-a", "key": "TOKEN"}},
                        },
                    ],
                    "resources": {"limits": {"cpu": "1"}},
                    "securityContext": {"allowPrivilegeEscalation": False},
                    "volumeMounts": [{"name": "home", "mountPath": "/home/jovyan"}],
                }
            ],
            "securityContext": {"fsGroup": 100},
            "volumes": [{"name": "home", "persistentVolumeClaim": {"claimName": "claim-a"}}],
            "nodeSelector": {"n": "1"},
            "tolerations": [{"key": "gpu", "operator": "Exists"}],
        },
    }
    pod["spec"]["tolerations"][0]["key"] = "changed"
    assert tolerations[0]["key"] == "gpu"


def _pod(phase="Pending", conditions=(), statuses=(), ip=None, node=None):
    return {
        "metadata": {"uid": "u"},
        "spec": {"nodeName": node},
        "status": {
            "phase": phase,
            "podIP": ip,
            "conditions": list(conditions),
            "containerStatuses": list(statuses),
        },
    }


@pytest.mark.parametrize(
    "pod,field,value",
    [
        (
            _pod("Running", [{"type": "Ready", "status": "True"}], ip="10.0.0.1", node="n"),
            "ready",
            True,
        ),
        (
            _pod(
                conditions=[
                    {
                        "type": "PodScheduled",
                        "status": "False",
                        "reason": "Unschedulable",
                        "message": "0/4 nodes are available: 4 Insufficient nvidia.com/gpu.",
                    }
                ]
            ),
            "unschedulable",
            "0/4 nodes are available: 4 Insufficient nvidia.com/gpu.",
        ),
        (
            _pod(
                statuses=[
                    {
                        "name": "notebook",
                        "state": {
                            "waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling"}
                        },
                    }
                ]
            ),
            "failure",
            "ImagePullBackOff: the image cannot be pulled (Back-off pulling)",
        ),
        (
            _pod(
                statuses=[
                    {"name": "notebook", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
                ]
            ),
            "failure",
            "CrashLoopBackOff: the server keeps crashing",
        ),
        (
            _pod(
                statuses=[
                    {"name": "notebook", "state": {"waiting": {"reason": "ContainerCreating"}}}
                ]
            ),
            "failure",
            None,
        ),
        (
            _pod(
                "Failed", statuses=[{"name": "notebook", "state": {"terminated": {"exitCode": 3}}}]
            ),
            "exit_code",
            3,
        ),
        (_pod("Succeeded"), "exit_code", 0),
    ],
)
def test_view_pod(pod, field, value):
    assert getattr(view_pod(pod, []), field) == value


def test_describe_event():
    assert (
        describe_event(
            {
                "type": "Warning",
                "reason": "FailedScheduling",
                "message": "no ",
                "series": {"count": 3},
            }
        )
        == "[Warning] FailedScheduling: no (x3)"
    )


def test_slim_pod_keeps_what_the_spawner_reads():
    from jupyter_kf.hub.watch import slim_pod

    pod = _pod(
        "Running",
        [{"type": "Ready", "status": "True", "lastProbeTime": None}],
        [{"name": "notebook", "state": {"running": {}}, "image": "x", "imageID": "y"}],
        ip="10.0.0.1",
        node="n",
    )
    pod["metadata"].update(name="p", namespace="ns", managedFields=[{"big": "x" * 1000}])
    pod["spec"]["containers"] = [{"env": [{"name": "T", "value": "secret"}]}]
    slim = slim_pod(pod)
    assert "managedFields" not in slim["metadata"] and "containers" not in slim["spec"]
    for field in ("ready", "ip", "node", "running", "exit_code", "failure", "unschedulable"):
        assert getattr(view_pod(slim, []), field) == getattr(view_pod(pod, []), field)
