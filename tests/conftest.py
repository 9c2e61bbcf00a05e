"""Shared fixtures. Every test gets its own local-backend home, so no test sees another's
jobs and none touches the user's ~/.local/share/jupyter-kf.

Markers name what a test needs (registered in pyproject.toml). The ones that follow from a
fixture are added here, so a test can't forget them and `pytest -m "not cluster"` never
picks a test that would start the control plane."""

from __future__ import annotations

import pytest

# The real control plane (tests/cluster): session cluster, admin client, namespaces, SA
# tokens; and notebook users on it with jupyter-kf's Role (tests/kubernetes).
pytest_plugins = ["tests.cluster.plugin", "tests.kubernetes.fixtures"]

# fixture -> the marker of every test that uses it, directly or through other fixtures.
# A fixture asked for at run time (request.getfixturevalue) is not seen here: such a test
# marks its parameter itself (tests/contract does).
MARKER_OF_FIXTURE = {
    "cluster": "cluster",  # the control plane from tests/cluster
    "real_namespace": "realpods",  # pods there run on the real node (kubelet + containerd)
    "real_user": "realpods",  # a notebook user whose jobs run on the real node
    "realnode_hub_factory": "realpods",  # a real hub whose notebook pods run on the real node
    "hub_factory": "hub",  # a real JupyterHub process and its proxy
    "page": "browser",  # Chromium driven by Playwright
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        for fixture, marker in MARKER_OF_FIXTURE.items():
            if fixture in used and item.get_closest_marker(marker) is None:
                item.add_marker(marker)


@pytest.fixture(autouse=True)
def jkf_home(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("jkf-home")
    monkeypatch.setenv("JUPYTER_KF_HOME", str(home))
    return home
