"""The side panel in a real browser: open it, launch a 2-worker job from the form, watch it
go Running then Succeeded, read its logs, scale a running job, delete one."""

from __future__ import annotations

import json

from playwright.sync_api import expect

from .conftest import ARTIFACTS

TIMEOUT = 60_000


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def open_panel(page, lab) -> None:
    page.goto(f"{lab.url}/lab?token={lab.token}", wait_until="domcontentloaded")
    tab = page.locator('.jp-SideBar [data-id="jupyter-kf-panel"]')
    expect(tab).to_be_visible(timeout=TIMEOUT)
    tab.click()
    expect(page.locator("#jupyter-kf-panel")).to_be_visible()
    expect(page.locator(".jp-kf-live.jp-mod-live")).to_be_visible(timeout=TIMEOUT)


def launch(page, name: str, script: str, workers: int) -> None:
    panel = page.locator("#jupyter-kf-panel")
    panel.get_by_role("button", name="New job").click()
    form = panel.locator("form.jp-kf-form")
    expect(form).to_be_visible()
    form.locator('input[name="name"]').fill(name)
    form.locator('select[name="framework"]').select_option("pytorch")
    form.locator('input[name="workers"]').fill(str(workers))
    form.locator('input[name="script"]').fill(script)
    shot(page, f"form-{name}")
    form.get_by_role("button", name="Launch").click()
    expect(panel.locator(f'.jp-kf-detail[data-job="{name}"]')).to_be_visible(timeout=TIMEOUT)


def badge(page, name: str):
    return page.locator(
        f'#jupyter-kf-panel .jp-kf-detail[data-job="{name}"] .jp-kf-detail-head .jp-kf-badge'
    )


def test_launch_watch_logs_scale_delete(page, lab):
    open_panel(page, lab)
    expect(page.locator(".jp-kf-empty")).to_contain_text("No training jobs yet")
    shot(page, "01-empty-panel")

    # Launch a 2-worker PyTorch job from the form and watch it run to the end.
    launch(page, "e2e-train", "train.py", workers=2)
    expect(badge(page, "e2e-train")).to_have_text("Running", timeout=TIMEOUT)
    detail = page.locator('.jp-kf-detail[data-job="e2e-train"]')
    expect(detail.locator("tr[data-replica]")).to_have_count(2)
    log = detail.locator(".jp-kf-log")
    expect(log).to_contain_text("hello from rank 0 of 2", timeout=TIMEOUT)
    shot(page, "02-running-with-logs")
    expect(badge(page, "e2e-train")).to_have_text("Succeeded", timeout=TIMEOUT)
    expect(log).to_contain_text("done", timeout=TIMEOUT)
    expect(detail.locator(".jp-kf-log-note")).to_have_text("End of log.", timeout=TIMEOUT)
    # The other replica's log, through the replica selector.
    detail.locator('select[name="replica"]').select_option("worker-0")
    expect(log).to_contain_text("hello from rank 1 of 2", timeout=TIMEOUT)
    expect(detail.locator('[data-metric="loss"]')).to_be_visible(timeout=TIMEOUT)
    shot(page, "03-succeeded")

    # Scale a running job from 2 to 3 workers.
    detail.get_by_role("button", name="Back").click()
    launch(page, "e2e-scale", "long.py", workers=2)
    expect(badge(page, "e2e-scale")).to_have_text("Running", timeout=TIMEOUT)
    scaled = page.locator('.jp-kf-detail[data-job="e2e-scale"]')
    # The metric chart moves while the job runs (the detail view follows its updates).
    last_loss = scaled.locator('[data-metric="loss"] .jp-kf-metric-last')
    expect(last_loss).to_be_visible(timeout=TIMEOUT)
    expect(last_loss).not_to_have_text(last_loss.inner_text(), timeout=TIMEOUT)
    scaled.locator('input[name="scale-workers"]').fill("3")
    scaled.get_by_role("button", name="Scale").click()
    expect(scaled.locator("tr[data-replica]")).to_have_count(3, timeout=TIMEOUT)
    expect(badge(page, "e2e-scale")).to_have_text("Running", timeout=TIMEOUT)
    assert json.loads(lab.api("jobs/e2e-scale"))["workers"] == 3
    shot(page, "04-scaled")

    # Delete it, confirming in Lab's dialog.
    scaled.get_by_role("button", name="Delete").click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog).to_contain_text("Delete e2e-scale?")
    dialog.locator("button.jp-mod-accept").click()
    rows = page.locator("#jupyter-kf-panel li.jp-kf-job")
    expect(rows).to_have_count(1, timeout=TIMEOUT)
    expect(rows.first).to_have_attribute("data-job", "e2e-train")
    expect(rows.first.locator(".jp-kf-badge")).to_have_text("Succeeded")
    assert [j["name"] for j in json.loads(lab.api("jobs"))["jobs"]] == ["e2e-train"]
    shot(page, "05-after-delete")

    # Same panel in the dark theme: only Lab's CSS variables, so it follows.
    page.evaluate(
        "window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})"
    )
    expect(page.locator("body[data-jp-theme-light='false']")).to_be_attached(timeout=TIMEOUT)
    rows.first.click()
    expect(badge(page, "e2e-train")).to_have_text("Succeeded")
    page.wait_for_timeout(500)
    shot(page, "06-dark-detail")
    errors = [m for m in page.console_log if m.startswith("error") and "jupyter-kf" in m]
    assert errors == []


def test_jobs_launched_elsewhere_appear_live(page, lab):
    """A job submitted outside the browser (CLI, magic) shows up without a reload."""
    from jupyter_kf import Client

    open_panel(page, lab)
    Client("local").submit(name="from-cli", framework="pytorch", workers=1, cell="print('hi')")
    row = page.locator('#jupyter-kf-panel li.jp-kf-job[data-job="from-cli"]')
    expect(row).to_be_visible(timeout=TIMEOUT)
    expect(row.locator(".jp-kf-badge")).to_have_text("Succeeded", timeout=TIMEOUT)
