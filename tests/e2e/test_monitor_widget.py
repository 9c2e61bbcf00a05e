"""The JobMonitor widget drawn by a real JupyterLab in Chromium: a notebook's ``%%kftrain``
cell launches a 2-worker job on the local backend; the widget under the cell shows it
Running, its replicas, rank 0's log tail and the loss plot as points arrive; Scale resizes
the job; Delete asks first, then deletes the job for real."""

from __future__ import annotations

import json

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
        jupyter_kf.report(step=step, loss=1.0 / (step + 1))
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
    # The log tail (our anywidget) and the loss plot (plotly's) both render and update.
    log = widget.locator(".jkf-log")
    expect(log).to_contain_text("rank 0 of 2 starting", timeout=TIMEOUT)
    expect(log).to_contain_text("step 5", timeout=TIMEOUT)
    expect(widget.locator(".js-plotly-plot .scatterlayer .trace")).to_have_count(1, timeout=TIMEOUT)
    expect(widget.locator(".js-plotly-plot .legendtext")).to_have_text("loss")
    page.wait_for_timeout(1500)
    widget.screenshot(path=str(ARTIFACTS / "monitor-running.png"))

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
    assert "nb-monitor" not in jobs(lab)
    assert (
        not page.locator(".jp-Cell")
        .nth(1)
        .locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        .count()
    )
