"""A real notebook, run headless by nbclient in a real ipykernel: ``%load_ext jupyter_kf``,
a 2-process PyTorch DDP job from a ``%%kftrain`` cell, then its logs and the job list."""

from __future__ import annotations

import os
import textwrap

import nbformat
import pytest
from nbclient import NotebookClient

pytest.importorskip("torch")

DDP_CELL = textwrap.dedent("""\
    %%kftrain --local --workers 2 --name ddp --wait -- --steps 12
    # Data-parallel training over gloo; every rank gets MASTER_ADDR, RANK, WORLD_SIZE.
    import argparse
    import torch, torch.distributed as dist
    from torch import nn
    from torch.nn.parallel import DistributedDataParallel as DDP
    import jupyter_kf

    steps = argparse.ArgumentParser()
    steps.add_argument("--steps", type=int)
    steps = steps.parse_args().steps
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(0)
    model = DDP(nn.Linear(8, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    g = torch.Generator().manual_seed(rank)
    x = torch.randn(256, 8, generator=g)
    y = x.sum(dim=1, keepdim=True)
    for step in range(steps):
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        if rank == 0:
            print(f"step {step}: loss {loss.item():.4f}", flush=True)
            jupyter_kf.report(step=step, loss=loss.item())
    print(f"rank {rank}/{world} done", flush=True)
    dist.destroy_process_group()
""")


def _text(output) -> str:
    if output.output_type == "stream":
        return output.text
    if output.output_type in ("execute_result", "display_data"):
        return output.data.get("text/plain", "")
    if output.output_type == "error":
        return "\n".join(output.traceback)
    return ""


def test_notebook_ddp_job(tmp_path, jkf_home, client):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext jupyter_kf"),
        nbformat.v4.new_code_cell(DDP_CELL),
        nbformat.v4.new_code_cell("%kftrain logs ddp"),
        nbformat.v4.new_code_cell("%kftrain list"),
        nbformat.v4.new_code_cell(
            "%kftrain status no-such-job", metadata={"tags": ["raises-exception"]}
        ),
    ]
    runner = NotebookClient(
        nb, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    runner.execute(env={**os.environ, "JUPYTER_KF_HOME": str(jkf_home)})

    submit, logs, listing, bad = nb.cells[1:]
    text = "".join(_text(o) for o in submit.outputs)
    assert "submitted PyTorchJob ddp (2 workers, local); waiting" in text
    assert "PyTorchJob ddp (local/local): Succeeded" in text
    # Once the job has ended the widget's output is its final snapshot alone (the live
    # widget before that is tests/notebook/test_saved_widget.py's).
    shown = next(o for o in submit.outputs if o.output_type == "display_data")
    assert "application/vnd.jupyter.widget-view+json" not in shown.data
    assert "Succeeded" in shown.data["text/html"]

    text = "".join(_text(o) for o in logs.outputs)
    assert "step 0: loss" in text and "step 11: loss" in text and "rank 0/2 done" in text
    text = "".join(_text(o) for o in listing.outputs)
    assert "ddp" in text and "Succeeded" in text and "PyTorchJob" in text

    # ipykernel prints a UsageError as one line on stderr: a message, not a traceback.
    (error,) = bad.outputs
    assert error.output_type == "stream" and error.name == "stderr"
    assert error.text.startswith("UsageError: no local job named 'no-such-job'")
    assert "Traceback" not in error.text and len(error.text.splitlines()) == 1

    job = client.get("ddp")
    assert job.phase == "Succeeded"
    losses = [p["loss"] for p in client.metrics("ddp")]
    assert len(losses) == 12 and losses[-1] < losses[0]
