"""Local-backend tests run real processes: jobs are cleaned up after each test, and a test
fails if any process of its jobs outlives it."""

from __future__ import annotations

import pytest

from jupyter_kf import Client
from tests.support.processes import job_processes


@pytest.fixture
def client(jkf_home):
    c = Client("local")
    yield c
    for job in c.list():
        c.delete(job.name)
    assert job_processes(jkf_home) == [], "processes outlived their job"
