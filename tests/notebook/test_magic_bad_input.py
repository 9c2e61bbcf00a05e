"""Input of 10 KB, or with control characters, in a ``%%kftrain`` line: a clear message
(IPython's UsageError, shown without a traceback) and no job; or, where the input is
legitimate (a 10 KB script argument), a job that gets it intact."""

from __future__ import annotations

import pytest

from .test_magics import run, usage_error

TEN_KB = 10 * 1024


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("--name " + "a" * TEN_KB, f"({TEN_KB + len('-master-0')} characters, at most 63)"),
        ("--name bell\x07", "name 'bell\\x07' is not allowed"),
        ("--name esc\x1b[31m", "is not allowed"),
        ("--name ok --env K\x01=v", "env name 'K\\x01' is not allowed"),
        ("--name ok --workers " + "9" * TEN_KB, "workers"),
    ],
    ids=["long-name", "bell-name", "escape-name", "ctl-env-name", "long-workers"],
)
def test_bad_line_is_a_usage_error_and_no_job(shell, capsys, client, line, says):
    message = usage_error(shell, capsys, line, "print(1)")
    assert says in message, message[:500]
    assert client.list() == []


def test_a_10_kb_argument_reaches_the_script_intact(shell, client):
    arg = "x" * TEN_KB
    error, job = run(
        shell, f"--name longarg --wait -- {arg}", "import sys\nprint(len(sys.argv[1]))"
    )
    assert error is None, error
    assert job.phase == "Succeeded"
    assert list(client.logs("longarg")) == [str(TEN_KB)]
