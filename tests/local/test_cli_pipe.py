"""The CLI as a shell user pipes it: a reader that stops early gets no traceback."""

from __future__ import annotations

import subprocess
import sys

from jupyter_kf import Client
from jupyter_kf.jobs import Code, JobSpec
from tests.support.waiting import wait_for


def test_logs_into_head_ends_quietly(jkf_home):
    client = Client("local")
    lines = "\n".join(f"print('line {i}')" for i in range(20000))
    client.submit(JobSpec.create("pytorch", name="chatty", code=Code(lines)))
    wait_for(lambda: client.get("chatty").phase == "Succeeded", 60)
    cli = [sys.executable, "-m", "jupyter_kf.cli", "--backend", "local", "logs", "chatty"]
    head = subprocess.run(
        f"{subprocess.list2cmdline(cli)} | head -n 3",
        shell=True,  # the pipe is the point; every word is ours, none from input
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert head.stdout.splitlines() == ["line 0", "line 1", "line 2"]
    assert "Traceback" not in head.stderr and "BrokenPipeError" not in head.stderr, head.stderr
