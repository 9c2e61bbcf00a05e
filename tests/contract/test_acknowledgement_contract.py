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
        (lambda c: c.suspend("ack"), "suspending", lambda job: job.phase == "Suspended"),
        (lambda c: c.scale("ack", 3), "scaling to 3 workers", lambda job: job.workers == 3),
    ],
    ids=["suspend", "scale"],
)
def test_a_change_not_seen_in_time_is_not_acknowledged(env, change, words, carried_out):
    client, _ = env
    submit(env, "ack", workers=2, seconds=120)
    client.wait("ack", conditions=("Running",), timeout=60)
    # No controller acts between the request and the first look: nothing can be seen done.
    client.backend.ack_timeout = 0.0
    try:
        with pytest.raises(NotAcknowledgedError) as err:
            change(client)
    finally:
        client.backend.ack_timeout = ACK_TIMEOUT
    assert err.value.http_status == 504
    assert err.value.name == "ack" and words in str(err.value)
    assert client.backend.acknowledger in str(err.value)
    # The request stays in place and is carried out after all, as the message says.
    wait_for(lambda: carried_out(client.get("ack")), timeout=60, what=words)


def test_one_timeout_and_a_named_acknowledger_on_every_backend(env):
    client, _ = env
    assert client.backend.ack_timeout == ACK_TIMEOUT == 30.0
    assert client.backend.acknowledger != "the backend"  # each says who carries changes out
