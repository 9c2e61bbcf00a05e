"""The Kubernetes backend against the real control plane from tests/cluster.

``user`` gives a Client acting as a notebook user: a ServiceAccount in a fresh namespace,
bound to jupyter-kf's user Role (jupyter_kf.k8s.rbac), with a real token — so every request
in these tests is authorised by the real API server, as it is in a notebook pod.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from kubernetes import client as k8s

from jupyter_kf import Client
from jupyter_kf.backends.kubernetes import KubernetesBackend
from jupyter_kf.k8s.rbac import user_role, user_role_binding
from tests.cluster.plugin import require_real_node
from tests.support.images import IMAGE, PYTHON_IMAGE


@dataclass
class User:
    namespace: str
    client: Client
    api: k8s.ApiClient

    @property
    def backend(self) -> KubernetesBackend:
        return self.client.backend


@pytest.fixture
def make_user(namespace_factory, sa_client, admin_api):
    rbac = k8s.RbacAuthorizationV1Api(admin_api)
    made: list[Client] = []

    def factory(prefix: str = "user", real_node: bool = False) -> User:
        ns = namespace_factory(prefix, real_node=real_node)
        rbac.create_namespaced_role(ns, user_role(ns))
        rbac.create_namespaced_role_binding(ns, user_role_binding(ns, "notebook"))
        api = sa_client(ns, "notebook")
        image = PYTHON_IMAGE if real_node else IMAGE
        c = Client(KubernetesBackend(api_client=api, namespace=ns, image=image))
        made.append(c)
        return User(ns, c, api)

    yield factory
    for c in made:
        c.close()


@pytest.fixture
def user(make_user) -> User:
    return make_user()


@pytest.fixture
def real_user(request, make_user, admin_api) -> User:
    """A notebook user whose jobs' pods run on the real node: real code, real exit codes."""
    require_real_node(request, admin_api)
    return make_user(real_node=True)
