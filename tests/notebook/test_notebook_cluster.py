"""The notebook of test_notebook_run.py, with ``--cluster``, against the real control plane.

The kernel is set up as a notebook user's is: a kubeconfig holding only that user's
ServiceAccount token (bound to jupyter-kf's user Role in their own namespace) and the
image to run. Everything it does goes through the real API server, RBAC, the training
operator and the scheduler. KWOK stands in for the kubelet, so no container runs: the
pods end as the KWOK stages say (a PyTorchJob's pods succeed after 5 s by default) and
rank 0's output is a KWOK log file this test writes — the one thing the test supplies.
"""

from __future__ import annotations

import os
import textwrap

import nbformat
import pytest
import yaml
from nbclient import NotebookClient

from tests.support.images import IMAGE

from .test_notebook_run import _text

pytestmark = pytest.mark.cluster

CELL = textwrap.dedent("""\
    %%kftrain --workers 2 --name ddp --env STEPS=3 --wait
    import os
    import torch.distributed as dist
    dist.init_process_group("gloo")
    for step in range(int(os.environ["STEPS"])):
        print(f"step={step} loss={1 / (step + 1):.4f}", flush=True)
""")

RANK0_OUTPUT = ["step=0 loss=1.0000", "step=1 loss=0.5000", "step=2 loss=0.3333", "rank 0/2 done"]


def user_kubeconfig(path, cluster, api, namespace: str) -> str:
    """A kubeconfig as a notebook user would hold: their token, their namespace."""
    token = api.configuration.api_key["authorization"]
    ca = api.configuration.ssl_ca_cert
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "notebook",
                "clusters": [
                    {
                        "name": "test",
                        "cluster": {"server": cluster.api_server, "certificate-authority": str(ca)},
                    }
                ],
                "users": [{"name": "notebook", "user": {"token": token}}],
                "contexts": [
                    {
                        "name": "notebook",
                        "context": {"cluster": "test", "user": "notebook", "namespace": namespace},
                    }
                ],
            }
        )
    )
    return str(path)


def test_notebook_cluster_job(tmp_path, cluster, admin_api, make_user):
    alice, bob = make_user("alice"), make_user("bob")
    cluster.set_pod_logs(admin_api, alice.namespace, "ddp-master-0", RANK0_OUTPUT)
    kubeconfig = user_kubeconfig(tmp_path / "kubeconfig", cluster, alice.api, alice.namespace)

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext jupyter_kf"),
        nbformat.v4.new_code_cell(CELL),
        nbformat.v4.new_code_cell("%kftrain logs ddp --cluster"),
        nbformat.v4.new_code_cell("%kftrain list --cluster"),
        nbformat.v4.new_code_cell(
            f"%kftrain list --cluster --namespace {bob.namespace}",
            metadata={"tags": ["raises-exception"]},
        ),
        nbformat.v4.new_code_cell("%kftrain delete ddp --cluster"),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_")}
    env.update(KUBECONFIG=kubeconfig, JUPYTER_KF_IMAGE=IMAGE)
    runner = NotebookClient(
        nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    runner.execute(env=env)

    submit, logs, listing, forbidden, delete = nb.cells[1:]
    text = "".join(_text(o) for o in submit.outputs)
    assert f"submitted PyTorchJob ddp (2 workers, kubernetes/{alice.namespace}); waiting" in text, (
        text
    )
    assert f"PyTorchJob ddp (kubernetes/{alice.namespace}): Succeeded" in text, text
    # Once the job has ended the widget's output is its final snapshot alone (the live
    # widget before that is tests/notebook/test_saved_widget.py's).
    shown = next(o for o in submit.outputs if o.output_type == "display_data")
    assert "application/vnd.jupyter.widget-view+json" not in shown.data
    assert "Succeeded" in shown.data["text/html"]

    text = "".join(_text(o) for o in logs.outputs)
    assert "step=0 loss=1.0000" in text and "rank 0/2 done" in text, text
    text = "".join(_text(o) for o in listing.outputs)
    assert "ddp" in text and "Succeeded" in text and "PyTorchJob" in text, text

    # Alice's token cannot read Bob's namespace: the API server's 403, as one line.
    (error,) = forbidden.outputs
    assert error.output_type == "stream" and error.name == "stderr", error
    assert error.text.startswith("UsageError: ") and bob.namespace in error.text, error.text
    assert "forbidden" in error.text.lower() or "not allowed" in error.text.lower(), error.text
    assert "Traceback" not in error.text and len(error.text.splitlines()) == 1

    assert "deleted" in "".join(_text(o) for o in delete.outputs).lower()
    # What the notebook did is what the cluster holds: the job is gone, for the admin too.
    jobs = alice.client.list()
    assert [j.name for j in jobs] == [], jobs
