"""A notebook with one JobMonitor, executed headless by nbclient in a real ipykernel and saved
with its widget state (as JupyterLab's "save widget state" and nbconvert --execute do):

- ``%%kftrain --wait`` shows the live widget at once, before it blocks;
- the saved notebook stays small (no per-model JavaScript bundle in the widget state);
- the output carries a static snapshot (final phase, the metrics chart as SVG, the log tail,
  progress) that renders without a kernel: nbconvert's HTML, as nbviewer uses it.
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


def test_saved_notebook_is_small_and_shows_the_final_state(tmp_path, jkf_home, client):
    nb = nbformat.v4.new_notebook(
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}}
    )
    nb.cells = [nbformat.v4.new_code_cell("%load_ext jupyter_kf"), nbformat.v4.new_code_cell(CELL)]
    runner = NotebookClient(
        nb,
        timeout=180,
        kernel_name="python3",
        store_widget_state=True,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    runner.execute(env={**os.environ, "JUPYTER_KF_HOME": str(jkf_home)})
    saved = nbformat.writes(nb)
    (tmp_path / "saved.ipynb").write_text(saved)

    outputs = nb.cells[1].outputs
    kinds = [o.output_type for o in outputs]
    # The widget shows at once, before the wait's final line; one widget, not a second one
    # for the returned job (that shows as text).
    (shown,) = [i for i, o in enumerate(outputs) if WIDGET in o.get("data", {})]
    (final,) = [i for i, o in enumerate(outputs) if "saved: Succeeded" in o.get("text", "")]
    assert outputs[shown].output_type == "display_data" and shown < final, kinds
    assert "waiting for it to finish" in outputs[0].text
    assert "PyTorchJob saved (local/local): Succeeded" in outputs[-1].data["text/plain"]

    size = len(saved.encode())
    print(f"saved notebook: {size} bytes")
    assert STATE in nb.metadata.get("widgets", {}), "no widget state was saved"
    assert size < 200_000, f"the saved notebook is {size} bytes"

    # The snapshot, updated to the job's end: final phase, progress, chart, log tail.
    snapshot = outputs[shown].data["text/html"]
    assert "Succeeded" in snapshot
    assert "30/30 steps" in snapshot
    assert "<svg" in snapshot and 'data-metric="loss"' in snapshot
    assert 'data-metric="total_steps"' not in snapshot  # a total, not a metric to plot
    assert "training done" in snapshot

    # Without widget state (nbviewer of a notebook saved without it) the snapshot shows.
    bare = nbformat.reads(saved, as_version=4)
    bare.metadata.pop("widgets")
    html, _ = HTMLExporter().from_notebook_node(bare)
    assert "training done" in html and "Succeeded" in html and "<svg" in html
    json.loads(saved)  # still a valid notebook
