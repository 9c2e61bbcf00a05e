"""A requested change that is not seen carried out within ``Backend.ack_timeout`` is the same
error on every backend: ``NotAcknowledgedError`` (HTTP 504), never silence or a bare 500."""

import pytest

from jupyter_kf.backends.base import ACK_TIMEOUT
from jupyter_kf.errors import NotAcknowledgedError
from tests.support.waiting import wait_for

from .test_backend_contract import submit


@pytest.mark.parametrize(
    "change, words, carried_out",
    [
        (
            lambda c, n: c.suspend("ack"),
            lambda n: "suspending",
            lambda job, n: job.phase == "Suspended",
        ),
        (
            lambda c, n: c.scale("ack", 2 + n),
            lambda n: f"scaling to {2 + n} workers",
            lambda job, n: job.workers == 2 + n,
        ),
    ],
    ids=["suspend", "scale"],
)
def test_a_change_not_seen_in_time_is_not_acknowledged(env, change, words, carried_out):
    client, _ = env
    submit(env, "ack", workers=2, seconds=120)
    client.wait("ack", conditions=("Running",), timeout=60)
    # No controller acts between the request and the first look. On Kubernetes the API
    # server's watch is part of the acknowledger, though: it may deliver a resized spec
    # before the first look, which is a change seen in time (about one try in four on the
    # test cluster). So ask for another size until one is not seen.
    client.backend.ack_timeout = 0.0
    try:
        for n in range(1, 6):
            try:
                change(client, n)
            except NotAcknowledgedError as exc:
                err = exc
                break
        else:
            pytest.fail("every change was seen carried out within 0 s")
    finally:
        client.backend.ack_timeout = ACK_TIMEOUT
    assert err.http_status == 504
    assert err.name == "ack" and words(n) in str(err)
    assert client.backend.acknowledger in str(err)
    # The request stays in place and is carried out after all, as the message says.
    wait_for(lambda: carried_out(client.get("ack"), n), timeout=60, what=words(n))


def test_one_timeout_and_a_named_acknowledger_on_every_backend(env):
    client, _ = env
    assert client.backend.ack_timeout == ACK_TIMEOUT == 30.0
    assert client.backend.acknowledger != "the backend"  # each says who carries changes out
