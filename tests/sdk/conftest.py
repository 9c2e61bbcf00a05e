"""The kubeflow SDK (PyPI ``kubeflow``, pinned in benchmarks/requirements-kubeflow-sdk.txt)
beside jupyter-kf on the real control plane.

The SDK pins ``kubernetes<36``, so it lives in .venv-sdk/ (made by the Makefile's target,
``make .venv-sdk/.installed-stamp``, which ``make test`` runs first) and every SDK call here
runs in a subprocess (tests/sdk/sdk_cli.py). It acts as the same notebook user as our
client: a kubeconfig holding the user's ServiceAccount token and namespace, as a notebook
pod's user would write one.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.kubernetes.fixtures import User
from tests.sdk.sdk import ROOT, SDK_PY, Sdk, user_kubeconfig


@pytest.fixture(scope="session")
def sdk_venv() -> Path:
    """.venv-sdk with the pinned SDK (made here when missing or stale, through make)."""
    subprocess.run(["make", "-s", ".venv-sdk/.installed-stamp"], cwd=ROOT, check=True)
    return SDK_PY


@pytest.fixture(scope="session")
def sdk_site(sdk_venv) -> str:
    """.venv-sdk's site-packages: on PYTHONPATH in an SDK job's pods, it stands in for an
    image with the SDK installed (the real node mounts the checkout at the same path)."""
    return subprocess.run(
        [sdk_venv, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


@pytest.fixture
def sdk_of(sdk_venv, cluster, tmp_path):
    """Factory: the SDK acting as a ``User`` of tests/kubernetes/fixtures.py."""

    def factory(user: User) -> Sdk:
        path = user_kubeconfig(tmp_path / f"{user.namespace}.kubeconfig", cluster, user)
        return Sdk(path, user.namespace)

    return factory
