"""A restarted container's earlier attempt, read on the real node: the master fails once
(leaving a marker in its working directory, an emptyDir that outlives the restart), then
runs; ``logs(attempt=0)`` is the kubelet's ``previous=true`` log, ``attempt=1`` the current
one, and an attempt the kubelet does not keep says so. Read while attempt 1 runs: once a
pod has ended, the kubelet keeps only its last container (its garbage collector's one dead
container per pod), so the previous attempt's log is gone."""

from __future__ import annotations

import pytest

from jupyter_kf.errors import NotFoundError
from tests.support.waiting import wait_for

from .test_failures import spec

pytestmark = [pytest.mark.cluster, pytest.mark.realpods]

ONCE_THEN_RUNS = """\
import os, sys, time
if not os.path.exists(".ran"):
    open(".ran", "w").close()
    print("attempt zero starts", flush=True)
    print("attempt zero fails", flush=True)
    sys.exit(3)
print("attempt one runs", flush=True)
time.sleep(600)
"""


def test_previous_attempt_of_a_restarted_container(real_user):
    c = real_user.client
    c.submit(spec("twice", ONCE_THEN_RUNS))
    try:
        wait_for(
            lambda: "attempt one runs" in list(c.logs("twice")),
            timeout=240,
            what="the master's second attempt",
        )
        assert c.get("twice").replicas[0].restarts == 1

        assert list(c.logs("twice", attempt=0)) == ["attempt zero starts", "attempt zero fails"]
        assert list(c.logs("twice", attempt=1)) == ["attempt one runs"]
        assert list(c.logs("twice", attempt=0, tail_lines=1)) == ["attempt zero fails"]
        with pytest.raises(NotFoundError, match=r"current attempt and of the previous one only"):
            list(c.logs("twice", attempt=3))
    finally:
        c.delete("twice")
