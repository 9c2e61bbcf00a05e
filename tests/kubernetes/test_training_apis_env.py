"""JUPYTER_KF_TRAINING_APIS on the shared cluster, which serves both the Training Operator
v1 and Kubeflow Trainer v2: listed APIs are the only ones a notebook's backend watches,
lists, offers runtimes for and submits to, whatever the cluster serves; another kind is
refused with a message naming the variable; without the variable discovery decides."""

from __future__ import annotations

import pytest

from jupyter_kf import Client, NotFoundError
from jupyter_kf.backends.kubernetes import KubernetesBackend
from jupyter_kf.errors import InvalidSpecError
from jupyter_kf.jobs import JobSpec
from tests.support.images import IMAGE
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.trainjob]

ENV = "JUPYTER_KF_TRAINING_APIS"


def notebook(user, monkeypatch, apis: str | None) -> Client:
    """A client as a notebook pod with ``apis`` in its environment would make it."""
    if apis is None:
        monkeypatch.delenv(ENV, raising=False)
    else:
        monkeypatch.setenv(ENV, apis)
    return Client(KubernetesBackend(api_client=user.api, namespace=user.namespace, image=IMAGE))


def auto(name: str) -> JobSpec:
    """A job whose kind is left to the cluster (no framework named)."""
    return JobSpec.create(name=name, workers=2, command=["sleep", "600"])


def test_the_env_decides_the_kinds(user, monkeypatch):
    # Without the variable: discovery; this cluster serves v1, so the job is a PyTorchJob.
    plain = notebook(user, monkeypatch, None)
    assert plain.submit(auto("legacy")).kind == "PyTorchJob"
    assert {r.name for r in plain.runtimes()} >= {"torch-distributed"}

    v2 = notebook(user, monkeypatch, "v2")
    try:
        # The same request becomes a TrainJob: the administrator's word, not discovery.
        job = v2.submit(auto("fresh"))
        assert job.kind == "TrainJob" and "runtime torch-distributed" in job.extra["notice"]
        assert {r.name for r in v2.runtimes()} >= {"torch-distributed"}
        with pytest.raises(InvalidSpecError) as info:
            v2.submit(JobSpec.create("pytorch", name="asked", workers=2, command=["true"]))
        message = info.value.problems[0]
        assert message.startswith(
            f"this notebook uses v2 only ({ENV}=v2, set by the hub's training_apis), so "
            "PyTorchJob (the Kubeflow Training Operator v1) is not offered"
        ), message
        assert "runtime='torch-distributed'" in message, message
        # The v1 job is not this notebook's to see.
        wait_for(lambda: [j.name for j in v2.list()] == ["fresh"], 30, what="the TrainJob listed")
        with pytest.raises(NotFoundError):
            v2.get("legacy")
    finally:
        v2.close()

    v1 = notebook(user, monkeypatch, "v1")
    try:
        assert v1.runtimes() == []
        with pytest.raises(InvalidSpecError) as info:
            v1.submit(
                JobSpec.create(name="tj", workers=2, runtime="torch-distributed", command=["x"])
            )
        message = info.value.problems[0]
        assert message.startswith(f"this notebook uses v1 only ({ENV}=v1,"), message
        assert "TrainJob (Kubeflow Trainer v2) is not offered" in message, message
        assert v1.submit(auto("again")).kind == "PyTorchJob"
        wait_for(
            lambda: sorted(j.name for j in v1.list()) == ["again", "legacy"],
            30,
            what="the v1 jobs listed",
        )
    finally:
        v1.close()

    # Both listed: both kinds, as discovery would have it.
    both = notebook(user, monkeypatch, "v2,v1")
    try:
        wait_for(
            lambda: (
                {(j.kind, j.name) for j in both.list()}
                == {("PyTorchJob", "legacy"), ("PyTorchJob", "again"), ("TrainJob", "fresh")}
            ),
            30,
            what="every job listed",
        )
    finally:
        both.close()
        plain.close()


def test_an_unreadable_env_is_a_clear_error(user, monkeypatch):
    with pytest.raises(InvalidSpecError) as info:
        notebook(user, monkeypatch, "trainer")
    assert info.value.problems[0].startswith(f"{ENV}='trainer' is not understood: use 'auto'")
