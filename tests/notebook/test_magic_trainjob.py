"""``%kftrain`` and Trainer v2: ``--runtime``/``--nodes`` make a TrainJob that the local backend
runs for real, ``%kftrain runtimes`` lists what ``--runtime`` may name, a runtime that does not
exist is the backend's own message, and scaling a TrainJob says it replaces the job and
waits for ``--yes``."""

from __future__ import annotations

from .test_magics import run, usage_error

# Every node prints its rank as torchrun gives it, then holds until the file appears.
NODE_CELL = """\
import os, time
print("node", os.environ["RANK"], "of", os.environ["WORLD_SIZE"], flush=True)
for _ in range(600):
    if os.path.exists(os.environ.get("STOP_FILE", "")):
        break
    time.sleep(0.1)
"""


def test_runtime_and_nodes_make_a_trainjob(shell, capsys, client, stop_file):
    line = f"--runtime torch-distributed --nodes 2 --name tj --env STOP_FILE={stop_file}"
    error, job = run(shell, line, NODE_CELL)
    assert error is None, error
    assert job.kind == "TrainJob" and job.workers == 2
    assert [r.name for r in client.get("tj").replicas] == ["node-0", "node-1"]
    assert client.get("tj").extra["runtime"] == "torch-distributed"
    stop_file.write_text("")
    client.wait("tj", timeout=60)
    assert "node 1 of 2" in "\n".join(client.logs("tj", replica="node-1"))


def test_runtimes_lists_name_plugin_nodes_and_image(shell, capsys):
    error, _ = run(shell, "runtimes")
    assert error is None, error
    out = capsys.readouterr().out
    header, *rows = out.strip().splitlines()
    assert header.split() == ["NAME", "FRAMEWORK/PLUGIN", "NODES", "IMAGE"]
    assert [row.split()[0] for row in rows] == [
        "torch-distributed",
        "jax-distributed",
        "xgboost-distributed",
    ]
    assert "ghcr.io/kubeflow/trainer/xgboost-runtime:v2.3.0" in out


def test_an_unknown_runtime_is_the_backends_message(shell, capsys, client):
    message = usage_error(shell, capsys, "--runtime nope --name x", "print(1)")
    assert "does not know the runtime 'nope'" in message
    assert "torch-distributed, jax-distributed, xgboost-distributed" in message
    assert client.list() == []


def test_no_framework_leaves_the_kind_to_the_backend_with_two_workers(shell, client):
    error, job = run(shell, "--name auto", "print('hi')")
    assert error is None, error
    # Nothing asked for: the spec says so, and this backend (serving v1) runs a PyTorchJob.
    assert job.spec.kind_auto and job.kind == "PyTorchJob" and job.workers == 2
    assert job.name == "auto"


def test_scale_of_a_trainjob_asks_first_then_replaces(shell, capsys, client, stop_file):
    line = f"--runtime torch-distributed --nodes 2 --name grow --env STOP_FILE={stop_file}"
    error, _ = run(shell, line, NODE_CELL)
    assert error is None, error
    message = usage_error(shell, capsys, "scale grow 3")
    assert "a TrainJob cannot resize: it will be replaced and training restarts" in message
    assert "%kftrain scale grow 3 --yes" in message
    assert client.get("grow").workers == 2  # nothing happened
    error, _ = run(shell, "scale grow 3 --replace")
    assert error is None, error
    out = capsys.readouterr().out
    assert out.index("it will be replaced") < out.index("grow: 3 nodes")
    assert "was replaced by the same job on 3 nodes (was 2)" in out
    assert client.get("grow").workers == 3
    stop_file.write_text("")
