"""Failure paths with real exit codes, on the real node through the real training operator,
read back through jupyter-kf's client as a notebook user would: a crash loop stops at the
job's backoff limit and the job says why in one line; the ExitCode policy retries a killed
worker but not a program's own error; an OOM kill names the memory limit; a script writes to
its working directory beside its read-only code (and does the same on the local backend);
deleting a job kills its processes on the node.
"""

from __future__ import annotations

import http.server
import os
import subprocess
import threading
import time
import uuid

import pytest
from kubernetes import client as k8s

from jupyter_kf import Client, JobFailedError
from jupyter_kf.jobs import CODE_MOUNT, Code, JobSpec, Resources
from jupyter_kf.jobs.explain import explain
from jupyter_kf.jobs.render import WORK_DIR
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.realpods]

NODE_IP = "10.89.0.1"  # the host, as pods on the real node reach it
ENDED = ("Succeeded", "Failed")


def spec(name: str, source: str, **fields) -> JobSpec:
    files = fields.pop("files", {})
    args = fields.pop("args", ())
    code = Code(source, files=files, args=args)
    return JobSpec.create(
        "pytorch", name=name, workers=fields.pop("workers", 1), code=code, **fields
    )


def pids(marker: str) -> list[int]:
    """The node's processes whose command line holds ``marker``: a pod's processes are the
    host's, in their own PID namespace."""
    out = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def test_a_crash_loop_stops_at_the_backoff_limit_and_says_why(real_user):
    c = real_user.client
    crash = (
        "import os, time\n"
        "if os.environ['RANK'] == '1':\n"
        "    print('rank 1 starting', flush=True)\n"
        "    raise ValueError('boom from rank 1')\n"
        "time.sleep(300)\n"  # rank 0 is fine; the job fails because of rank 1
    )
    c.submit(spec("crash", crash, workers=2))  # PyTorch's default: OnFailure, backoff limit 3
    # Awaiting success raises the same one line the job gives.
    with pytest.raises(JobFailedError) as info:
        c.wait("crash", timeout=300)
    job = c.wait("crash", conditions=ENDED, timeout=60)
    assert job.phase == "Failed"
    assert "backoff limit" in job.status.message  # the operator's reason
    worker = next(r for r in job.replicas if r.name == "worker-0")
    # The operator counts container restarts of running pods against the limit.
    assert worker.restarts >= 3 and worker.exit_code == 1, worker
    line = explain(job)
    assert line.startswith(
        f"Failed: worker-0 exited with code 1 (failed {worker.restarts} times; "
        "backoff limit 3 reached): "
    ), line
    # The end of its log (stdout and stderr reach the log through two pipes: their lines'
    # order there is not the order they were written in).
    assert "ValueError: boom from rank 1" in line.split("reached): ", 1)[1], line
    assert "\n" not in line
    assert str(info.value).startswith("job crash failed: worker-0 exited with code 1"), info.value
    assert "ValueError: boom from rank 1" in str(info.value)


class Attempts(http.server.BaseHTTPRequestHandler):
    """Counts the requests for each path: a job's attempt number, kept outside its pods
    (the ExitCode policy replaces a failed pod with a new one)."""

    counts: dict[str, int] = {}
    lock = threading.Lock()

    def do_GET(self):
        with self.lock:
            n = self.counts[self.path] = self.counts.get(self.path, 0) + 1
        self.send_response(200)
        self.end_headers()
        self.wfile.write(str(n).encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def attempts():
    Attempts.counts = {}
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Attempts)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd.server_address[1], Attempts.counts
    httpd.shutdown()


def test_exit_code_policy_retries_a_killed_worker_but_not_a_program_error(real_user, attempts):
    c = real_user.client
    port, counts = attempts
    marker = f"jkf-retry-{uuid.uuid4().hex[:8]}"
    source = (
        "import sys, time, urllib.request\n"
        "job = sys.argv[1]\n"
        f"n = int(urllib.request.urlopen(f'http://{NODE_IP}:{port}/' + job, timeout=10).read())\n"
        "print('attempt', n, flush=True)\n"
        "if job == 'permanent':\n"
        "    sys.exit(3)\n"  # the program's own error: 1-127 is permanent
        "if n == 1:\n"
        "    time.sleep(600)\n"  # waits to be killed (SIGKILL: 137, retryable)
        "print('second attempt done', flush=True)\n"
    )
    c.submit(spec("retried", source, args=["retried", marker], restart_policy="ExitCode"))
    c.submit(spec("permanent", source, args=["permanent"], restart_policy="ExitCode"))
    first = wait_for(lambda: pids(marker), 120, what="the first attempt's process on the node")
    # Killed once it has counted its attempt (pgrep may see it before that).
    wait_for(lambda: counts.get("/retried") == 1, 60, what="the first attempt to be counted")
    os.kill(first[0], 9)  # from the host, as the kernel's OOM killer or an eviction would

    permanent = c.wait("permanent", conditions=ENDED, timeout=120)
    assert permanent.phase == "Failed", explain(permanent)
    assert explain(permanent).startswith("Failed: master-0 exited with code 3"), explain(permanent)
    retried = c.wait("retried", conditions=ENDED, timeout=180)
    assert retried.phase == "Succeeded", explain(retried)
    assert "second attempt done" in "\n".join(c.logs("retried"))
    # The operator saw the real signal's exit code, and replaced the pod.
    assert any("exited with code 137" in e.message for e in c.events("retried"))
    time.sleep(3)  # a retry of the permanent failure would have asked by now
    assert counts == {"/retried": 2, "/permanent": 1}, counts


def test_an_oom_kill_is_reported_with_the_memory_limit(real_user):
    c = real_user.client
    hog = "print('allocating', flush=True)\nb = bytearray(400 * 1024 * 1024)\nprint('survived')\n"
    c.submit(spec("hog", hog, restart_policy="Never", resources=Resources(memory="64Mi")))
    job = c.wait("hog", conditions=ENDED, timeout=120)
    master = job.replicas[0]
    assert (job.phase, master.exit_code, master.reason) == ("Failed", 137, "OOMKilled"), master
    assert explain(job).startswith(
        "Failed: master-0 exited with code 137 (OOMKilled, memory limit 64Mi)"
    ), explain(job)


WRITER = (
    "import errno, os, helper\n"
    "with open('out.txt', 'w') as f:\n"
    "    f.write('written here')\n"
    "print('cwd', os.getcwd())\n"
    "print('read back', open('out.txt').read())\n"
    "print('helper', helper.VALUE, os.path.dirname(helper.__file__))\n"
    "try:\n"
    "    open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'x'), 'w').close()\n"
    "    print('code dir writable')\n"
    "except OSError as e:\n"
    "    print('code dir', errno.errorcode[e.errno])\n"
)


def written(client: Client, name: str) -> dict[str, str]:
    s = spec(name, WRITER, files={"helper.py": "VALUE = 42\n"}, restart_policy="Never")
    client.submit(s)
    job = client.wait(name, conditions=ENDED, timeout=120)
    lines = list(client.logs(name))
    assert job.phase == "Succeeded", f"{explain(job)}\n" + "\n".join(lines)
    return dict(line.split(" ", 1) for line in lines if " " in line)


def test_a_script_writes_to_its_working_directory_beside_its_read_only_code(real_user):
    got = written(real_user.client, "writer")
    assert got["cwd"] == WORK_DIR
    assert got["read"] == "back written here"
    assert got["helper"].startswith(f"42 {CODE_MOUNT}")  # imported from the shipped code
    assert got["code"] == "dir EROFS"  # the code's volume (downwardAPI here): read-only
    # The same on the local backend: its own working directory beside the job's code.
    local = written(Client("local"), "writer-local")
    assert local["cwd"].endswith("/writer-local/work")
    assert local["read"] == "back written here"
    assert local["helper"].startswith("42 ") and local["helper"].endswith("/writer-local/code")


def test_deleting_a_job_kills_its_processes_on_the_node(real_user, admin_api):
    c = real_user.client
    core = k8s.CoreV1Api(admin_api)
    marker = f"jkf-sentinel-{uuid.uuid4().hex[:8]}"
    source = (
        "import subprocess, sys, time\n"
        "child = [sys.executable, '-c', 'import time; time.sleep(600)', sys.argv[1] + '-child']\n"
        "subprocess.Popen(child)\n"
        "print('running', flush=True)\n"
        "time.sleep(600)\n"
    )
    c.submit(spec("sentinel", source, args=[marker], workers=2))
    # Two replicas, each the script and its child.
    wait_for(lambda: len(pids(marker)) == 4, 120, what=f"4 processes matching {marker}")
    selector = "training.kubeflow.org/job-name=sentinel"
    assert len(core.list_namespaced_pod(real_user.namespace, label_selector=selector).items) == 2
    t0 = time.monotonic()
    c.delete("sentinel")
    wait_for(
        lambda: not core.list_namespaced_pod(real_user.namespace, label_selector=selector).items,
        120,
        what="the job's pods to be gone",
    )
    wait_for(lambda: not pids(marker), 30, what=f"no process matching {marker}")
    seconds = time.monotonic() - t0
    print(f"pods and processes gone {seconds:.1f} s after delete")
    # Stopped by the SIGTERM, not by the SIGKILL at the end of the 30 s grace period: the
    # worker is not its PID namespace's init (render.py: shareProcessNamespace).
    assert seconds < 25, seconds
