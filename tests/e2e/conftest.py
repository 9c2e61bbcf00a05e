"""A real JupyterLab with jupyter-kf on the local backend, and Debian's headless Chromium
driven by Playwright (its Python package; it never downloads a browser)."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILT = REPO / "jupyter_kf" / "labextension"
ARTIFACTS = REPO / "test-artifacts" / "e2e"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]

TRAIN = """\
import os, time
rank = int(os.environ["RANK"])
print(f"hello from rank {rank} of {os.environ['WORLD_SIZE']}", flush=True)
for step in range(8):
    print(f"step={step} loss={1.0 / (step + 1):.3f}", flush=True)
    time.sleep(0.5)
print("done", flush=True)
"""
LONG = """\
import os, time
print(f"rank {os.environ['RANK']} waiting", flush=True)
step = 0
while True:
    print(f"step={step} loss={1.0 / (step + 1):.4f}", flush=True)
    step += 1
    time.sleep(0.3)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    def __init__(self, url: str, token: str, root: Path, home: Path):
        self.url, self.token, self.root, self.home = url, token, root, home

    def api(self, path: str) -> bytes:
        request = urllib.request.Request(
            f"{self.url}/kf/api/{path}", headers={"Authorization": f"token {self.token}"}
        )
        return urllib.request.urlopen(request, timeout=30).read()


@pytest.fixture
def lab(tmp_path, jkf_home):
    if not (BUILT / "package.json").exists():
        pytest.fail(
            "the labextension is not built: run `pip install -e .` "
            "(or: cd labextension && npm ci && npm run build:prod)"
        )
    root = tmp_path / "root"
    root.mkdir()
    (root / "train.py").write_text(TRAIN)
    (root / "long.py").write_text(LONG)
    # This checkout's build, whatever is installed in the environment.
    data = tmp_path / "data"
    (data / "labextensions").mkdir(parents=True)
    (data / "labextensions" / "jupyter-kf-labextension").symlink_to(BUILT)
    # No "news?" prompt over the screenshots.
    settings = tmp_path / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    # Widget settings stay Lab's defaults ("save widget state" off): a reopened notebook's
    # JobMonitor must show without them.
    port, token = _free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "JUPYTER_KF_HOME": str(jkf_home),
        "JUPYTER_PATH": str(data),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
    }
    log = open(tmp_path / "lab.log", "wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--allow-root",
            "--no-browser",
            f"--port={port}",
            "--ServerApp.ip=127.0.0.1",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            '--ServerApp.jpserver_extensions={"jupyter_kf": True}',
            f"--LabApp.user_settings_dir={tmp_path / 'settings'}",
            f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--JupyterKF.backend=local",
        ],
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    lab = Lab(url, token, root, jkf_home)
    while True:
        try:
            lab.api("config")
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail((tmp_path / "lab.log").read_text()[-4000:])
            time.sleep(0.3)
    yield lab
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(tmp_path / "lab.log", ARTIFACTS / "lab.log")


@pytest.fixture
def page(lab):
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"no Chromium at {CHROMIUM}: `apt-get install chromium` "
            "(scripts/apt-packages.txt lists it)"
        )
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 860})
        page = context.new_page()
        console: list[str] = []
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
        page.console_log = console  # type: ignore[attr-defined]
        try:
            yield page
        finally:
            (ARTIFACTS / "console.log").write_text("\n".join(console))
            page.screenshot(path=str(ARTIFACTS / "last.png"))
            context.close()
            browser.close()
