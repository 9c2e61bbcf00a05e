"""A ``%%kftrain --cluster`` cell in a real notebook whose job's pods really run (the real node).

test_notebook_cluster.py runs the same path against KWOK, where no code runs and rank 0's
log is written by the test. Here the kernel is set up as a notebook user's is (a kubeconfig
holding only that user's ServiceAccount token, bound to jupyter-kf's user Role, and the
image to run), the notebook's folder holds a helper module the cell imports, and the two
ranks train with DDP (gloo) in two pods on the real kubelet. Every line asserted below was
printed by the cell's own code in those pods and read back through pods/log by the magic.
The executed notebook is saved and read back, so the assertions are on what a user reopens.
"""

from __future__ import annotations

import json
import os
import re
import textwrap
from datetime import datetime
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from jupyter_kf.jobs.spec import CODE_MOUNT
from tests.support.images import PYTHON_IMAGE

from .test_notebook_cluster import user_kubeconfig
from .test_notebook_run import _text

# One busy run took 110 s for the DDP cell (a worker's init container waited 46 s for the
# master's name at a load of 7 on 2 cores); the suite's 300 s default leaves too little room.
pytestmark = [
    pytest.mark.cluster,
    pytest.mark.realpods,
    pytest.mark.slow,
    pytest.mark.timeout(600),
]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "realnode"

# The notebook's own helper module: shipped with the job because the cell imports it.
MYLIB = textwrap.dedent("""\
    import os
    import socket

    ORIGIN = "mylib from the notebook's folder"


    def hello(rank, world):
        where = os.path.dirname(os.path.abspath(__file__))
        return f"hello from rank {rank}/{world} on {socket.gethostname()} ({where})"


    def batch(torch, rank, rows=256):
        g = torch.Generator().manual_seed(rank)
        x = torch.randn(rows, 8, generator=g)
        return x, x.sum(dim=1, keepdim=True)


    def checksum(model):
        return f"{sum(float(p.detach().sum()) for p in model.parameters()):.6f}"
""")

DDP_CELL = textwrap.dedent("""\
    %%kftrain --cluster --workers 2 --name ddp --wait -- --steps 8
    import argparse
    import torch, torch.distributed as dist
    from torch import nn
    from torch.nn.parallel import DistributedDataParallel as DDP
    import mylib

    steps = argparse.ArgumentParser()
    steps.add_argument("--steps", type=int)
    steps = steps.parse_args().steps
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    print(mylib.hello(rank, world), "|", mylib.ORIGIN, flush=True)
    torch.manual_seed(0)
    model = DDP(nn.Linear(8, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = mylib.batch(torch, rank)
    for step in range(steps):
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        print(f"rank {rank} step {step}: loss {loss.item():.4f}", flush=True)
    print(f"rank {rank}/{world} done checksum {mylib.checksum(model.module)}", flush=True)
    dist.destroy_process_group()
""")

# Fails at once and is not restarted, so the cell ends on the reason rather than on retries.
FAILING_CELL = textwrap.dedent("""\
    %%kftrain --cluster --workers 1 --name boom --restart-policy Never --wait
    import mylib
    print("about to fail", flush=True)
    raise ValueError(f"bad batch size 0 ({mylib.ORIGIN})")
""")


def _at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def seconds(cell) -> float:
    """How long the kernel spent on a cell, from the timing nbclient keeps in its metadata."""
    timing = cell.metadata["execution"]
    return (_at(timing["shell.execute_reply"]) - _at(timing["iopub.execute_input"])).total_seconds()


def test_kftrain_cell_trains_on_real_pods(tmp_path, cluster, real_user):
    ns = real_user.namespace
    folder = tmp_path / "notebooks"
    folder.mkdir()
    (folder / "mylib.py").write_text(MYLIB)
    kubeconfig = user_kubeconfig(tmp_path / "kubeconfig", cluster, real_user.api, ns)

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext jupyter_kf"),
        nbformat.v4.new_code_cell(DDP_CELL),
        nbformat.v4.new_code_cell("%kftrain logs ddp --cluster"),
        nbformat.v4.new_code_cell("%kftrain logs ddp --cluster --replica worker-0"),
        nbformat.v4.new_code_cell(FAILING_CELL),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_")}
    env.update(KUBECONFIG=kubeconfig, JUPYTER_KF_IMAGE=PYTHON_IMAGE)
    runner = NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    )
    runner.execute(env=env)
    path = folder / "train.ipynb"
    nbformat.write(nb, path)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, ARTIFACTS / "notebook.ipynb")  # what the user would reopen, for CI

    submit, rank0, rank1, failing = nbformat.read(path, as_version=4).cells[1:]
    # Each output on lines of its own (a display's text/plain has no final newline).
    texts = [
        "".join(t if t.endswith("\n") or not t else t + "\n" for t in map(_text, c.outputs))
        for c in (submit, rank0, rank1, failing)
    ]
    text = texts[0]
    assert f"submitted PyTorchJob ddp (2 workers, kubernetes/{ns}); waiting" in text, text
    assert "ddp: Succeeded\n" in text, text
    result = [o for o in submit.outputs if "text/plain" in o.get("data", {})][-1]
    assert f"PyTorchJob ddp (kubernetes/{ns}): Succeeded" in result.data["text/plain"], result

    # Both ranks ran the cell's code in their own pod, with mylib shipped from the folder.
    for rank, (replica, log) in enumerate((("master-0", texts[1]), ("worker-0", texts[2]))):
        assert f"hello from rank {rank}/2 on ddp-{replica}" in log, log
        assert "mylib from the notebook's folder" in log, log
        assert f"({CODE_MOUNT}/" in log, log  # imported from the shipped code, not the host
        assert f"rank {rank} step 7: loss" in log and f"rank {rank}/2 done" in log, log
    losses = [float(v) for v in re.findall(r"rank 0 step \d+: loss (\S+)", texts[1])]
    assert len(losses) == 8 and losses[-1] < losses[0], losses
    # DDP averaged the gradients, so both ranks end with the same parameters.
    sums = {m for log in texts[1:3] for m in re.findall(r"done checksum (\S+)", log)}
    assert len(sums) == 1, sums

    # The failing job ends on one line that says why: the replica, its exit code, the error.
    lines = texts[3].splitlines()
    assert (
        lines[0]
        == f"submitted PyTorchJob boom (1 worker, kubernetes/{ns}); waiting for it to finish..."
    ), lines
    (reason,) = [line for line in lines if line.startswith("boom: ")]
    assert reason.startswith("boom: Failed: master-0 exited with code 1"), reason
    assert "ValueError: bad batch size 0 (mylib from the notebook's folder)" in reason, reason
    # Then the end of that replica's log, the cell's own output and traceback.
    tail = lines[lines.index(reason) + 1 :]
    assert tail[0] == "the end of master-0's log:" and "about to fail" in tail, tail
    assert not [o for o in failing.outputs if o.output_type == "error"], failing.outputs
    # The job's widget (its text fallback here) gives the same sentence under its phase.
    result = [o for o in failing.outputs if "text/plain" in o.get("data", {})][-1]
    assert reason.removeprefix("boom: ") in result.data["text/plain"], result

    # The operator's view of the same job (to the second): the rest of the cell's time is the
    # magic's own (submitting, noticing the end). The load goes with them, as other work
    # shares the machine's few cores.
    ddp = real_user.client.get("ddp")
    job_seconds = (_at(ddp.status.completion_time) - _at(ddp.created)).total_seconds()
    ARTIFACTS.joinpath("notebook-cell.json").write_text(
        json.dumps(
            {
                "cell": "%%kftrain --cluster --workers 2 --wait, DDP (gloo), 8 steps, mylib",
                "ddp_cell_seconds": round(seconds(submit), 1),
                "ddp_job_created_to_completed_seconds": job_seconds,
                "failing_cell_seconds": round(seconds(failing), 1),
                "load_average_1m": round(os.getloadavg()[0], 2),
                "cpus": os.cpu_count(),
                "measured": "kernel execute_input to execute_reply (nbclient), one test run",
                "node": "the real node (kubelet + containerd), image " + PYTHON_IMAGE,
            },
            indent=2,
        )
        + "\n"
    )
