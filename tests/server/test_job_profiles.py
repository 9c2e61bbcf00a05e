"""Job profiles through the REST API: the form's picker lists the spawner's job profiles
(JUPYTER_KF_JOB_PROFILES) when JupyterKF.profiles is not set, and a launch body's
``profile`` is held to its profile's limits and placement."""

from __future__ import annotations

import json

import pytest

GPU = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
FROM_SPAWNER = {
    "required": True,
    "profiles": [
        {"name": "cpu", "display_name": "CPU", "cpu": "1", "memory": "1Gi", "default": True},
        {"name": "gpu", "display_name": "GPU", "gpu": 1, "tolerations": [GPU]},
    ],
}


@pytest.fixture
def jp_server_config(jp_server_config, monkeypatch):
    monkeypatch.setenv("JUPYTER_KF_JOB_PROFILES", json.dumps(FROM_SPAWNER))
    config = dict(jp_server_config)
    config["JupyterKF"] = {k: v for k, v in config["JupyterKF"].items() if k != "profiles"}
    return config


async def test_the_picker_lists_the_spawners_job_profiles(api):
    config = (await api("GET", "config")).json
    assert [p["name"] for p in config["profiles"]] == ["cpu", "gpu"]
    assert config["profiles"][1]["tolerations"] == [GPU]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"profile": "cpu", "resources": {"cpu": "4"}}, "cpu 4 per replica is more than"),
        ({"profile": "cpu", "tolerations": [GPU]}, "is not part of job profile 'cpu'"),
        ({"profile": "huge"}, "unknown profile 'huge'; job profiles: cpu, gpu"),
    ],
)
async def test_a_launch_beyond_its_profile_is_refused(api, body, words):
    reply = await api("POST", "jobs", body={"name": "x", "cell": "1", **body})
    assert reply.status == 422, reply.body
    assert words in reply.json["message"], reply.json


async def test_a_launch_without_a_profile_gets_the_default(api, local):
    reply = await api("POST", "jobs", body={"name": "plain", "cell": "print(1)"})
    assert reply.status == 201, reply.body
    spec = reply.json["spec"]
    assert spec["profile"] == "cpu" and spec["resources"] == {"cpu": "1", "memory": "1Gi"}
