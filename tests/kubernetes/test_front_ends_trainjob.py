"""``jupyter kf`` as a notebook user runs it against the real control plane (Trainer v2.3.0
installed, the training operator serving v1): ``runtimes`` lists the stock runtimes, an
unknown runtime is the cluster's own message (exit 2, no traceback), ``--runtime --nodes``
makes a TrainJob whose nodes ``status`` shows, ``kind/name`` reaches it, and no
``--framework`` leaves the kind to the cluster (a PyTorchJob where v1 is served)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.notebook.test_notebook_cluster import user_kubeconfig
from tests.support.images import IMAGE

pytestmark = [pytest.mark.cluster, pytest.mark.trainjob]

JUPYTER = Path(sys.executable).with_name("jupyter")


@pytest.fixture
def kf(tmp_path, cluster, user):
    kubeconfig = user_kubeconfig(tmp_path / "kubeconfig", cluster, user.api, user.namespace)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_")}
    env.update(KUBECONFIG=kubeconfig, JUPYTER_KF_IMAGE=IMAGE)
    script = tmp_path / "train.py"
    script.write_text("print('hi')\n")

    def run(*argv: str, ok: bool = True) -> subprocess.CompletedProcess:
        argv = tuple(str(script) if a == "SCRIPT" else a for a in argv)
        done = subprocess.run(
            [str(JUPYTER), "kf", "--backend", "kubernetes", *argv],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        if ok:
            assert done.returncode == 0, (argv, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr, done.stderr
        return done

    return run


def test_runtimes_unknown_runtime_and_a_trainjob(kf, user):
    table = kf("runtimes").stdout
    assert table.splitlines()[0].split() == ["NAME", "FRAMEWORK/PLUGIN", "NODES", "IMAGE"]
    listed = {r["name"]: r for r in json.loads(kf("runtimes", "--json").stdout)}
    assert "torch-distributed" in listed and listed["torch-distributed"]["mlPolicy"] == "torch"

    refused = kf("submit", "SCRIPT", "--name", "x", "--runtime", "nope", ok=False)
    assert refused.returncode == 2
    assert "named 'nope'" in refused.stderr and "torch-distributed" in refused.stderr
    assert user.client.list() == []

    out = kf("submit", "SCRIPT", "--name", "tj", "--runtime", "torch-distributed", "--nodes", "2")
    assert "submitted TrainJob tj (2 nodes)" in out.stdout
    status = json.loads(kf("status", "trainjob/tj", "--json").stdout)
    assert status["kind"] == "TrainJob" and status["workers"] == 2
    assert "nodes: 2  runtime: torch-distributed" in kf("status", "tj").stdout

    out = kf("submit", "SCRIPT", "--name", "auto")
    assert "submitted PyTorchJob auto" in out.stdout
    kf("delete", "trainjob/tj")
    kf("delete", "auto")
