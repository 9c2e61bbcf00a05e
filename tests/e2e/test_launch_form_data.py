"""The launch form's Data section in a real browser: a job launched with a volume, its home,
/dev/shm and a secret variable carries them in its spec and reads them; a Secret of another
namespace is refused with the words the magic and the CLI give (tests/support/data_inputs.py)."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.support.data_inputs import BAD_DATA

from .conftest import ARTIFACTS
from .test_panel import TIMEOUT, badge, open_panel

READ = """\
import os, pathlib
rows = (pathlib.Path(os.environ["JKF_VOLUME_DATA"]) / "rows.txt").read_text().split()
print("rows", len(rows), "token", os.environ["TRACKER_TOKEN"], flush=True)
"""
FOREIGN = next(c[3] for c in BAD_DATA if c[0] == "secret-env-other-namespace")


@pytest.fixture
def tracker_token(monkeypatch):
    """The server's environment stands for the Secret on the local backend (set before the
    lab fixture starts the server: this fixture comes first in the test's arguments)."""
    monkeypatch.setenv("TRACKER_TOKEN", "s3cret")


def test_a_job_from_the_form_carries_its_volume_and_secret_variable(tracker_token, page, lab):
    data = lab.root / "dataset"
    data.mkdir()
    (data / "rows.txt").write_text("a\nb\nc\n")
    (lab.root / "read.py").write_text(READ)
    open_panel(page, lab)
    panel = page.locator("#jupyter-kf-panel")
    panel.get_by_role("button", name="New job").click()
    form = panel.locator("form.jp-kf-form")
    form.locator('input[name="name"]').fill("e2e-data")
    form.locator('input[name="script"]').fill("read.py")
    form.locator('input[name="workers"]').fill("1")

    section = form.get_by_role("group", name="Data")
    expect(section.locator('input[name="volume-claim-0"]')).to_have_count(0)  # rows on demand
    section.locator('button[name="add-volume"]').click()
    section.locator('input[name="volume-claim-0"]').fill("data")
    section.locator('input[name="volume-mount-0"]').fill(str(data))
    section.locator('input[name="volume-ro-0"]').check()
    section.locator('input[name="home"]').check()
    section.locator('input[name="shm"]').fill("64Mi")
    section.locator('button[name="add-secret"]').click()
    # First the table's foreign Secret, TOKEN=other-ns/wandb:token, as a user might try it.
    section.locator('input[name="secret-name-0"]').fill("TOKEN")
    section.locator('input[name="secret-secret-0"]').fill("other-ns/wandb")
    section.locator('input[name="secret-key-0"]').fill("token")

    # Every row fits the form: nothing sticks out on the right.
    right = form.bounding_box()
    for box in section.locator("input, button").evaluate_all(
        "els => els.map(e => e.getBoundingClientRect().right)"
    ):
        assert box <= right["x"] + right["width"] + 0.5, (box, right)
    clipped = section.locator(".jp-kf-field-label, .jp-kf-check").evaluate_all(
        "els => els.filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)"
    )
    assert clipped == [], clipped
    # Each row's placeholders ("claim", "/data", "VARIABLE", "secret", "key") fit their box.
    cut = section.locator("input[placeholder]").evaluate_all(
        "els => els.filter(el => { const c = document.createElement('canvas').getContext('2d');"
        " c.font = getComputedStyle(el).font;"
        " return c.measureText(el.placeholder).width > el.clientWidth; }).map(el => el.name)"
    )
    assert cut == [], cut
    page.screenshot(path=str(ARTIFACTS / "form-data-01-filled.png"))

    # A Secret of another namespace: the server's refusal, in the magic's and the CLI's words.
    launch = form.locator('button[name="launch"]')
    launch.click()
    error = form.locator(".jp-kf-error")
    expect(error).to_contain_text(FOREIGN)
    page.screenshot(path=str(ARTIFACTS / "form-data-02-foreign-secret.png"))
    section.locator('input[name="secret-name-0"]').fill("TRACKER_TOKEN")
    section.locator('input[name="secret-secret-0"]').fill("tracker")
    expect(error).to_have_count(0)
    launch.click()
    expect(badge(page, "e2e-data")).to_have_text("Succeeded", timeout=TIMEOUT)

    spec = json.loads(lab.api("jobs/e2e-data"))["spec"]
    assert [(v["claim"], v["mount"], v.get("read_only")) for v in spec["volumes"]] == [
        ("data", str(data), True)
    ]
    assert spec["shm"] == "64Mi" and spec["home"] is True
    assert spec["secret_env"] == {"TRACKER_TOKEN": "tracker:token"}
    assert "s3cret" not in json.dumps(spec)  # a reference, never the value
    lines = json.loads(lab.api("jobs/e2e-data/logs"))["lines"]
    assert lines == ["rows 3 token s3cret"]
