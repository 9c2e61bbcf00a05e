"""Shared fixtures. Every test gets its own local-backend home, so no test sees another's
jobs and none touches the user's ~/.local/share/jupyter-kf."""

from __future__ import annotations

import pytest

# The real control plane (tests/cluster): session cluster, admin client, namespaces, SA
# tokens; and notebook users on it with jupyter-kf's Role (tests/kubernetes).
pytest_plugins = ["tests.cluster.plugin", "tests.kubernetes.fixtures"]


@pytest.fixture(autouse=True)
def jkf_home(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("jkf-home")
    monkeypatch.setenv("JUPYTER_KF_HOME", str(home))
    return home
