"""The side panel, live, in a real browser (issue 19): progress (elapsed time, steps/s, ETA
from ``report(total_steps=)``) and ages that tick; a job that restarted shows each attempt as
its own line; a resumed job's log follows again; a job that ends while the user looks
elsewhere raises a JupyterLab notification whose link opens it."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from jupyter_kf import Client

from .conftest import ARTIFACTS
from .test_panel import TIMEOUT, badge, open_panel

PROGRESS = """\
import time
import jupyter_kf
for step in range(40):
    jupyter_kf.report(step=step, total_steps=40, loss=1.0 / (step + 1))
    time.sleep(0.3)
"""
# The first attempt fails after 5 steps; the restarted one (same folder: the marker) ends.
FLAKY = """\
import os, sys, time
import jupyter_kf
first = not os.path.exists("marker")
open("marker", "w").close()
for step in range(5 if first else 8):
    jupyter_kf.report(step=step, loss=(2.0 if first else 1.0) / (step + 1))
    time.sleep(0.1)
sys.exit(1 if first else 0)
"""
TICKER = """\
import time
n = 0
while True:
    print(f"tick {n}", flush=True)
    n += 1
    time.sleep(0.3)
"""


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def seconds(text: str) -> int:
    m = re.search(r"elapsed (?:(\d+)m )?(\d+)s", text)
    assert m, text
    return int(m.group(1) or 0) * 60 + int(m.group(2))


def test_progress_ticks_and_a_finished_job_notifies(page, lab):
    client = Client("local")
    open_panel(page, lab)
    client.submit(name="e2e-progress", framework="pytorch", workers=1, cell=PROGRESS)
    row = page.locator('#jupyter-kf-panel li.jp-kf-job[data-job="e2e-progress"]')
    expect(row.locator(".jp-kf-badge")).to_have_text("Running", timeout=TIMEOUT)
    # The list's age ticks by itself (no event arrives for it).
    age = row.locator(".jp-kf-age")
    expect(age).not_to_have_text(age.inner_text(), timeout=5000)

    row.click()
    progress = page.locator('.jp-kf-detail[data-job="e2e-progress"] .jp-kf-progress')
    expect(progress).to_contain_text("steps/s", timeout=TIMEOUT)
    expect(progress).to_contain_text(re.compile(r"\d+/40 steps"))
    expect(progress).to_contain_text("ETA")
    first = seconds(progress.inner_text())
    page.wait_for_timeout(2200)
    assert seconds(progress.inner_text()) >= first + 2  # elapsed ticks
    shot(page, "live-01-progress")

    # Back to the list: the job ends while nobody looks at it, and Lab says so.
    page.locator(".jp-kf-detail").get_by_role("button", name="Back").click()
    toast = page.locator(".jp-Notification-Toast-success, .Toastify__toast").filter(
        has_text="Training job e2e-progress succeeded"
    )
    expect(toast).to_be_visible(timeout=TIMEOUT)
    shot(page, "live-02-notification")
    toast.get_by_role("button", name="Show job").click()
    expect(badge(page, "e2e-progress")).to_have_text("Succeeded")
    expect(progress).to_contain_text("40/40 steps")


def test_attempts_restarting_and_resume(page, lab):
    client = Client("local")
    open_panel(page, lab)
    client.submit(
        name="e2e-flaky",
        framework="pytorch",
        workers=1,
        cell=FLAKY,
        restart_policy="OnFailure",
    )
    row = page.locator('#jupyter-kf-panel li.jp-kf-job[data-job="e2e-flaky"]')
    row.click()
    detail = page.locator('.jp-kf-detail[data-job="e2e-flaky"]')
    expect(badge(page, "e2e-flaky")).to_have_text("Succeeded", timeout=TIMEOUT)
    chart = detail.locator('[data-metric="loss"]')
    expect(chart.locator("polyline")).to_have_count(2, timeout=TIMEOUT)
    expect(chart).to_contain_text("2 attempts")
    expect(chart.locator("polyline.jp-kf-attempt-old")).to_have_count(1)
    # report()'s machine-readable lines feed the chart, not the log.
    expect(detail.locator(".jp-kf-log")).not_to_contain_text("@@jupyter-kf-metric")
    shot(page, "live-03-attempts")

    # Suspend, then resume: the log follows the resumed job (not "End of log.").
    detail.get_by_role("button", name="Back").click()
    client.submit(name="e2e-resume", framework="pytorch", workers=1, cell=TICKER)
    page.locator('#jupyter-kf-panel li.jp-kf-job[data-job="e2e-resume"]').click()
    resumed = page.locator('.jp-kf-detail[data-job="e2e-resume"]')
    log = resumed.locator(".jp-kf-log")
    expect(log).to_contain_text("tick 3", timeout=TIMEOUT)
    resumed.get_by_role("button", name="Suspend").click()
    expect(badge(page, "e2e-resume")).to_have_text("Suspended", timeout=TIMEOUT)
    resumed.get_by_role("button", name="Resume").click()
    expect(badge(page, "e2e-resume")).to_have_text("Running", timeout=TIMEOUT)
    before = int(log.get_attribute("data-lines") or 0)
    page.wait_for_function(
        "([sel, n]) => Number(document.querySelector(sel)?.dataset.lines) > n",
        arg=['.jp-kf-detail[data-job="e2e-resume"] .jp-kf-log', before + 3],
        timeout=TIMEOUT,
    )
    expect(resumed.locator(".jp-kf-log-note")).to_have_count(0)
    shot(page, "live-04-resumed")
    client.delete("e2e-resume")
