"""The launch form in a real browser (issue 19, item 7): errors show after a first Launch and
each goes as soon as it is fixed; Launch looks like the button to press; no select covers
its neighbour and no label is cut; placeholders read as examples; workers default to 2."""

from __future__ import annotations

import json

from playwright.sync_api import expect

from .conftest import ARTIFACTS
from .test_panel import TIMEOUT, badge, open_panel


def overlaps(a: dict, b: dict) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def test_form_errors_clear_and_nothing_overlaps(page, lab):
    open_panel(page, lab)
    panel = page.locator("#jupyter-kf-panel")
    panel.get_by_role("button", name="New job").click()
    form = panel.locator("form.jp-kf-form")
    expect(form).to_be_visible()
    expect(form.locator('input[name="workers"]')).to_have_value("2")

    # Launch looks enabled (the accept colour), unlike Cancel.
    launch = form.locator('button[name="launch"]')
    cancel = form.get_by_role("button", name="Cancel")
    colour = "el => getComputedStyle(el).backgroundColor"
    assert launch.evaluate(colour) != cancel.evaluate(colour)
    assert launch.is_enabled()

    # Nothing overlaps, no label is cut.
    fields = form.locator(".jp-kf-field")
    boxes = [fields.nth(i).bounding_box() for i in range(fields.count())]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not overlaps(a, b), (a, b)
    clipped = form.locator(".jp-kf-field-label, .jp-kf-source label, select").evaluate_all(
        "els => els.filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)"
    )
    assert clipped == [], clipped
    # A placeholder is styled as an example, not as a value.
    cpu = form.locator('input[name="cpu"]')
    assert cpu.get_attribute("placeholder").startswith("e.g.")
    assert cpu.evaluate("el => getComputedStyle(el, '::placeholder').fontStyle") == "italic"
    # ... and fits its box.
    assert cpu.evaluate(
        "el => { const c = document.createElement('canvas').getContext('2d');"
        " c.font = getComputedStyle(el).font;"
        " return c.measureText(el.placeholder).width <= el.clientWidth; }"
    )
    page.screenshot(path=str(ARTIFACTS / "form-01-empty.png"))

    # Errors after a first Launch; each goes when fixed, without launching again.
    launch.click()
    error = form.locator(".jp-kf-error")
    expect(error).to_contain_text("Give the job a name.")
    expect(error).to_contain_text("Pick the script to run")
    page.screenshot(path=str(ARTIFACTS / "form-02-errors.png"))
    form.locator('input[name="name"]').fill("e2e-form")
    expect(error).not_to_contain_text("Give the job a name.")
    expect(error).to_contain_text("Pick the script to run")
    form.locator('input[name="script"]').fill("train.py")
    expect(error).to_have_count(0)
    form.locator('input[name="workers"]').fill("1")
    launch.click()
    expect(badge(page, "e2e-form")).to_have_text("Succeeded", timeout=TIMEOUT)


def test_runtime_picker_launches_a_trainjob_and_scale_asks_first(page, lab):
    """The picker offers the server's runtimes beside the v1 kinds; a runtime makes the size
    field "Nodes" and the job a TrainJob whose nodes, runtime and events the detail shows;
    Scale of it opens Lab's dialog saying the job will be replaced (Cancel: nothing)."""
    open_panel(page, lab)
    panel = page.locator("#jupyter-kf-panel")
    panel.get_by_role("button", name="New job").click()
    form = panel.locator("form.jp-kf-form")
    picker = form.locator('select[name="framework"]')
    expect(picker.locator("option", has_text="torch-distributed (TrainJob)")).to_have_count(1)
    expect(picker.locator("option", has_text="pytorch (PyTorchJob)")).to_have_count(1)
    picker.select_option(label="torch-distributed (TrainJob)")
    expect(form.locator(".jp-kf-field-label", has_text="Nodes")).to_have_count(1)
    form.locator('input[name="name"]').fill("e2e-tj")
    form.locator('input[name="script"]').fill("long.py")
    form.locator('button[name="launch"]').click()

    detail = page.locator('.jp-kf-detail[data-job="e2e-tj"]')
    expect(badge(page, "e2e-tj")).to_have_text("Running", timeout=TIMEOUT)
    meta = detail.locator(".jp-kf-job-meta")
    expect(meta).to_contain_text("TrainJob")
    expect(meta).to_contain_text("torch-distributed")
    expect(meta).to_contain_text("2 nodes")
    expect(detail.locator("tr[data-replica]")).to_have_count(2, timeout=TIMEOUT)
    expect(detail.locator('tr[data-replica="node-1"]')).to_have_count(1)
    expect(detail.locator(".jp-kf-events")).to_contain_text("Started", timeout=TIMEOUT)
    page.screenshot(path=str(ARTIFACTS / "form-03-trainjob.png"))

    detail.locator('input[name="scale-workers"]').fill("3")
    detail.get_by_role("button", name="Scale").click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog).to_contain_text("Scale e2e-tj to 3 nodes?")
    expect(dialog).to_contain_text("it will be replaced and training restarts")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    assert json.loads(lab.api("jobs/e2e-tj"))["workers"] == 2
