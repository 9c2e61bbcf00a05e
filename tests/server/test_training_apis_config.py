"""GET /kf/api/config on the local backend: JUPYTER_KF_TRAINING_APIS speaks for a cluster,
so a notebook's local jobs keep every kind (the Kubernetes side: tests/unit and
tests/kubernetes/test_training_apis_env.py)."""

from __future__ import annotations

from jupyter_kf.jobs.kinds import KINDS


async def test_the_local_backend_offers_every_kind_whatever_the_env(api, monkeypatch):
    monkeypatch.setenv("JUPYTER_KF_TRAINING_APIS", "v2")
    reply = await api("GET", "config")
    assert reply.status == 200
    assert reply.json["backend"] == "local"
    assert [f["kind"] for f in reply.json["frameworks"]] == list(KINDS)
