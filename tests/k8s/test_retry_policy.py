"""Which failures the door retries, and how long it waits (pure: no API server needed)."""

from __future__ import annotations

import pytest
import urllib3
from kubernetes.client.exceptions import ApiException

from jupyter_kf.k8s.api import RetryPolicy, retry_delay

POLICY = RetryPolicy(base=1.0, cap=8.0, retry_after_cap=10.0)


def answer(status: int, retry_after: str | None = None) -> ApiException:
    exc = ApiException(status=status, reason="test")
    exc.headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return exc


REFUSED = urllib3.exceptions.MaxRetryError(
    None, "/", urllib3.exceptions.NewConnectionError(None, "refused")
)
RESET = urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError(104))


@pytest.mark.parametrize(
    ("exc", "idempotent", "retried"),
    [
        (answer(503), True, True),
        (answer(500), True, True),
        (answer(502), True, True),
        (answer(504), True, True),
        (answer(429), True, True),
        (answer(403), True, False),
        (answer(404), True, False),
        (answer(409), True, False),
        (answer(422), True, False),
        (answer(401), True, False),
        (RESET, True, True),
        (REFUSED, True, True),
        (ConnectionResetError(104), True, True),
        (answer(0, None), True, True),  # the client's TLS failures
        (ApiException(status=0, reason="SSLError CERTIFICATE_VERIFY_FAILED"), True, False),
        # A create or delete: only what the API server certainly did not act on.
        (answer(429), False, True),
        (answer(503, "1"), False, True),
        (answer(503), False, False),
        (answer(500), False, False),
        (answer(504), False, False),
        (RESET, False, False),
        (REFUSED, False, True),
    ],
)
def test_what_is_retried(exc, idempotent, retried):
    delay = retry_delay(exc, idempotent=idempotent, attempt=0, policy=POLICY)
    assert (delay is not None) == retried


def test_retry_after_is_honoured_and_capped():
    assert retry_delay(answer(429, "3"), idempotent=True, attempt=0, policy=POLICY) == 3.0
    assert retry_delay(answer(503, "3600"), idempotent=True, attempt=0, policy=POLICY) == 10.0
    # The HTTP-date form is not read: the back-off stands in.
    dated = retry_delay(
        answer(503, "Fri, 04 Dec 2026 19:00:00 GMT"), idempotent=True, attempt=0, policy=POLICY
    )
    assert 0.5 <= dated <= 1.0


def test_backoff_grows_with_jitter_up_to_the_cap():
    for attempt, (lo, hi) in enumerate([(0.5, 1), (1, 2), (2, 4), (4, 8), (4, 8), (4, 8)]):
        delays = [POLICY.backoff(attempt) for _ in range(200)]
        assert all(lo <= d <= hi for d in delays)
        assert len(set(delays)) > 100  # jittered: clients that failed together spread out
