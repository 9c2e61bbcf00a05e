"""What a notebook user's ServiceAccount may do, in its own namespace only.

One definition, used by the spawner (per-user Role), deploy/ (the same Role as YAML, checked
against this in tests) and the tests. Pure builders: plain dicts, no client.
"""

from __future__ import annotations

from ..jobs.kinds import BY_PLURAL, GROUP, KINDS

ROLE_NAME = "jupyter-kf-user"

READ = ["get", "list", "watch"]
WRITE = ["create", "update", "patch", "delete"]


def user_role_rules() -> list[dict]:
    """Exactly what jupyter-kf needs: the training CRs (and their /scale), the ConfigMaps it
    ships code in, pods and their logs to read, events to read. Nothing cluster-wide."""
    plurals = sorted(info.plural for info in KINDS.values())
    return [
        {"apiGroups": [GROUP], "resources": plurals, "verbs": READ + WRITE},
        {
            "apiGroups": [GROUP],
            "resources": [f"{p}/scale" for p in plurals if BY_PLURAL[p].scale_subresource],
            "verbs": ["get", "update", "patch"],
        },
        {"apiGroups": [GROUP], "resources": [f"{p}/status" for p in plurals], "verbs": ["get"]},
        {
            "apiGroups": [""],
            "resources": ["configmaps"],
            "verbs": ["get", "list", "watch", "create", "delete"],
        },
        {"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": READ},
        {"apiGroups": [""], "resources": ["events"], "verbs": READ},
        {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": READ},
    ]


def user_role(namespace: str, name: str = ROLE_NAME) -> dict:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "jupyter-kf"},
        },
        "rules": user_role_rules(),
    }


def user_role_binding(
    namespace: str, service_account: str, role: str = ROLE_NAME, role_kind: str = "Role"
) -> dict:
    """Binds ``role`` — a Role in ``namespace``, or (``role_kind="ClusterRole"``) the
    cluster-wide ClusterRole deploy/ installs — to the user's ServiceAccount, in
    ``namespace`` only either way."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {
            "name": f"{role}-{service_account}"[:253],
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "jupyter-kf"},
        },
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": service_account, "namespace": namespace}],
    }
