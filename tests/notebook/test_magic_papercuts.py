"""Issue 19, item 9's rest, against real local jobs: ``%kftrain?`` reads as text (no rST
"::", the usage once); times read as clock times and ages, not raw RFC 3339; ``%kftrain
status`` returns the job (which shows itself) and ``--short`` prints one line for a loop."""

from __future__ import annotations

import re
import time

from jupyter_kf.display import age, events_table, jobs_table, status_line, when
from jupyter_kf.jobs import Event
from tests.support.waiting import wait_for

ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")


def test_help_is_text_without_rst_or_repeats(shell):
    doc = shell.find_line_magic("kftrain").__doc__
    assert doc.startswith("Usage:\n  %%kftrain [options]")
    assert "::" not in doc
    assert doc.count("monitor NAME") == 1 and doc.count("suspend NAME") == 1


def test_times_are_clock_times_and_ages():
    now = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 125))
    # Today's time of day (or, just after midnight, yesterday's date and time).
    assert re.fullmatch(r"\d\d:\d\d:\d\d|[A-Z][a-z]{2} \d\d \d\d:\d\d", when(stamp, now))
    assert age(stamp, now) == "2m 05s"
    assert when("not a time") == "not a time" and age(None) == "-"
    text = events_table(
        [Event(time=stamp, type="Normal", reason="Started", object="m-0", message="hi")]
    )
    assert not ISO.search(text), text


def test_status_returns_the_job_and_short_is_one_line(shell, capsys, client, worker_script):
    report = worker_script.parent / "report.py"
    report.write_text(
        "import time, jupyter_kf\n"
        "for step in range(200):\n"
        "    jupyter_kf.report(step=step, total_steps=200, loss=1 / (step + 1))\n"
        "    time.sleep(0.05)\n"
    )
    shell.run_line_magic("kftrain", f"--name papercut {report}")
    wait_for(lambda: len(client.metrics("papercut")) >= 5, what="metric points")
    capsys.readouterr()

    job = shell.run_line_magic("kftrain", "status papercut")
    assert job.name == "papercut" and job.phase in ("Running", "Succeeded")
    assert capsys.readouterr().out == ""  # it shows itself when displayed, not twice

    for _ in range(3):  # in a loop: one line each
        assert shell.run_line_magic("kftrain", "status papercut --short") is None
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3, lines
    assert re.match(r"papercut: (Running|Succeeded) · 2 workers · elapsed \d+s · ", lines[0]), lines
    assert re.search(r"\d+/200 steps", lines[-1]), lines

    listing = jobs_table(client.list())
    assert "AGE" in listing and not ISO.search(listing), listing
    assert not ISO.search(status_line(job))
