"""``jupyter kf`` run the way a user runs it: the installed command in a subprocess, on the
local backend, jobs under this test's own JUPYTER_KF_HOME; exit codes, --json, errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.waiting import wait_for

JUPYTER = Path(sys.executable).with_name("jupyter")
TRAIN = """\
import os, sys, time
print("rank", os.environ["RANK"], "of", os.environ["WORLD_SIZE"], "args", sys.argv[1:], flush=True)
print("epoch=1 loss=0.5", flush=True)
if os.environ.get("HOLD"):
    time.sleep(600)
"""


def kf(*argv: str, env: dict | None = None, ok: bool | None = True) -> subprocess.CompletedProcess:
    """``jupyter kf ARGV`` as a shell user types it; ``ok`` checks the exit status is 0."""
    done = subprocess.run(
        [str(JUPYTER), "kf", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )
    if ok:
        assert done.returncode == 0, (argv, done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    return done


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "train.py"
    path.write_text(TRAIN)
    return path


def test_the_command_is_installed():
    assert JUPYTER.is_file() or shutil.which("jupyter")
    assert "submit" in kf("--help").stdout


def test_a_job_from_submit_to_delete(client, script):
    local = ["--backend", "local"]
    out = kf(*local, "submit", str(script), "--name", "mnist", "--workers", "2", "--wait",
             "--", "--epochs", "3").stdout  # fmt: skip
    assert "submitted PyTorchJob mnist (2 workers)" in out and "Succeeded" in out

    listed = json.loads(kf(*local, "list", "--json").stdout)
    assert [(j["name"], j["status"]["phase"]) for j in listed] == [("mnist", "Succeeded")]
    assert "mnist" in kf(*local, "list").stdout.splitlines()[1]

    status = json.loads(kf(*local, "status", "mnist", "--json").stdout)
    assert status["kind"] == "PyTorchJob" and status["workers"] == 2
    assert "PyTorchJob mnist (local/local): Succeeded" in kf(*local, "status", "mnist").stdout

    logs = kf(*local, "logs", "mnist").stdout.splitlines()
    assert logs[0] == "rank 0 of 2 args ['--epochs', '3']"
    worker = kf(*local, "logs", "mnist", "--replica", "worker-0", "--tail", "1").stdout
    assert worker.splitlines() == ["epoch=1 loss=0.5"]
    points = json.loads(kf(*local, "metrics", "mnist", "--json").stdout)
    assert any(p.get("loss") == 0.5 or p.get("values", {}).get("loss") == 0.5 for p in points)
    assert any(e["reason"] for e in json.loads(kf(*local, "events", "mnist", "--json").stdout))

    assert kf(*local, "delete", "mnist").stdout.strip() == "deleted mnist"
    assert json.loads(kf(*local, "list", "--json").stdout) == []
    assert kf(*local, "list").stdout.strip() == "no jobs"


def test_scale_suspend_resume_a_running_job(client, script):
    local = ["--backend", "local"]
    kf(*local, "submit", str(script), "--name", "held", "--workers", "1", "--env", "HOLD=1")
    wait_for(lambda: client.get("held").phase == "Running", 60)
    assert kf(*local, "scale", "held", "3").stdout.strip().startswith("held: 3 workers")
    assert client.get("held").workers == 3
    assert kf(*local, "suspend", "held").stdout.strip() == "held: Suspended"
    assert client.get("held").spec.run_policy.suspend
    kf(*local, "resume", "held")
    assert not client.get("held").spec.run_policy.suspend
    wait_for(lambda: client.get("held").phase == "Running", 60)
    kf(*local, "delete", "held")


@pytest.mark.parametrize(
    ("argv", "code", "says"),
    [
        (["status", "nosuch"], 1, "nosuch"),
        (["logs", "nosuch"], 1, "nosuch"),
        (["delete", "nosuch"], 1, "nosuch"),
        (["scale", "nosuch", "2"], 1, "nosuch"),
        (["scale", "nosuch", "two"], 2, "invalid int value"),
        (["status"], 2, "the following arguments are required: name"),
        (["frobnicate"], 2, "invalid choice"),
        (["list", "--", "x"], 2, "only submit takes arguments after --"),
        (["submit", "SCRIPT", "--name", "Bad_Name"], 2, "name 'Bad_Name' is not allowed"),
        (["submit", "SCRIPT", "--name", "a" * 10240], 2, "characters, at most 63"),
        (["submit", "SCRIPT", "--name", "bell\x07"], 2, "is not allowed"),
        (["submit", "SCRIPT", "--name", "ok", "--env", "NOEQUALS"], 2, "is not KEY=VALUE"),
        (["submit", "SCRIPT", "--name", "ok", "--env", "K\x01=v"], 2, "env name"),
        (["submit", "SCRIPT", "--name", "ok", "--workers", "0"], 2, "workers"),
        (["submit", "/no/such.py", "--name", "ok"], 2, "/no/such.py"),
        (["submit", "SCRIPT", "--name", "ok", "--framework", "caffe"], 2, "invalid choice"),
    ],
    ids=lambda v: str(v)[:40],
)
def test_bad_input_is_one_clear_line_and_exit_code(client, script, argv, code, says):
    argv = [str(script) if a == "SCRIPT" else a for a in argv]
    done = kf("--backend", "local", *argv, ok=None)
    assert done.returncode == code, (done.returncode, done.stderr)
    assert says in done.stderr, done.stderr
    assert done.stderr.startswith("error: " if code == 1 else ("error: ", "usage: "))
    # The problem, not a dump (the 10 KB name is echoed whole today, twice: ~20 KB).
    assert len(done.stderr) < 24_000
    assert client.list() == []  # nothing was made


def test_auto_with_neither_a_pod_nor_a_kubeconfig_is_local(client, tmp_path, script):
    env = {"HOME": str(tmp_path), "KUBECONFIG": "", "KUBERNETES_SERVICE_HOST": ""}
    kf("submit", str(script), "--name", "here", "--wait", env=env)
    jobs = json.loads(kf("list", "--json", env=env).stdout)
    assert [(j["name"], j["backend"]) for j in jobs] == [("here", "local")]


def test_auto_with_a_service_host_but_no_service_account_is_local(client, tmp_path, script):
    """Only half a pod (no ServiceAccount token mounted): no cluster to use."""
    env = {"HOME": str(tmp_path), "KUBECONFIG": "", "KUBERNETES_SERVICE_HOST": "10.0.0.1"}
    kf("submit", str(script), "--name", "half", env=env)
    assert client.get("half").backend == "local"


def test_auto_with_a_kubeconfig_is_the_cluster(client, tmp_path, script):
    """A kubeconfig makes ``auto`` the cluster: here one whose API server is not there,
    so the command says it cannot reach it (exit 1, one line), and nothing runs locally."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:9"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    env = {"HOME": str(tmp_path), "KUBECONFIG": str(kubeconfig), "KUBERNETES_SERVICE_HOST": ""}
    done = kf("submit", str(script), "--name", "far", env=env, ok=None)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert done.stderr.startswith("error: cannot reach the Kubernetes API server"), done.stderr
    assert "port=9" in done.stderr and len(done.stderr.splitlines()) == 1
    assert client.list() == []


# Inside a pod: the ServiceAccount's files at their fixed path. A private mount namespace
# (this process tree only) puts them there without touching the machine's /run.
IN_A_POD = """
mount -t tmpfs jkf-test /run
sa=/run/secrets/kubernetes.io/serviceaccount
mkdir -p $sa && echo token > $sa/token && echo pod-ns > $sa/namespace && echo ca > $sa/ca.crt
exec "$0" "$@"
"""


def test_auto_in_a_pod_is_the_cluster_and_the_pods_namespace(client, tmp_path, script):
    """``KUBERNETES_SERVICE_HOST`` and a mounted ServiceAccount, no kubeconfig: ``auto`` is
    the cluster, in the namespace the ServiceAccount's file names (here an API server that is
    not there, so the command says which one it could not reach)."""
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "KUBECONFIG": "",
        "KUBERNETES_SERVICE_HOST": "127.0.0.1",
        "KUBERNETES_SERVICE_PORT": "9",
    }
    unshare = shutil.which("unshare")
    assert unshare, "the pod test needs unshare (util-linux) and root for a mount namespace"
    argv = [unshare, "--mount", "--propagation", "private", "sh", "-c", IN_A_POD]
    argv += [str(JUPYTER), "kf", "submit", str(script), "--name", "inpod"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 1, (done.returncode, done.stderr)
    assert done.stderr.startswith("error: cannot reach the Kubernetes API server"), done.stderr
    assert "namespace 'pod-ns'" in done.stderr and "port=9" in done.stderr, done.stderr
    assert client.list() == []
