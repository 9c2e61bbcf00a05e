"""schemathesis against openapi.yaml on a running `jupyter server`: several hundred generated
requests (valid and invalid), no 5xx, every response as the document says."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from .conftest import SLOW

CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_headers_conformance,response_schema_conformance,negative_data_rejection"
)
ST = Path(sys.executable).with_name("st")
SCHEMATHESIS_SECONDS = 600  # the run itself; the test's own timeout is this and a minute


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path, jkf_home):
    port, token = free_port(), secrets.token_hex(16)
    root = tmp_path / "root"
    root.mkdir()
    (root / "train.py").write_text("print('hello')\n")
    log = open(tmp_path / "server.log", "wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter_server",
            "--allow-root",
            "--no-browser",
            f"--port={port}",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            '--ServerApp.jpserver_extensions={"jupyter_kf": True}',
            "--JupyterKF.backend=local",
            "--JupyterKF.max_replicas=2",
        ],
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={
            **os.environ,
            "JUPYTER_KF_HOME": str(jkf_home),
            "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        },
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            request = urllib.request.Request(
                f"{url}/kf/api/config", headers={"Authorization": f"token {token}"}
            )
            urllib.request.urlopen(request, timeout=5).read()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise AssertionError((tmp_path / "server.log").read_text()[-3000:])
            time.sleep(0.2)
    yield url, token
    proc.terminate()
    proc.wait(30)
    log.close()


@pytest.mark.timeout(SCHEMATHESIS_SECONDS + 60)  # over the suite's 300 s: the run is longer
def test_schemathesis_finds_nothing(server, local, tmp_path):
    if shutil.which(str(ST)) is None:
        pytest.fail(
            f"{ST} is missing: schemathesis comes with the test extra (pip install -e '.[test]')"
        )
    url, token = server
    # A running job under the name the document's examples use, so those reach real jobs.
    local.submit(name="demo", framework="pytorch", workers=2, cell=SLOW)
    proc = subprocess.run(
        [
            str(ST),
            "run",
            f"{url}/kf/api/spec.yaml",
            "-H",
            f"Authorization: token {token}",
            "--checks",
            CHECKS,
            "--max-examples",
            "25",
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--seed",
            "7",
            "--generation-allow-x00",
            "false",
            "--generation-database",
            "none",
            "--workers",
            "1",
            "--request-timeout",
            "60",
            "--no-color",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=SCHEMATHESIS_SECONDS,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    generated = re.search(r"(\d+) generated, (\d+) passed", output)
    assert generated, output[-3000:]
    assert int(generated.group(1)) >= 300 and generated.group(1) == generated.group(2)
