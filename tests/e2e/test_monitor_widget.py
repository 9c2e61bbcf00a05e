"""The JobMonitor widget drawn by a real JupyterLab in Chromium: a notebook's ``%%kftrain``
cell launches a 2-worker job on the local backend; the widget under the cell shows it
Running, its replicas, rank 0's log tail and the loss plot as points arrive; Scale resizes
the job; Delete asks first, then deletes the job for real. Saved and reopened, the notebook
shows the monitor from its saved state, and stays small."""

from __future__ import annotations

import json
import re

import nbformat
from playwright.sync_api import expect

from .conftest import ARTIFACTS

TIMEOUT = 90_000
CELL = """\
%%kftrain --local --workers 2 --name nb-monitor
import os, time
import jupyter_kf
rank = int(os.environ["RANK"])
print(f"rank {rank} of {os.environ['WORLD_SIZE']} starting", flush=True)
for step in range(400):
    if rank == 0:
        jupyter_kf.report(step=step, total_steps=400, loss=1.0 / (step + 1))
        print(f"step {step}", flush=True)
    time.sleep(0.25)
"""


def jobs(lab) -> dict:
    return {j["name"]: j for j in json.loads(lab.api("jobs"))["jobs"]}


def test_monitor_widget_in_lab(page, lab):
    nb = nbformat.v4.new_notebook(
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        }
    )
    nb.cells = [nbformat.v4.new_code_cell("%load_ext jupyter_kf"), nbformat.v4.new_code_cell(CELL)]
    nbformat.write(nb, lab.root / "monitor.ipynb")

    page.goto(f"{lab.url}/lab/tree/monitor.ipynb?token={lab.token}", wait_until="domcontentloaded")
    expect(page.locator(".jp-Notebook .jp-Cell")).to_have_count(2, timeout=TIMEOUT)
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget?.sessionContext"
        "?.session?.kernel?.connectionStatus === 'connected'"
        " && window.jupyterapp.shell.currentWidget.sessionContext"
        ".session.kernel.status === 'idle'",
        timeout=TIMEOUT,
    )
    # Not awaited: the command's promise settles only when every cell has run.
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")

    widget = page.locator(".jp-Cell").nth(1).locator(".jp-OutputArea-output .widget-vbox").first
    header = widget.locator(".jkf-header")
    expect(header.locator(".jkf-badge")).to_have_text("Running", timeout=TIMEOUT)
    expect(header).to_contain_text("PyTorchJob nb-monitor")
    expect(header).to_contain_text("live")
    replicas = widget.locator("table.jkf-replicas tbody tr")
    expect(replicas).to_have_count(2)
    expect(replicas.nth(0)).to_contain_text("Master")
    expect(replicas.nth(1)).to_contain_text("Worker")
    # The log tail (our anywidget) and the loss chart (SVG) both render and update.
    log = widget.locator(".jkf-log")
    expect(log).to_contain_text("rank 0 of 2 starting", timeout=TIMEOUT)
    expect(log).to_contain_text("step 5", timeout=TIMEOUT)
    chart = widget.locator('svg.jkf-chart[data-metric="loss"]')
    expect(chart.locator("polyline")).to_have_count(1, timeout=TIMEOUT)
    expect(widget.locator('svg.jkf-chart[data-metric="total_steps"]')).to_have_count(0)
    # Progress from report(total_steps=): it ticks in the browser.
    progress = widget.locator(".jkf-progress")
    expect(progress).to_contain_text(re.compile(r"\d+/400 steps"), timeout=TIMEOUT)
    expect(progress).to_contain_text("steps/s", timeout=TIMEOUT)
    expect(progress).to_contain_text("ETA")
    expect(progress).not_to_have_text(progress.inner_text(), timeout=5000)
    page.wait_for_timeout(1500)
    widget.screenshot(path=str(ARTIFACTS / "monitor-running.png"))
    page.evaluate(
        "window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})"
    )
    expect(page.locator("body[data-jp-theme-light='false']")).to_be_attached(timeout=TIMEOUT)
    page.wait_for_timeout(1000)
    widget.screenshot(path=str(ARTIFACTS / "monitor-running-dark.png"))
    page.evaluate(
        "window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'})"
    )

    # Scale from the widget: the job restarts with 3 workers, as the REST API also reports.
    widget.locator(".widget-inline-hbox input[type='number']").fill("3")
    widget.locator("button.widget-button", has_text="Scale").click()
    expect(replicas).to_have_count(3, timeout=TIMEOUT)
    assert jobs(lab)["nb-monitor"]["workers"] == 3

    # Delete asks first; Cancel keeps the job; "Yes, delete" deletes it.
    widget.locator("button.widget-button[title='Delete']").click()
    expect(widget).to_contain_text("Delete job nb-monitor?")
    widget.get_by_role("button", name="Cancel").click()
    assert "nb-monitor" in jobs(lab)
    widget.locator("button.widget-button[title='Delete']").click()
    widget.get_by_role("button", name="Yes, delete").click()
    expect(header.locator(".jkf-badge")).to_have_text("Deleted", timeout=TIMEOUT)
    expect(header).to_contain_text("not updating")
    # The clock stops with the job: no ETA for a deleted job.
    expect(progress).not_to_contain_text("ETA", timeout=5000)
    assert "nb-monitor" not in jobs(lab)
    assert (
        not page.locator(".jp-Cell")
        .nth(1)
        .locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        .count()
    )

    # Saved (widget state included: 5 MB before, when the chart was plotly's), then reopened
    # with a fresh kernel: the monitor renders from the saved state, no "model not found".
    page.evaluate("window.jupyterapp.commands.execute('docmanager:save')")
    path = lab.root / "monitor.ipynb"
    page.wait_for_function(
        "() => !window.jupyterapp.shell.currentWidget.context.model.dirty", timeout=TIMEOUT
    )
    saved = nbformat.read(path, as_version=4)
    assert "application/vnd.jupyter.widget-state+json" in saved.metadata.get("widgets", {})
    size = path.stat().st_size
    (ARTIFACTS / "monitor-notebook-size.txt").write_text(f"{size}\n")
    assert size < 200_000, size
    page.reload(wait_until="domcontentloaded")
    reopened = page.locator(".jp-Cell").nth(1).locator(".jp-OutputArea-output").first
    expect(reopened.locator(".jkf-header .jkf-badge")).to_have_text("Deleted", timeout=TIMEOUT)
    expect(reopened).not_to_contain_text("model not found")
    reopened.screenshot(path=str(ARTIFACTS / "monitor-reopened.png"))
