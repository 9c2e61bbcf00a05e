"""Which API a job goes to, on API servers that serve only the Training Operator v1's CRDs or
only Trainer v2's (bare API servers of the test cluster's build, with the CRDs and the stock
torch runtime applied): a job whose kind was not asked for runs as a TrainJob where v1 is not
served; a kind the cluster lacks is refused with the name to use instead."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import yaml
from kubernetes import client as k8s

from jupyter_kf.backends.kubernetes import KubernetesBackend
from jupyter_kf.errors import InvalidSpecError
from jupyter_kf.jobs import JobSpec
from jupyter_kf.jobs.kinds import KINDS
from jupyter_kf.k8s.discovery import ServedApis, served_apis
from tests.cluster.bare_apiserver import bare_apiserver, crd_dirs
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.trainjob]

TRAINER = ("trainer.kubeflow.org", "v1alpha1")


@pytest.fixture(params=["v1", "v2"])
def only(request, cluster, tmp_path) -> Iterator[tuple[str, KubernetesBackend, k8s.ApiClient]]:
    with bare_apiserver(cluster, tmp_path) as server:
        api = server.client()
        server.apply_crds(*crd_dirs(cluster)[request.param])
        expected = (
            ServedApis(frozenset(KINDS), trainjob=False, jobset=False)
            if request.param == "v1"
            else ServedApis(frozenset(), trainjob=True, jobset=True)
        )
        wait_for(lambda: served_apis(api) == expected, 30, 0.2, "the CRDs in discovery")
        if request.param == "v2":
            runtimes = crd_dirs(cluster)["v2"][1].parent / "base" / "runtimes"
            stock = yaml.safe_load((runtimes / "torch_distributed.yaml").read_text())
            k8s.CustomObjectsApi(api).create_cluster_custom_object(
                *TRAINER, "clustertrainingruntimes", stock
            )
        backend = KubernetesBackend(api_client=api, namespace="default", image="img:1")
        yield request.param, backend, api
        backend.close()
        api.close()


def test_the_kind_goes_where_the_cluster_serves_it(only):
    served, backend, api = only
    auto = JobSpec.create(name="auto", workers=2, command=["true"])
    assert auto.kind == "PyTorchJob" and auto.kind_auto
    job = backend.submit(auto)
    if served == "v1":
        assert job.kind == "PyTorchJob" and "notice" not in job.extra
        assert backend.runtimes() == []
        with pytest.raises(InvalidSpecError) as info:
            backend.submit(
                JobSpec.create(name="tj", workers=2, runtime="torch-distributed", command=["x"])
            )
        assert "does not serve TrainJob" in str(info.value), info.value
        assert "PyTorchJob" in str(info.value), info.value
        return
    assert job.kind == "TrainJob" and job.workers == 2
    assert "submitted as a TrainJob on runtime torch-distributed" in job.extra["notice"]
    cr = k8s.CustomObjectsApi(api).get_namespaced_custom_object(
        *TRAINER, "default", "trainjobs", "auto"
    )
    assert cr["spec"]["runtimeRef"]["name"] == "torch-distributed"
    assert cr["spec"]["trainer"]["numNodes"] == 2
    assert [r.name for r in backend.runtimes()] == ["torch-distributed"]
    # Asked for by name, a v1 kind is refused, naming the runtime to use instead.
    with pytest.raises(InvalidSpecError) as info:
        backend.submit(JobSpec.create("pytorch", name="explicit", workers=2, command=["x"]))
    message = str(info.value)
    assert "does not serve PyTorchJob" in message and "runtime='torch-distributed'" in message
    with pytest.raises(InvalidSpecError, match="no runtime for tensorflow"):
        backend.submit(JobSpec.create("tensorflow", name="tf", workers=2, command=["x"]))
    with pytest.raises(InvalidSpecError, match="the cluster has: torch-distributed"):
        backend.submit(JobSpec.create(name="typo", workers=2, runtime="torch", command=["x"]))
