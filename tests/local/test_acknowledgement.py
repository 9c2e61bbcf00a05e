"""A change nobody carries out ends with ``NotAcknowledgedError`` after ``ack_timeout``, the
same error the Kubernetes backend raises when the cluster does not act."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from jupyter_kf.errors import NotAcknowledgedError
from jupyter_kf.jobs import Code, JobSpec
from tests.support.processes import job_processes
from tests.support.waiting import wait_for

SLEEP = "import time\nprint('up', flush=True)\ntime.sleep(600)\n"


@pytest.fixture
def stopped_supervisor(client, jkf_home):
    """A running job whose supervisor is stopped (SIGSTOP): alive, but it cannot act."""
    client.submit(JobSpec.create("pytorch", name="deaf", workers=2, code=Code(SLEEP)))
    wait_for(lambda: len(job_processes(jkf_home)) == 3)  # supervisor + 2 workers
    wait_for(lambda: client.get("deaf").phase == "Running")
    pid = json.loads((client.backend.root / "deaf" / "supervisor.json").read_text())["pid"]
    os.kill(pid, signal.SIGSTOP)
    try:
        yield "deaf"
    finally:
        os.kill(pid, signal.SIGCONT)


@pytest.mark.parametrize(
    "change, words",
    [
        (lambda c, name: c.suspend(name), "suspending"),
        (lambda c, name: c.scale(name, 3), "scaling to 3 workers"),
    ],
    ids=["suspend", "scale"],
)
def test_an_unacknowledged_change_is_an_error(client, stopped_supervisor, change, words):
    client.backend.ack_timeout = 1.0
    started = time.monotonic()
    with pytest.raises(NotAcknowledgedError) as err:
        change(client, stopped_supervisor)
    waited = time.monotonic() - started
    assert 1.0 <= waited < 10
    assert err.value.http_status == 504
    message = str(err.value)
    assert words in message and "supervisor" in message and "1 s" in message
    assert client.get(stopped_supervisor).phase == "Running"  # nothing acted on it
