"""A replica's attempts each have their own log (issue 19, item 6's attempt switch): a job
whose master fails once, then succeeds, serves attempt 0's lines and attempt 1's apart,
while the whole log keeps both in turn. Real processes."""

from __future__ import annotations

import pytest

from jupyter_kf.errors import NotFoundError
from jupyter_kf.jobs import Code, JobSpec

# The first run leaves a marker in its working directory and fails; the second succeeds.
ONCE = """\
import os, sys
if not os.path.exists(".ran"):
    open(".ran", "w").close()
    print("attempt zero starts", flush=True)
    print("attempt zero fails", flush=True)
    sys.exit(3)
print("attempt one starts", flush=True)
print("attempt one done", flush=True)
"""


def test_each_attempt_of_a_replica_has_its_own_log(client):
    spec = JobSpec.create("pytorch", name="twice", workers=1, code=Code(ONCE))
    client.submit(spec)
    job = client.wait("twice", conditions=("Succeeded", "Failed"), timeout=60)
    assert job.phase == "Succeeded"
    assert job.replicas[0].restarts == 1

    first = list(client.logs("twice", attempt=0))
    second = list(client.logs("twice", attempt=1))
    assert first == ["attempt zero starts", "attempt zero fails"]
    assert second == ["attempt one starts", "attempt one done"]
    assert list(client.logs("twice")) == first + second  # no attempt: the whole log
    assert list(client.logs("twice", attempt=0, tail_lines=1)) == ["attempt zero fails"]
    # Following an attempt that has ended returns its lines and stops.
    assert list(client.logs("twice", attempt=0, follow=True)) == first
    assert list(client.logs("twice", attempt=1, follow=True)) == second

    with pytest.raises(NotFoundError, match="has no attempt 2; its attempts are 0, 1"):
        list(client.logs("twice", attempt=2))
