"""Names across kinds: the API allows a PyTorchJob, a TFJob and a TrainJob of one name in a
namespace. A bare name that several jobs have is answered at once with the candidates; a
``kind/name`` (as kubectl takes it) reaches exactly one of them, for get, logs, events and
delete; a list shows them all."""

from __future__ import annotations

import time

import pytest
from kubernetes import client as k8s

from jupyter_kf import AmbiguousNameError, NotFoundError
from jupyter_kf.jobs import JobSpec
from jupyter_kf.jobs.render import render_job
from jupyter_kf.jobs.trainjob import render_trainjob

pytestmark = [pytest.mark.cluster, pytest.mark.trainjob]


def test_one_name_three_kinds(user, admin_api):
    c = user.client
    c.submit(JobSpec.create("pytorch", name="dup", workers=1, command=["sleep", "600"]))
    custom = k8s.CustomObjectsApi(admin_api)
    tf = render_job(
        JobSpec.create("tensorflow", name="dup", workers=1, command=["sleep", "600"]),
        namespace=user.namespace,
        image="img:1",
    )
    custom.create_namespaced_custom_object("kubeflow.org", "v1", user.namespace, "tfjobs", tf)
    tj = render_trainjob(
        JobSpec.create(name="dup", workers=1, runtime="torch-distributed", command=["true"]),
        namespace=user.namespace,
        image="img:1",
    )
    custom.create_namespaced_custom_object(
        "trainer.kubeflow.org", "v1alpha1", user.namespace, "trainjobs", tj
    )
    kinds = {"PyTorchJob", "TFJob", "TrainJob"}
    start = time.monotonic()
    while {j.kind for j in c.list() if j.name == "dup"} != kinds:
        assert time.monotonic() - start < 30, c.list()
        time.sleep(0.2)
    for call in (c.get, c.events, c.delete, lambda n: list(c.logs(n))):
        t0 = time.monotonic()
        with pytest.raises(AmbiguousNameError) as info:
            call("dup")
        assert time.monotonic() - t0 < 1.0  # at once, never a timeout
        message = str(info.value)
        assert all(k in message for k in kinds) and "'pytorchjob/dup'" in message, message
    assert c.get("tfjob/dup").kind == "TFJob"
    assert c.get("trainjobs/dup").kind == "TrainJob"
    assert c.get("pytorch/dup").kind == "PyTorchJob"
    assert c.events("TrainJob/dup") is not None
    with pytest.raises(NotFoundError, match="unknown job kind"):
        c.get("cronjob/dup")
    t0 = time.monotonic()
    c.delete("pytorchjob/dup")
    assert time.monotonic() - t0 < 15
    assert {j.kind for j in c.list() if j.name == "dup"} == {"TFJob", "TrainJob"}
    c.delete("tfjob/dup")
    # One left: the bare name is no longer ambiguous.
    assert c.get("dup").kind == "TrainJob"
    c.delete("dup")
    assert [j for j in c.list() if j.name == "dup"] == []
