"""What a notebook user's ServiceAccount may do, in its own namespace only, plus reading
the cluster's training runtimes.

One definition, used by the spawner (per-user Role), deploy/ (the same rules as YAML,
checked against this in tests) and the tests. Pure builders: plain dicts, no client.
"""

from __future__ import annotations

from ..jobs import runtimes
from ..jobs.kinds import BY_PLURAL, GROUP, KINDS

ROLE_NAME = "jupyter-kf-user"
RUNTIME_READER = "jupyter-kf-runtime-reader"
# Every ServiceAccount's token carries this group; notebooks run as ServiceAccounts.
SERVICE_ACCOUNTS = {
    "kind": "Group",
    "name": "system:serviceaccounts",
    "apiGroup": "rbac.authorization.k8s.io",
}

READ = ["get", "list", "watch"]
WRITE = ["create", "update", "patch", "delete"]


def user_role_rules() -> list[dict]:
    """Exactly what jupyter-kf needs: the training CRs (and their /scale), TrainJobs and
    the namespace's TrainingRuntimes and JobSets (a TrainJob's nodes, read only), the
    ConfigMaps it ships code in, pods and their logs to read, events to read, the claims its
    jobs mount (get only: never Secrets, which a job references by name). Nothing
    cluster-wide (ClusterTrainingRuntimes: ``runtime_reader_role``)."""
    plurals = sorted(info.plural for info in KINDS.values())
    trainer = runtimes.GROUP
    return [
        {"apiGroups": [GROUP], "resources": plurals, "verbs": READ + WRITE},
        {
            "apiGroups": [GROUP],
            "resources": [f"{p}/scale" for p in plurals if BY_PLURAL[p].scale_subresource],
            "verbs": ["get", "update", "patch"],
        },
        {"apiGroups": [GROUP], "resources": [f"{p}/status" for p in plurals], "verbs": ["get"]},
        {"apiGroups": [trainer], "resources": ["trainjobs"], "verbs": READ + WRITE},
        {"apiGroups": [trainer], "resources": ["trainjobs/status"], "verbs": ["get"]},
        {
            "apiGroups": [trainer],
            "resources": [runtimes.PLURALS[runtimes.NAMESPACED_SCOPE]],
            "verbs": READ,
        },
        {"apiGroups": [runtimes.JOBSET_GROUP], "resources": ["jobsets"], "verbs": READ},
        {
            "apiGroups": [""],
            "resources": ["configmaps"],
            "verbs": ["get", "list", "watch", "create", "delete"],
        },
        {"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": READ},
        # A job's volumes: does the claim exist, may it be shared (its access modes)?
        {"apiGroups": [""], "resources": ["persistentvolumeclaims"], "verbs": ["get"]},
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


def runtime_reader_rules() -> list[dict]:
    """Reading ClusterTrainingRuntimes: cluster-scoped, so no Role in a user's namespace
    can grant it."""
    plural = runtimes.PLURALS[runtimes.CLUSTER_SCOPE]
    return [{"apiGroups": [runtimes.GROUP], "resources": [plural], "verbs": READ}]


def runtime_reader_role(name: str = RUNTIME_READER) -> dict:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "jupyter-kf"}},
        "rules": runtime_reader_rules(),
    }


def runtime_reader_binding(
    subjects: list[dict] | None = None, name: str = RUNTIME_READER, role: str = RUNTIME_READER
) -> dict:
    """Binds ``role`` cluster-wide to ``subjects``: by default every ServiceAccount (what
    deploy/ installs; runtimes are templates the cluster offers everyone, and Kubeflow's
    own platform manifests grant them to every authenticated user)."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "jupyter-kf"}},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": subjects if subjects is not None else [dict(SERVICE_ACCOUNTS)],
    }
