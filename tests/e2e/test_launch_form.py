"""The launch form in a real browser (issue 19, item 7): errors show after a first Launch and
each goes as soon as it is fixed; Launch looks like the button to press; no select covers
its neighbour and no label is cut; placeholders read as examples; workers default to 2."""

from __future__ import annotations

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
