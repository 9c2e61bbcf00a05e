"""The JobMonitor widget drawn by a real JupyterLab in Chromium: a notebook's ``%%kftrain``
cell launches a 2-worker job on the local backend; the widget under the cell shows it
Running, its replicas, rank 0's log tail and the loss plot as points arrive; Scale resizes
the job; Delete asks first, then deletes the job for real, and the output becomes the final
snapshot. Saved with Lab's default settings and reopened with no kernel, the notebook shows
that snapshot (so does nbconvert's HTML), and stays small."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request

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


def jupyter_api(lab, path: str, method: str = "GET") -> bytes:
    request = urllib.request.Request(
        f"{lab.url}/api/{path}", method=method, headers={"Authorization": f"token {lab.token}"}
    )
    return urllib.request.urlopen(request, timeout=30).read()


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
    # Deleted, the output becomes the final snapshot alone: what a saved notebook keeps.
    outputs = page.locator(".jp-Cell").nth(1).locator(".jp-OutputArea")
    final = outputs.locator(".jkf-snapshot")
    expect(final.locator(".jkf-header .jkf-badge")).to_have_text("Deleted", timeout=TIMEOUT)
    expect(final.locator(".jkf-header")).to_contain_text("not updating")
    expect(outputs.locator(".widget-vbox")).to_have_count(0)
    # The clock stopped with the job: no ETA for a deleted job.
    expect(final.locator(".jkf-progress")).not_to_contain_text("ETA")
    assert "nb-monitor" not in jobs(lab)
    assert not outputs.locator(
        ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
    ).count()

    # Saved with Lab's default settings (no widget state), then reopened with no kernel:
    # the final status, the chart and the log tail show, no "model not found".
    page.evaluate("window.jupyterapp.commands.execute('docmanager:save')")
    path = lab.root / "monitor.ipynb"
    page.wait_for_function(
        "() => !window.jupyterapp.shell.currentWidget.context.model.dirty", timeout=TIMEOUT
    )
    saved = nbformat.read(path, as_version=4)
    assert "widgets" not in saved.metadata
    assert not [
        o
        for o in saved.cells[1].outputs
        if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]
    size = path.stat().st_size
    (ARTIFACTS / "monitor-notebook-size.txt").write_text(f"{size}\n")
    assert size < 200_000, size
    for session in json.loads(jupyter_api(lab, "sessions")):
        jupyter_api(lab, f"sessions/{session['id']}", method="DELETE")
    # No kernel starts for the reopened notebook: Lab's session requests are refused.
    page.route(
        "**/api/sessions**",
        lambda route: route.abort() if route.request.method == "POST" else route.continue_(),
    )
    page.reload(wait_until="domcontentloaded")
    reopened = page.locator(".jp-Cell").nth(1).locator(".jp-OutputArea")
    expect(reopened.locator(".jkf-header .jkf-badge")).to_have_text("Deleted", timeout=TIMEOUT)
    # A line per attempt (the scale above restarted the world; the new one may have no
    # point yet when the job is deleted).
    expect(reopened.locator('svg.jkf-chart[data-metric="loss"] polyline').first).to_be_visible()
    expect(reopened.locator(".jkf-log-tail")).to_contain_text("step ")
    expect(reopened).not_to_contain_text("model not found")
    expect(reopened).not_to_contain_text("Loading widget")
    expect(reopened.locator(".jkf-header")).to_contain_text("the job was deleted")
    assert page.evaluate(
        "() => !window.jupyterapp.shell.currentWidget.sessionContext.session?.kernel"
    )
    # Lab says it could not start a kernel, then offers one: "No Kernel", off the screenshots.
    page.locator(".jp-Dialog").get_by_role("button", name="Ok").click(timeout=TIMEOUT)
    page.locator(".jp-Dialog").get_by_role("button", name="No Kernel").click(timeout=TIMEOUT)
    expect(page.locator(".jp-Dialog")).to_have_count(0)
    reopened.screenshot(path=str(ARTIFACTS / "monitor-reopened.png"))
    page.evaluate(
        "window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})"
    )
    expect(page.locator("body[data-jp-theme-light='false']")).to_be_attached(timeout=TIMEOUT)
    page.wait_for_timeout(1000)
    reopened.screenshot(path=str(ARTIFACTS / "monitor-reopened-dark.png"))

    # nbconvert's HTML (nbviewer's path) shows the same final state.
    subprocess.run(
        [sys.executable, "-m", "nbconvert", "--to", "html", str(path)], check=True, timeout=120
    )
    html = path.with_suffix(".html").read_text()
    assert "Deleted" in html and 'data-metric="loss"' in html and "step " in html
    assert "model not found" not in html
