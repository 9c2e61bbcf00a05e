"""Pure builders of the Kubernetes objects the spawner creates.

Each function takes plain arguments and returns a new dict in the API's own camelCase; no
client, no I/O, and the caller's arguments are never mutated. ``tests/hub/test_objects.py``
compares them with literal dicts. The per-user Role and RoleBinding come from
``jupyter_kf.k8s.rbac`` (one definition of what a notebook may do).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence

MANAGED_BY = "jupyter-kf-spawner"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_COMPONENT = "app.kubernetes.io/component"
LABEL_HUB = "jupyter-kf.io/hub"
LABEL_USER = "hub.jupyter.org/username"
LABEL_SERVER = "hub.jupyter.org/servername"
ANNOTATION_USER = "hub.jupyter.org/username"
ANNOTATION_SERVER = "hub.jupyter.org/servername"
COMPONENT = "singleuser-server"
CONTAINER = "notebook"
HOME_VOLUME = "home"

# Pod Security admission levels (the Kubernetes Pod Security Standards).
# "baseline" refuses privileged containers, host namespaces, hostPath volumes, host ports and
# added capabilities beyond the default set: for the notebook pod *and* for every pod the
# training operator creates from the user's job in that namespace.
PSA_LEVELS = ("privileged", "baseline", "restricted")


def _meta(
    name: str,
    namespace: str | None,
    labels: Mapping[str, str] | None,
    annotations: Mapping[str, str] | None,
) -> dict:
    meta: dict = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    if labels:
        meta["labels"] = dict(labels)
    if annotations:
        meta["annotations"] = dict(annotations)
    return meta


def common_labels(hub: str, user_label: str, server_label: str | None = None) -> dict[str, str]:
    """The labels every object of one user's server carries (the shared watch selects on
    the first two; the user's and server's are label-safe slugs, not the raw names)."""
    labels = {LABEL_MANAGED_BY: MANAGED_BY, LABEL_HUB: hub, LABEL_USER: user_label}
    if server_label is not None:
        labels[LABEL_SERVER] = server_label
    return labels


def selector(hub: str) -> str:
    """The label selector of the shared pod watch: this hub's pods only."""
    return f"{LABEL_MANAGED_BY}={MANAGED_BY},{LABEL_HUB}={hub}"


def make_namespace(
    name: str,
    *,
    pod_security: str = "baseline",
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> dict:
    """A namespace whose Pod Security admission enforces (and warns and audits at)
    ``pod_security``."""
    if pod_security not in PSA_LEVELS:
        raise ValueError(f"pod_security must be one of {PSA_LEVELS}, not {pod_security!r}")
    all_labels = dict(labels or {})
    for mode in ("enforce", "warn", "audit"):
        all_labels[f"pod-security.kubernetes.io/{mode}"] = pod_security
        all_labels[f"pod-security.kubernetes.io/{mode}-version"] = "latest"
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": _meta(name, None, all_labels, annotations),
    }


def make_service_account(
    name: str,
    namespace: str,
    *,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": _meta(name, namespace, labels, annotations),
    }


def make_pvc(
    name: str,
    namespace: str,
    *,
    capacity: str,
    storage_class: str | None = None,
    access_modes: Sequence[str] = ("ReadWriteOnce",),
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> dict:
    """The home volume claim. ``storage_class`` None uses the cluster's default class;
    ``""`` asks for a pre-provisioned volume with no class."""
    spec: dict = {
        "accessModes": list(access_modes),
        "resources": {"requests": {"storage": capacity}},
    }
    if storage_class is not None:
        spec["storageClassName"] = storage_class
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": _meta(name, namespace, labels, annotations),
        "spec": spec,
    }


def make_secret(
    name: str, namespace: str, data: Mapping[str, str], *, labels: Mapping[str, str] | None = None
) -> dict:
    """Values the pod reads through ``secretKeyRef`` (``stringData``: the API encodes)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": _meta(name, namespace, labels, None),
        "stringData": dict(data),
    }


def format_cpu(cores: float) -> str:
    """``2`` → ``"2"``, ``0.5`` → ``"500m"`` (the API's canonical forms)."""
    millis = round(cores * 1000)
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def resources(
    *,
    cpu_limit: float | None = None,
    cpu_guarantee: float | None = None,
    mem_limit: int | str | None = None,
    mem_guarantee: int | str | None = None,
    extra_limits: Mapping[str, str | int] | None = None,
    extra_guarantees: Mapping[str, str | int] | None = None,
) -> dict:
    """A container's ``resources``. Extended resources (GPUs) cannot be overcommitted:
    Kubernetes requires their request to equal their limit, so a limit is also requested."""
    limits: dict[str, str] = {}
    requests: dict[str, str] = {}
    if cpu_limit:
        limits["cpu"] = format_cpu(cpu_limit)
    if cpu_guarantee:
        requests["cpu"] = format_cpu(cpu_guarantee)
    if mem_limit:
        limits["memory"] = str(mem_limit)
    if mem_guarantee:
        requests["memory"] = str(mem_guarantee)
    for key, value in (extra_guarantees or {}).items():
        requests[key] = str(value)
    for key, value in (extra_limits or {}).items():
        if value in (None, 0, "0", ""):
            continue  # a profile may switch an inherited GPU limit off with 0
        limits[key] = str(value)
        if key not in ("cpu", "memory", "ephemeral-storage"):
            requests[key] = str(value)
    out: dict = {}
    if limits:
        out["limits"] = limits
    if requests:
        out["requests"] = requests
    return out


def make_pod(
    name: str,
    namespace: str,
    *,
    image: str,
    command: Sequence[str],
    port: int,
    env: Mapping[str, str],
    secret_env: Mapping[str, str] | None = None,
    secret_name: str | None = None,
    service_account: str,
    resources_: Mapping | None = None,
    pvc_name: str | None = None,
    home_mount_path: str = "/home/jovyan",
    image_pull_policy: str | None = None,
    image_pull_secrets: Sequence[str] = (),
    node_selector: Mapping[str, str] | None = None,
    tolerations: Sequence[Mapping] = (),
    volumes: Sequence[Mapping] = (),
    volume_mounts: Sequence[Mapping] = (),
    uid: int | None = None,
    gid: int | None = None,
    fs_gid: int | None = None,
    working_dir: str | None = None,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    priority_class_name: str | None = None,
    extra_pod_spec: Mapping | None = None,
) -> dict:
    """The notebook pod.

    ``env`` goes in the pod spec as plain values; ``secret_env`` names keys of the Secret
    ``secret_name`` (values that must not be readable by whoever may read pods).
    ``restartPolicy: OnFailure``: a server the user shuts down ends the pod (the hub sees
    it stop) while a crash is retried by the kubelet — and then shows as CrashLoopBackOff.
    """
    env_list: list[dict] = [{"name": k, "value": str(v)} for k, v in sorted(env.items())]
    for key in sorted(secret_env or {}):
        if secret_name is None:
            raise ValueError("secret_env needs secret_name")
        env_list.append(
            {
                "name": key,
                "valueFrom": {
                    "secretKeyRef": {"name": secret_name, "key": (secret_env or {})[key]}
                },
            }
        )
    container: dict = {
        "name": CONTAINER,
        "image": image,
        "command": list(command),
        "ports": [{"name": "notebook-port", "containerPort": port}],
        "env": env_list,
        "resources": copy.deepcopy(dict(resources_ or {})),
        # Not a Pod Security requirement at baseline, but nothing in a notebook needs it.
        "securityContext": {"allowPrivilegeEscalation": False},
    }
    if image_pull_policy:
        container["imagePullPolicy"] = image_pull_policy
    if working_dir:
        container["workingDir"] = working_dir
    mounts = [copy.deepcopy(dict(m)) for m in volume_mounts]
    pod_volumes = [copy.deepcopy(dict(v)) for v in volumes]
    if pvc_name:
        mounts.insert(0, {"name": HOME_VOLUME, "mountPath": home_mount_path})
        pod_volumes.insert(
            0, {"name": HOME_VOLUME, "persistentVolumeClaim": {"claimName": pvc_name}}
        )
    if mounts:
        container["volumeMounts"] = mounts
    if uid is not None:
        container["securityContext"]["runAsUser"] = uid
    if gid is not None:
        container["securityContext"]["runAsGroup"] = gid
    spec: dict = {
        "serviceAccountName": service_account,
        "automountServiceAccountToken": True,  # jupyter-kf submits jobs as this identity
        "restartPolicy": "OnFailure",
        "enableServiceLinks": False,  # no env var per Service in a shared namespace
        "containers": [container],
    }
    if fs_gid is not None:
        spec["securityContext"] = {"fsGroup": fs_gid}
    if pod_volumes:
        spec["volumes"] = pod_volumes
    if node_selector:
        spec["nodeSelector"] = dict(node_selector)
    if tolerations:
        spec["tolerations"] = [copy.deepcopy(dict(t)) for t in tolerations]
    if image_pull_secrets:
        spec["imagePullSecrets"] = [{"name": s} for s in image_pull_secrets]
    if priority_class_name:
        spec["priorityClassName"] = priority_class_name
    for key, value in (extra_pod_spec or {}).items():
        spec[key] = copy.deepcopy(value)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": _meta(name, namespace, labels, annotations),
        "spec": spec,
    }
