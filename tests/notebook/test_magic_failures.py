"""``%%kftrain --wait``/``--follow`` and ``jupyter kf submit --wait`` of a crashing job return
under the defaults, and say why in one line; ``--restart-policy`` and ``--backoff-limit``
reach the job, and bad values are refused with a clear message."""

from __future__ import annotations

import time

import pytest

from jupyter_kf import cli

from .test_magics import run, usage_error

CRASH = "print('loading data', flush=True)\nraise ValueError('boom')\n"


@pytest.mark.parametrize("how", ["--wait", "--follow"])
def test_wait_and_follow_of_a_crash_return_failed_with_the_reason(shell, capsys, client, how):
    start = time.monotonic()
    error, job = run(shell, f"--name crash --workers 1 {how}", CRASH)
    took = time.monotonic() - start
    assert error is None, error
    assert job.phase == "Failed" and took < 20, f"{job.phase} after {took:.1f} s"
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("crash: "))
    assert line == (
        "crash: Failed: master-0 exited with code 1 (failed 3 times; backoff limit 3 reached): "
        "raise ValueError('boom') | ValueError: boom"
    )
    if how == "--wait":
        assert "the end of master-0's log:\nloading data\nTraceback" in out


def test_restart_policy_and_backoff_limit_reach_the_job(shell, capsys, client):
    error, job = run(
        shell, "--name never --restart-policy never --backoff-limit none --wait", CRASH
    )
    assert error is None, error
    assert job.spec.restart_policy == "Never" and job.spec.run_policy.backoff_limit is None
    assert job.phase == "Failed" and job.replicas[0].restarts == 0
    error, job = run(shell, "--name zero --backoff-limit 0", "print(1)")
    assert error is None, error
    assert job.spec.run_policy.backoff_limit == 0 and job.spec.restart_policy is None


@pytest.mark.parametrize(
    "option,message",
    [
        ("--backoff-limit -1", "or 'none' for no limit, not '-1'"),
        ("--backoff-limit many", "or 'none' for no limit, not 'many'"),
        ("--restart-policy sometimes", "must be one of Always, OnFailure, Never, ExitCode"),
    ],
)
def test_bad_policy_values_are_refused(shell, capsys, client, option, message):
    assert message in usage_error(shell, capsys, f"--name bad {option}", "print(1)")


def test_cli_submit_wait_of_a_crash_exits_non_zero_with_the_reason(capsys, client, tmp_path):
    script = tmp_path / "crash.py"
    script.write_text(CRASH)
    start = time.monotonic()
    rc = cli.main(["--backend", "local", "submit", str(script), "--name", "clicrash", "--wait"])
    assert rc == 1 and time.monotonic() - start < 20
    out, err = capsys.readouterr()
    reason = (
        "Failed: master-0 exited with code 1 (failed 3 times; backoff limit 3 reached): "
        "raise ValueError('boom') | ValueError: boom"
    )
    assert f"error: clicrash: {reason}\n" == err
    assert f"PyTorchJob clicrash (local/local): Failed\n  {reason}\n" in out


def test_cli_policies_reach_the_job(capsys, client, tmp_path):
    script = tmp_path / "crash.py"
    script.write_text(CRASH)
    argv = ["--backend", "local", "submit", str(script), "--name", "clinever", "--follow"]
    rc = cli.main([*argv, "--restart-policy", "Never", "--backoff-limit", "5"])
    assert rc == 1
    job = client.get("clinever")
    assert job.spec.restart_policy == "Never" and job.spec.run_policy.backoff_limit == 5
    assert "ValueError: boom" in capsys.readouterr().out  # followed, then the summary


def test_the_widget_status_line_says_why(client):
    from jupyter_kf.widgets import JobMonitor
    from tests.support.waiting import wait_for

    client.submit(name="widgetcrash", framework="pytorch", cell=CRASH)
    monitor = JobMonitor("widgetcrash", client)
    try:
        wait_for(lambda: monitor.phase == "Failed", timeout=30, what="Failed")
        wait_for(lambda: not monitor.live, timeout=10, what="the updater to end")
        assert (
            "master-0 exited with code 1 (failed 3 times; backoff limit 3 reached): "
            "raise ValueError(&#x27;boom&#x27;) | ValueError: boom" in monitor.header.value
        )
    finally:
        monitor.close()
        monitor.updater.join(10)
