"""The side panel as a place to work (issue 19, item 5), in a real browser: filter and sort
the list, select several jobs and delete them at once, a right-click menu (open in a tab
beside the notebook, copy the name, insert code that reattaches to the job in the notebook),
the spec as YAML, and clone a job to launch it again."""

from __future__ import annotations

import json

import nbformat
from playwright.sync_api import expect

from jupyter_kf import Client

from .conftest import ARTIFACTS
from .test_panel import TIMEOUT, badge

QUICK = "print('hello', flush=True)\n"


def names(lab) -> list[str]:
    return sorted(j["name"] for j in json.loads(lab.api("jobs"))["jobs"])


def test_filter_sort_bulk_delete_menu_tab_spec_clone(page, lab):
    client = Client("local")
    for name in ("alpha-one", "beta-two", "gamma-three"):
        client.submit(name=name, framework="pytorch", workers=1, cell=QUICK, args=["--lr", "0.1"])
    nb = nbformat.v4.new_notebook(
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}}
    )
    nb.cells = [nbformat.v4.new_code_cell("1 + 1")]
    nbformat.write(nb, lab.root / "work.ipynb")
    page.goto(f"{lab.url}/lab/tree/work.ipynb?token={lab.token}", wait_until="domcontentloaded")
    expect(page.locator(".jp-Notebook .jp-Cell")).to_have_count(1, timeout=TIMEOUT)
    page.locator('.jp-SideBar [data-id="jupyter-kf-panel"]').click(timeout=TIMEOUT)
    panel = page.locator("#jupyter-kf-panel")
    rows = panel.locator("li.jp-kf-job")
    expect(rows).to_have_count(3, timeout=TIMEOUT)

    # Filter and sort.
    search = panel.locator('input[name="search"]')
    search.fill("gamma")
    expect(rows).to_have_count(1)
    search.fill("two pytorch")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-job", "beta-two")
    search.fill("")
    panel.locator('select[name="sort"]').select_option("name")
    expect(rows.nth(0)).to_have_attribute("data-job", "alpha-one")
    expect(rows.nth(2)).to_have_attribute("data-job", "gamma-three")
    page.screenshot(path=str(ARTIFACTS / "work-01-list.png"))

    # Select two and delete both with one confirmation.
    rows.nth(1).get_by_role("checkbox").check()
    rows.nth(2).get_by_role("checkbox").check()
    panel.get_by_role("button", name="Delete 2").click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog).to_contain_text("Delete 2 jobs?")
    dialog.locator("button.jp-mod-accept").click()
    expect(rows).to_have_count(1, timeout=TIMEOUT)
    assert names(lab) == ["alpha-one"]

    # The context menu: insert code that reattaches, in the open notebook.
    rows.first.click(button="right")
    menu = page.locator(".lm-Menu")
    expect(menu).to_contain_text("Copy Name")
    page.screenshot(path=str(ARTIFACTS / "work-02-menu.png"))
    menu.get_by_text("Insert Code to Reattach in the Notebook").click()
    cells = page.locator(".jp-Notebook .jp-Cell")
    expect(cells).to_have_count(2, timeout=TIMEOUT)
    expect(cells.nth(1)).to_contain_text("%kftrain monitor alpha-one --local")

    # ... and open the job in a tab of the main area, beside the notebook.
    rows.first.click(button="right")
    page.locator(".lm-Menu").get_by_text("Open in a Tab").click()
    tab = page.locator('.jp-kf-main-tab .jp-kf-detail[data-job="alpha-one"]')
    expect(tab).to_be_visible(timeout=TIMEOUT)
    expect(page.locator(".lm-DockPanel .lm-TabBar-tab", has_text="alpha-one")).to_be_visible()

    # The spec as YAML, in the detail view.
    tab.get_by_text("Spec (YAML)").click()
    spec = tab.locator("pre.jp-kf-spec")
    expect(spec).to_contain_text("name: alpha-one")
    expect(spec).to_contain_text("- --lr")
    page.screenshot(path=str(ARTIFACTS / "work-03-tab-spec.png"))

    # Clone: the form comes filled from the job; launch the copy.
    tab.get_by_role("button", name="Clone").click()
    form = panel.locator("form.jp-kf-form")
    expect(form).to_be_visible(timeout=TIMEOUT)
    expect(form.locator('input[name="name"]')).to_have_value("alpha-one-2")
    page.screenshot(path=str(ARTIFACTS / "work-04-clone-form.png"))
    form.get_by_role("button", name="Launch").click()
    expect(badge(page, "alpha-one-2")).to_have_text("Succeeded", timeout=TIMEOUT)
    clone = client.get("alpha-one-2")
    assert clone.spec is not None and clone.spec.code is not None
    assert clone.spec.code.source == QUICK and list(clone.spec.code.args) == ["--lr", "0.1"]
