"""The REST API takes restart_policy and run_policy.backoff_limit as the launch form posts
them, and a finished job's ``status.message`` is the one-line reason (jobs/explain.py)."""

from __future__ import annotations

from .conftest import until

CRASH = "print('loading data', flush=True)\nraise ValueError('boom')\n"
REASON = (
    "master-0 exited with code 1 (failed 3 times; backoff limit 3 reached): "
    "raise ValueError('boom') | ValueError: boom"
)


async def test_a_crash_ends_failed_and_every_payload_says_why(api, local):
    reply = await api("POST", "jobs", body={"name": "crash", "workers": 1, "cell": CRASH})
    assert reply.status == 201, reply.body
    assert reply.json["spec"].get("run_policy") is None  # the default limit, not written

    async def failed():
        reply = await api("GET", "jobs", "crash")
        return reply.json["status"]["phase"] == "Failed" and reply.json

    job = await until(failed, timeout=30)
    assert job["status"]["message"] == REASON
    # The operator's sentence is kept in the condition.
    assert "reached the specified backoff limit" in job["status"]["conditions"][-1]["message"]
    listed = (await api("GET", "jobs")).json["jobs"]
    assert [j["status"]["message"] for j in listed if j["name"] == "crash"] == [REASON]


async def test_the_form_s_policies_reach_the_job(api, local):
    body = {
        "name": "never",
        "workers": 1,
        "cell": CRASH,
        "restart_policy": "Never",
        "run_policy": {"backoff_limit": None},
    }
    reply = await api("POST", "jobs", body=body)
    assert reply.status == 201, reply.body
    spec = local.get("never").spec
    assert spec.restart_policy == "Never" and spec.run_policy.backoff_limit is None
    reply = await api(
        "POST", "jobs", body={"name": "seven", "cell": CRASH, "run_policy": {"backoff_limit": 7}}
    )
    assert reply.status == 201 and local.get("seven").spec.run_policy.backoff_limit == 7


async def test_bad_policies_are_refused_with_the_reason(api, local):
    reply = await api(
        "POST",
        "jobs",
        body={"name": "bad", "cell": CRASH, "run_policy": {"backoff_limit": -1}},
        check=False,
    )
    assert reply.status in (400, 422)
    assert "backoff_limit must be a whole number >= 0" in reply.body.decode()
