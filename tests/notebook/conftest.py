"""Fixtures for the notebook layer: an in-process IPython shell with the extension loaded,
a local client, and scripts for real local jobs. Every job is deleted after its test and
no job process may outlive it (the same rule as tests/local)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell

from jupyter_kf import Client
from tests.support.processes import job_processes

# A job that prints its rank, reports a metric point every 0.1 s and ends (exit 0) when the
# file named by $STOP_FILE appears, or after about a minute.
WORKER = textwrap.dedent("""
    import os, time
    rank = os.environ.get("RANK", "?")
    print(f"hello from rank {rank}", flush=True)
    stop = os.environ.get("STOP_FILE", "")
    for step in range(600):
        if stop and os.path.exists(stop):
            break
        print(f"step={step} loss={1.0 / (step + 1):.4f}", flush=True)
        time.sleep(0.1)
    print(f"rank {rank} done", flush=True)
""")


@pytest.fixture
def client(jkf_home):
    c = Client("local")
    yield c
    for job in c.list():
        c.delete(job.name)
    assert job_processes(jkf_home) == [], "processes outlived their job"


@pytest.fixture
def worker_script(tmp_path) -> Path:
    path = tmp_path / "worker.py"
    path.write_text(WORKER)
    return path


@pytest.fixture
def stop_file(tmp_path) -> Path:
    return tmp_path / "STOP"


@pytest.fixture
def shell(client, tmp_path, monkeypatch):
    """IPython's shell with ``%load_ext jupyter_kf`` done, as in a terminal (no kernel).

    It works in a folder of its own, as a notebook does in its own folder: a cell's local
    imports are shipped from the working directory (see jupyter_kf.packaging). No cluster is
    configured, so the default backend (auto) is the local one.
    """
    from jupyter_kf import load_ipython_extension, unload_ipython_extension

    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.chdir(tmp_path)
    ip = InteractiveShell.instance()
    load_ipython_extension(ip)
    yield ip
    unload_ipython_extension(ip)
    ip.config.pop("KFTrainMagics", None)  # %config in one test must not leak into the next
