"""Discovery on real API servers: the shared cluster (v1 operator and Trainer v2 both), and
bare API servers of the same build serving only the v1 CRDs or only Trainer's and JobSet's.
served_apis tells them apart in one request; list_runtimes reads the runtimes there are."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kubernetes import client as k8s

from jupyter_kf.jobs.kinds import KINDS
from jupyter_kf.jobs.runtimes import STOCK_RUNTIMES
from jupyter_kf.k8s import own_retries
from jupyter_kf.k8s.discovery import ServedApis, list_runtimes, served_apis
from jupyter_kf.k8s.rbac import user_role, user_role_binding
from tests.cluster.bare_apiserver import bare_apiserver, crd_dirs
from tests.k8s.proxy import FaultyProxy
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.trainjob]

BOTH = ServedApis(v1_kinds=frozenset(KINDS), trainjob=True, jobset=True)


class GroupListOnly(FaultyProxy):
    """Stands for an API server older than Kubernetes 1.30: asked for aggregated discovery,
    it answers with the plain group list (the proxy drops the aggregated media type)."""

    def handle(self, req):
        del req.headers["Accept"]
        req.headers["Accept"] = "application/json"
        super().handle(req)


def through(proxy: FaultyProxy, direct: k8s.ApiClient) -> k8s.ApiClient:
    conf = k8s.Configuration()
    conf.host = proxy.url
    conf.api_key = dict(direct.configuration.api_key)
    conf.api_key_prefix = dict(direct.configuration.api_key_prefix)
    return own_retries(k8s.ApiClient(conf))


@pytest.fixture
def notebook(cluster, admin_api, namespace, sa_client) -> k8s.ApiClient:
    """A notebook's identity: the users' Role in its namespace, nothing cluster-wide."""
    rbac = k8s.RbacAuthorizationV1Api(admin_api)
    rbac.create_namespaced_role(namespace, user_role(namespace))
    rbac.create_namespaced_role_binding(namespace, user_role_binding(namespace, "notebook"))
    return sa_client(namespace, "notebook")


@pytest.mark.parametrize("proxy_cls", [FaultyProxy, GroupListOnly], ids=["aggregated", "grouplist"])
def test_both_apis_on_the_shared_cluster(cluster, notebook, proxy_cls):
    proxy = proxy_cls(cluster.api_server, notebook.configuration.ssl_ca_cert)
    api = through(proxy, notebook)
    try:
        assert served_apis(api) == BOTH
        requests = dict(proxy.seen)
    finally:
        api.close()
        proxy.close()
    if proxy_cls is FaultyProxy:
        # Every group's resources in one answer.
        assert requests == {("GET", "/apis"): 1}
    else:
        # The group list, then one resource list per group of ours.
        assert requests == {
            ("GET", "/apis"): 1,
            ("GET", "/apis/kubeflow.org/v1"): 1,
            ("GET", "/apis/trainer.kubeflow.org/v1alpha1"): 1,
            ("GET", "/apis/jobset.x-k8s.io/v1alpha2"): 1,
        }


def test_the_stock_runtimes_on_the_shared_cluster(admin_api, namespace):
    runtimes = list_runtimes(admin_api, namespace)
    assert runtimes.refused == ()
    assert runtimes == sorted(STOCK_RUNTIMES.values(), key=lambda r: r.name)
    torch = {r.name: r for r in runtimes}["torch-distributed"]
    assert (torch.framework, torch.num_nodes, torch.trainer_job) == ("torch", 1, "node")
    assert torch.image == "pytorch/pytorch:2.13.0-cuda13.0-cudnn9-runtime"


@pytest.fixture
def bare(cluster, tmp_path) -> Iterator:
    with bare_apiserver(cluster, tmp_path) as server:
        api = server.client()
        yield server, api
        api.close()


def served_once_established(api: k8s.ApiClient, expected: ServedApis) -> ServedApis:
    """served_apis as soon as the new CRDs reached discovery (the API server publishes a
    CRD there shortly after it is Established): never an answer that mixes the two."""
    seen: list[ServedApis] = []

    def settled() -> bool:
        seen.append(served_apis(api))
        return seen[-1] == expected

    wait_for(settled, 30, 0.2, f"discovery to show {expected}")
    assert all(s.v1_kinds <= expected.v1_kinds for s in seen), seen
    assert all(not s.trainjob or expected.trainjob for s in seen), seen
    return seen[-1]


@pytest.mark.parametrize("only", ["v1", "v2"])
def test_a_cluster_serving_only_one_api(cluster, bare, only):
    server, api = bare
    # Nothing installed yet: neither.
    assert served_apis(api) == ServedApis(frozenset(), trainjob=False, jobset=False)
    assert list_runtimes(api, "default") == []
    server.apply_crds(*crd_dirs(cluster)[only])
    if only == "v1":
        expected = ServedApis(frozenset(KINDS), trainjob=False, jobset=False)
    else:
        expected = ServedApis(frozenset(), trainjob=True, jobset=True)
    served_once_established(api, expected)
    # Trainer not installed (404) or installed without runtimes: none, nothing refused.
    runtimes = list_runtimes(api, "default")
    assert runtimes == [] and runtimes.refused == ()
