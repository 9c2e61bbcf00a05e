"""The backend contract suite: every backend runs these same tests (STYLE.md item 2).

A backend joins by adding its name to ``BACKENDS`` and a branch to ``make``; the Kubernetes
backend adds itself with a namespace on the real control plane from tests/cluster.
"""

from __future__ import annotations

import pytest

from jupyter_kf import Client

BACKENDS = ["local"]


def make(name: str, request) -> Client:
    if name == "local":
        return Client("local")
    raise AssertionError(f"no contract fixture for backend {name}")


@pytest.fixture(params=BACKENDS)
def client(request):
    c = make(request.param, request)
    yield c
    for job in c.list():
        c.delete(job.name)
    c.close()
