"""Status change -> panel: from a job's transition to the JupyterLab panel showing it (ms).

Ours: JupyterLab with jupyter-kf in Debian's headless Chromium, the panel open. A 2-worker
job is submitted from outside the browser (as the CLI or a magic would); the change time
is the transition's own timestamp (the Succeeded condition's
lastTransitionTime, written by the job's supervisor; Running is not sampled, since its
condition's time is rewritten when it ends), the seen time is when a
MutationObserver in the page sees the job's badge show that phase. The path measured:
supervisor writes status.json -> the extension's watch -> jupyter-server's event bus ->
websocket -> the panel's model -> React.

Reference, not a peer product: no JupyterLab panel of training jobs exists to compare
with, so the reference is the pattern such panels use, dask-labextension's: a poll of the
list every 5 s (its default Poll interval), run in the same page at the same time against
the same REST list, so both see the very same transitions. Each transition is one sample for
each. The goal is absolute (a median under 500 ms), and "no polling" is checked, not
assumed:

- Idle: with the panel open and a job running (a worker that sleeps and prints nothing),
  the reference poll stopped, for IDLE_S seconds the page's requests to the extension's
  routes (/kf/...) and the websockets it opens are counted (goal: none), and the
  jupyter-server process's read syscalls and CPU time are read from /proc: what the local
  backend's watch costs while nothing happens (it sleeps in inotify and re-reads a job
  folder every 2 s regardless; reported, not a goal).

``--quick`` measures the same thing with 3 transitions (full: 8) and the same idle window.

    python benchmarks/panel_latency.py [--quick] [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from list_latency import ROOT, Server
from support.peer import stats
from support.verdict import Run

NAME = "panel_latency"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
PHASES = ("Succeeded",)
CELL = "import time\nprint('hi', flush=True)\ntime.sleep(1.5)\n"
PEER_INTERVAL_MS = 5000
IDLE_S = 30  # 15 of the local backend's 2 s safety re-reads
IDLE_CELL = "import time\ntime.sleep(600)\n"
REFERENCE = "reference (not a product): a 5 s list poll, dask-labextension's default"

WATCH_JS = """
(phases) => {
  window.__kfSeen = {};
  const record = () => {
    for (const li of document.querySelectorAll('#jupyter-kf-panel li.jp-kf-job')) {
      const phase = li.querySelector('.jp-kf-badge')?.textContent;
      const key = li.dataset.job + '/' + phase;
      if (phases.includes(phase) && !(key in window.__kfSeen)) window.__kfSeen[key] = Date.now();
    }
  };
  new MutationObserver(record).observe(document.body, {subtree: true, childList: true, characterData: true});
}
"""
POLL_JS = """
([base, interval, phases]) => {
  window.__peerSeen = {};
  const xsrf = (document.cookie.match(/_xsrf=([^;]+)/) || [])[1];
  const poll = async () => {
    const r = await fetch(base + 'kf/api/jobs', {headers: xsrf ? {'X-XSRFToken': xsrf} : {}});
    const now = Date.now();
    for (const job of (await r.json()).jobs) {
      const key = job.name + '/' + job.status.phase;
      if (phases.includes(job.status.phase) && !(key in window.__peerSeen)) window.__peerSeen[key] = now;
    }
  };
  window.__peerTimer = setInterval(poll, interval);
}
"""


def epoch(rfc3339: str) -> float:
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 jobs (6 transitions)")
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()
    rounds = 3 if args.quick else args.rounds
    run = Run(NAME, quick=args.quick)
    built = ROOT / "jupyter_kf" / "labextension"
    if not (built / "package.json").exists():
        raise SystemExit(
            "build the panel first: pip install -e . (or cd labextension && npm run build:prod)"
        )

    from playwright.sync_api import sync_playwright

    from jupyter_kf import Client
    from jupyter_kf.backends.local import LocalBackend

    home = Path(tempfile.mkdtemp(prefix="jkf-bench-panel-"))
    data = home / "data" / "labextensions"
    data.mkdir(parents=True)
    (data / "jupyter-kf-labextension").symlink_to(built)
    os.environ["JUPYTER_PATH"] = str(home / "data")
    server = Server(
        home,
        lab=True,
        root=home,
        extra=[
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ],
    )
    client = Client(LocalBackend(home / "jobs"))
    ours: list[float] = []
    peer: list[float] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            page.goto(f"{server.url}/lab?token={server.token}", wait_until="domcontentloaded")
            page.locator('.jp-SideBar [data-id="jupyter-kf-panel"]').click(timeout=90_000)
            page.locator(".jp-kf-live.jp-mod-live").wait_for(timeout=60_000)
            page.evaluate(WATCH_JS, list(PHASES))
            page.evaluate(POLL_JS, ["/", PEER_INTERVAL_MS, list(PHASES)])
            for i in range(rounds + 1):  # the first is a warm-up
                name = f"bench-{i}"
                time.sleep(random.uniform(0, PEER_INTERVAL_MS / 1000))  # any phase of the poll
                client.submit(name=name, framework="pytorch", workers=2, cell=CELL)
                client.wait(name, timeout=120)
                job = client.get(name)
                changes = {
                    c.type: epoch(c.last_transition_time)
                    for c in job.status.conditions
                    if c.type in PHASES and c.last_transition_time
                }
                deadline = time.monotonic() + 30
                while True:
                    seen = page.evaluate("window.__kfSeen")
                    polled = page.evaluate("window.__peerSeen")
                    keys = [f"{name}/{ph}" for ph in changes]
                    if (
                        all(k in seen for k in keys) and f"{name}/Succeeded" in polled
                    ) or time.monotonic() > deadline:
                        break
                    time.sleep(0.2)
                for phase, at in changes.items():
                    key = f"{name}/{phase}"
                    if i == 0:
                        continue
                    if key in seen:
                        ours.append(seen[key] - at * 1000)
                    if key in polled:
                        peer.append(polled[key] - at * 1000)
                if i:
                    print(
                        f"round {i}: ours {[round(v) for v in ours[-len(changes) :]]} ms, "
                        f"reference {[round(v) for v in peer[-1:]]} ms",
                        flush=True,
                    )
            page.evaluate("clearInterval(window.__peerTimer)")
            idle = idle_window(page, server, client)
            print(f"idle {IDLE_S} s: {idle}", flush=True)
            browser.close()
    finally:
        for job in client.list():
            client.delete(job.name)
        server.close()
        shutil.rmtree(home, ignore_errors=True)

    ours_ms, peer_ms = stats(ours), stats(peer)
    result = {
        "ours": {"change_to_panel_ms": ours_ms, "idle": idle},
        "peer": {REFERENCE: {"change_to_panel_ms": peer_ms}},
        "ratio": {"change_to_panel_ms": round(ours_ms["median"] / peer_ms["median"], 3)},
        "goal": {
            "change_to_panel_ms": "median under 500 ms",
            "no polling": f"the open panel sends no request to /kf/ and opens no websocket "
            f"in {IDLE_S} s with a job running",
        },
        "notes": (
            "each sample one transition to Succeeded of a 2-worker local job, submitted "
            "at a random phase of the reference's poll. idle: the server's read syscalls "
            "include the websocket and JupyterLab's own traffic, so they bound the local "
            "backend's reads from above. Cluster not measured here."
        ),
    }
    return run.finish(result, f"the same, 3 transitions (full: 8), the same {IDLE_S} s idle window")


def idle_window(page, server: Server, client) -> dict:
    """What the open panel and the server do in IDLE_S seconds with a job running and
    nothing changing."""
    client.submit(name="bench-idle", framework="pytorch", workers=1, cell=IDLE_CELL)
    client.wait("bench-idle", conditions=("Running",), timeout=120)
    time.sleep(3)  # the panel's reaction to the job's start is not idle time
    requests: list[str] = []
    sockets: list[str] = []

    def on_request(request) -> None:
        if "/kf/" in request.url:
            requests.append(f"{request.method} {request.url.split('?')[0]}")

    def on_socket(socket) -> None:
        sockets.append(socket.url.split("?")[0])

    page.on("request", on_request)
    page.on("websocket", on_socket)
    before = server_counters(server.proc.pid)
    page.wait_for_timeout(IDLE_S * 1000)  # the page's own event loop keeps running
    after = server_counters(server.proc.pid)
    page.remove_listener("request", on_request)
    page.remove_listener("websocket", on_socket)
    client.delete("bench-idle")
    return {
        "seconds": IDLE_S,
        "panel_requests": len(requests),
        "panel_requests_seen": sorted(set(requests)),
        "websockets_opened": len(sockets),
        "server_read_syscalls_per_s": round((after["syscr"] - before["syscr"]) / IDLE_S, 2),
        "server_cpu_ms_per_s": round((after["cpu_s"] - before["cpu_s"]) * 1000 / IDLE_S, 2),
    }


def server_counters(pid: int) -> dict:
    """The jupyter-server process's read syscalls and CPU seconds so far (Linux /proc)."""
    io = dict(
        line.split(": ")
        for line in Path(f"/proc/{pid}/io").read_text().splitlines()
        if ": " in line
    )
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    return {"syscr": int(io["syscr"]), "cpu_s": ticks / os.sysconf("SC_CLK_TCK")}


if __name__ == "__main__":
    sys.exit(main())
