"""The panel's log viewer with a long log (issue 19, item 6), in a real browser: 20,000
lines arrive and only the rows in view are in the page; search keeps the matching lines;
scrolling up pauses following; the whole log downloads. A restarted replica's earlier
attempt is one switch away."""

from __future__ import annotations

from playwright.sync_api import expect

from jupyter_kf import Client

from .conftest import ARTIFACTS
from .test_panel import TIMEOUT, badge, open_panel

LINES = 20_000
KEPT = 10_000  # the logTailLines setting's default: the view keeps the newest lines
LONG = f"for i in range({LINES}):\n    print(f'line {{i}} of the log', flush=False)\n"


def test_long_log_is_virtualised_searchable_and_downloads(page, lab):
    open_panel(page, lab)
    Client("local").submit(name="e2e-long-log", framework="pytorch", workers=1, cell=LONG)
    page.locator('#jupyter-kf-panel li.jp-kf-job[data-job="e2e-long-log"]').click(timeout=TIMEOUT)
    expect(badge(page, "e2e-long-log")).to_have_text("Succeeded", timeout=TIMEOUT)
    log = page.locator('.jp-kf-detail[data-job="e2e-long-log"] .jp-kf-log')
    expect(log).to_have_attribute("data-lines", str(KEPT), timeout=TIMEOUT)
    # Following: the newest line is in view; only a window of rows is in the page.
    expect(log).to_contain_text(f"line {LINES - 1} of the log")
    rows = log.locator(".jp-kf-log-row")
    assert 10 < rows.count() < 200, rows.count()
    page.screenshot(path=str(ARTIFACTS / "log-01-long.png"))

    # Scrolling up pauses following, and draws the rows scrolled to.
    follow = page.locator('.jp-kf-detail input[name="follow"]')
    expect(follow).to_be_checked()
    log.evaluate("el => { el.scrollTop = 0; el.dispatchEvent(new Event('scroll')); }")
    expect(follow).not_to_be_checked()
    expect(log).to_contain_text(f"line {LINES - KEPT} of the log")
    follow.check()
    expect(log).to_contain_text(f"line {LINES - 1} of the log")

    # Search: only the matching lines, counted.
    page.locator('.jp-kf-detail input[name="log-search"]').fill("line 12345 ")
    expect(log).to_have_attribute("data-shown", "1")
    expect(log.locator(".jp-kf-log-row")).to_have_text(["line 12345 of the log"])
    expect(page.locator(".jp-kf-detail .jp-kf-log-note")).to_contain_text(
        f"1 of {KEPT} lines match"
    )
    page.screenshot(path=str(ARTIFACTS / "log-02-search.png"))

    # Download: the whole log (older lines too), as a file.
    with page.expect_download() as got:
        page.locator(".jp-kf-detail").get_by_title("Download this replica's whole log").click()
    path = got.value.path()
    text = open(path).read().splitlines()
    assert len(text) == LINES and text[-1] == f"line {LINES - 1} of the log"
    assert got.value.suggested_filename == "e2e-long-log-master-0.log"


# The master fails once (leaving a marker in its working directory), then succeeds.
TWICE = """\
import os, sys
if not os.path.exists(".ran"):
    open(".ran", "w").close()
    print("attempt zero fails", flush=True)
    sys.exit(3)
print("attempt one done", flush=True)
"""


def test_attempt_switch_shows_a_restarted_replicas_earlier_run(page, lab):
    open_panel(page, lab)
    Client("local").submit(name="e2e-twice", framework="pytorch", workers=1, cell=TWICE)
    page.locator('#jupyter-kf-panel li.jp-kf-job[data-job="e2e-twice"]').click(timeout=TIMEOUT)
    expect(badge(page, "e2e-twice")).to_have_text("Succeeded", timeout=TIMEOUT)
    detail = page.locator('.jp-kf-detail[data-job="e2e-twice"]')
    log = detail.locator(".jp-kf-log")
    expect(log).to_contain_text("attempt one done", timeout=TIMEOUT)
    attempt = detail.locator('select[name="attempt"]')
    expect(attempt.locator("option")).to_have_text(
        ["live log (attempt 1 running or last)", "attempt 0"]
    )

    attempt.select_option(label="attempt 0")
    expect(log).to_have_attribute("data-attempt", "0")
    expect(log.locator(".jp-kf-log-row")).to_have_text(["attempt zero fails"], timeout=TIMEOUT)
    expect(detail.locator(".jp-kf-log-note")).to_contain_text("Attempt 0 of master-0")
    page.screenshot(path=str(ARTIFACTS / "log-03-attempt.png"))
    page.evaluate(
        "window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})"
    )
    expect(page.locator("body[data-jp-theme-light='false']")).to_be_attached(timeout=TIMEOUT)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(ARTIFACTS / "log-03-attempt-dark.png"))

    # Back to the live log: locally the whole log, both attempts in turn.
    attempt.select_option(index=0)
    expect(log).to_have_attribute("data-attempt", "latest")
    expect(log.locator(".jp-kf-log-row")).to_have_text(["attempt zero fails", "attempt one done"])
