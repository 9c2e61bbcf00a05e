"""Local-backend tests run real processes: jobs are cleaned up after each test, and a test
fails if any process of its jobs outlives it."""

from __future__ import annotations

import os

import psutil
import pytest

from jupyter_kf import Client


def job_processes(home) -> list[psutil.Process]:
    """Every live process belonging to a job under ``home`` (found by its env marker)."""
    marker = str(home)
    found = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if proc.pid != os.getpid() and proc.environ().get("JUPYTER_KF_JOB_DIR", "").startswith(
                marker
            ):
                if proc.status() != psutil.STATUS_ZOMBIE:
                    found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


@pytest.fixture
def client(jkf_home):
    c = Client("local")
    yield c
    for job in c.list():
        c.delete(job.name)
    assert job_processes(jkf_home) == [], "processes outlived their job"
