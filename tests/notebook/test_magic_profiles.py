"""``%kftrain profiles`` and ``%%kftrain --profile`` in an in-process IPython shell, against
real local jobs, with the profiles a hub's spawner puts in the notebook pod's environment."""

from __future__ import annotations

import json

import pytest

from .test_magics import run, usage_error

PROFILES = {
    "required": False,
    "profiles": [
        {"name": "small", "display_name": "Small", "cpu": "1", "memory": "1Gi"},
        {"name": "gpu", "display_name": "GPU", "gpu": 1},
    ],
}


@pytest.fixture
def hub_shell(shell, monkeypatch):
    monkeypatch.setenv("JUPYTER_KF_JOB_PROFILES", json.dumps(PROFILES))
    return shell


def test_profiles_lists_them(hub_shell, capsys):
    error, _ = run(hub_shell, "profiles")
    assert error is None, error
    out = capsys.readouterr().out
    assert "small" in out and "1/1Gi/-" in out and "gpu" in out and "-/-/1" in out


def test_a_cell_under_a_profile(hub_shell, client):
    error, job = run(
        hub_shell, "--local --profile small --workers 1 --name prof --wait", "print(1)"
    )
    assert error is None, error
    assert job.phase == "Succeeded"
    spec = client.get("prof").spec
    assert spec.profile == "small" and (spec.resources.cpu, spec.resources.memory) == ("1", "1Gi")


def test_beyond_the_profile_is_a_usage_error_and_no_job(hub_shell, capsys, client):
    message = usage_error(hub_shell, capsys, "--local --profile small --cpu 8 --name big", "1")
    assert "cpu 8 per replica is more than job profile 'small' allows (1)" in message
    message = usage_error(hub_shell, capsys, "--local --profile huge --name big", "1")
    assert "unknown profile 'huge'; job profiles: small, gpu" in message
    assert client.list() == []
