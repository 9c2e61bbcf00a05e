"""A notebook with one JobMonitor, executed headless by nbclient in a real ipykernel and saved
the way JupyterLab saves by default (no widget state):

- ``%%kftrain --wait`` shows the live widget at once, before it blocks;
- once the job has ended the output is the final snapshot alone (final phase, the metrics
  chart as SVG, the log tail, progress): no widget view is left to say "model not found"
  in a reopened notebook, and it renders without a kernel, in nbconvert's HTML as nbviewer
  uses it;
- the saved notebook stays small.
"""

from __future__ import annotations

import json
import os
import textwrap

import nbformat
from nbclient import NotebookClient
from nbconvert import HTMLExporter

WIDGET = "application/vnd.jupyter.widget-view+json"
STATE = "application/vnd.jupyter.widget-state+json"
CELL = textwrap.dedent("""\
    %%kftrain --local --workers 1 --name saved --wait
    import time
    import jupyter_kf
    for step in range(30):
        jupyter_kf.report(step=step, total_steps=30, loss=1.0 / (step + 1))
        print(f"line {step}", flush=True)
        time.sleep(0.05)
    print("training done", flush=True)
""")


class Recording(NotebookClient):
    """Keeps each display message as it arrives: the saved outputs show only the last."""

    def process_message(self, msg, cell, cell_index):
        if msg["msg_type"] in ("display_data", "update_display_data", "stream"):
            content = msg["content"]
            self.seen.append((msg["msg_type"], sorted(content.get("data", {})), content))
        return super().process_message(msg, cell, cell_index)


def test_saved_notebook_is_small_and_shows_the_final_state(tmp_path, jkf_home, client):
    nb = nbformat.v4.new_notebook(
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}}
    )
    nb.cells = [nbformat.v4.new_code_cell("%load_ext jupyter_kf"), nbformat.v4.new_code_cell(CELL)]
    runner = Recording(
        nb,
        timeout=180,
        kernel_name="python3",
        store_widget_state=False,  # JupyterLab's default
        resources={"metadata": {"path": str(tmp_path)}},
    )
    runner.seen = []
    runner.execute(env={**os.environ, "JUPYTER_KF_HOME": str(jkf_home)})
    saved = nbformat.writes(nb)
    (tmp_path / "saved.ipynb").write_text(saved)

    # Live first: the widget shows at once, before the wait's final line; when the job has
    # ended, the same output is updated to the snapshot alone.
    kinds = [kind for kind, _keys, _content in runner.seen]
    (shown,) = [i for i, (_k, keys, _c) in enumerate(runner.seen) if WIDGET in keys]
    assert kinds[shown] == "display_data", kinds
    update = max(i for i, kind in enumerate(kinds) if kind == "update_display_data")
    assert update > shown and runner.seen[update][1] == ["text/html", "text/plain"], runner.seen
    display_id = runner.seen[shown][2]["transient"]["display_id"]
    assert runner.seen[update][2]["transient"]["display_id"] == display_id

    outputs = nb.cells[1].outputs
    assert "waiting for it to finish" in outputs[0].text
    assert "PyTorchJob saved (local/local): Succeeded" in outputs[-1].data["text/plain"]
    (snapshot,) = [o.data["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert not [o for o in outputs if WIDGET in o.get("data", {})]

    size = len(saved.encode())
    print(f"saved notebook: {size} bytes")
    assert STATE not in nb.metadata.get("widgets", {})
    assert size < 200_000, f"the saved notebook is {size} bytes"

    # The snapshot, at the job's end: final phase, progress, chart, log tail.
    assert "Succeeded" in snapshot and "not updating" in snapshot
    assert "30/30 steps" in snapshot
    assert "<svg" in snapshot and 'data-metric="loss"' in snapshot
    assert 'data-metric="total_steps"' not in snapshot  # a total, not a metric to plot
    assert "training done" in snapshot

    # nbconvert's HTML (what nbviewer shows) has it, no kernel needed.
    html, _ = HTMLExporter().from_notebook_node(nbformat.reads(saved, as_version=4))
    assert "training done" in html and "Succeeded" in html and "<svg" in html
    assert "model not found" not in html
    json.loads(saved)  # still a valid notebook
