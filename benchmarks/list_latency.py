"""List latency with 500 jobs: GET /kf/api/jobs on a running jupyter server, p50/p99.

Ours: the server extension's list route on the local backend, 500 finished jobs on disk
(one real 2-worker job run to the end, its folder copied 499 times under other names), so
every request looks at 500 job folders (a stat of spec, status and meta each; the files are
parsed again only when they changed — the folders stay the truth) and answers their
summaries.

Reference, not a peer product: jupyter-server's own contents API listing the same folder
(GET /api/contents/jobs, the server's root being $JUPYTER_KF_HOME), the cheapest listing the
same server does of the same 500 folders, one stat per entry. No product lists local
training jobs across processes (the kubeflow SDK's LocalProcessBackend keeps its jobs in
the client object), so the goal is absolute and the ratio only says what our summaries
cost over a bare directory listing. Requests alternate ours, reference, ours, ...

``--quick`` measures the same thing with 60 requests each instead of 300 (its p99 is then
the second-largest sample).

    python benchmarks/list_latency.py [--quick] [--requests N] [--jobs N]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from support.peer import stats
from support.verdict import Run

NAME = "list_latency"
ROOT = Path(__file__).resolve().parents[1]


class Server:
    """A `jupyter server` (or `jupyter lab`) with jupyter_kf on the local backend."""

    def __init__(
        self, home: Path, *, lab: bool = False, root: Path | None = None, extra: list[str] = ()
    ):
        self.home, self.token = home, secrets.token_hex(16)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        work = Path(tempfile.mkdtemp(prefix="jkf-bench-server-"))
        self.work = work
        env = {
            **os.environ,
            "JUPYTER_KF_HOME": str(home),
            "JUPYTER_CONFIG_DIR": str(work / "config"),
            "JUPYTER_RUNTIME_DIR": str(work / "rt"),
        }
        module = "jupyterlab" if lab else "jupyter_server"
        self.log = open(work / "server.log", "wb")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                module,
                "--allow-root",
                "--no-browser",
                f"--port={self.port}",
                "--ServerApp.ip=127.0.0.1",
                f"--IdentityProvider.token={self.token}",
                f"--ServerApp.root_dir={root or home}",
                '--ServerApp.jpserver_extensions={"jupyter_kf": True}',
                "--JupyterKF.backend=local",
                "--ServerApp.log_level=WARN",
                *extra,
            ],
            cwd=work,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        deadline = time.monotonic() + 90
        while True:
            try:
                self.get("/kf/api/config")
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((work / "server.log").read_text()[-3000:])
                time.sleep(0.3)

    def get(self, path: str) -> bytes:
        request = urllib.request.Request(
            self.url + path, headers={"Authorization": f"token {self.token}"}
        )
        return urllib.request.urlopen(request, timeout=60).read()

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
        shutil.rmtree(self.work, ignore_errors=True)


def make_jobs(home: Path, count: int) -> None:
    """One real finished job, copied ``count - 1`` times under other names."""
    from jupyter_kf import Client
    from jupyter_kf.backends.local import LocalBackend

    jobs = home / "jobs"
    client = Client(LocalBackend(jobs))
    client.submit(
        name="job-0000", framework="pytorch", workers=2, cell="print('epoch=1 loss=0.5')\n"
    )
    client.wait("job-0000", timeout=120)
    source = jobs / "job-0000"
    for i in range(1, count):
        name = f"job-{i:04d}"
        shutil.copytree(source, jobs / name, ignore=shutil.ignore_patterns("*.sock"))
        spec = json.loads((jobs / name / "spec.json").read_text())
        spec["name"] = name
        (jobs / name / "spec.json").write_text(json.dumps(spec))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="60 requests each")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--jobs", type=int, default=500)
    args = parser.parse_args()
    requests = 60 if args.quick else args.requests
    run = Run(NAME, quick=args.quick)

    home = Path(tempfile.mkdtemp(prefix="jkf-bench-list-"))
    make_jobs(home, args.jobs)
    server = Server(home)
    ours: list[float] = []
    peer: list[float] = []
    try:
        listed = json.loads(server.get("/kf/api/jobs"))["jobs"]
        assert len(listed) == args.jobs, len(listed)
        assert len(json.loads(server.get("/api/contents/jobs"))["content"]) == args.jobs
        for _ in range(5):  # warm-up
            server.get("/kf/api/jobs")
            server.get("/api/contents/jobs")
        for _ in range(requests):  # A B A B ...
            t = time.perf_counter()
            server.get("/kf/api/jobs")
            ours.append(time.perf_counter() - t)
            t = time.perf_counter()
            server.get("/api/contents/jobs")
            peer.append(time.perf_counter() - t)
    finally:
        server.close()
        shutil.rmtree(home, ignore_errors=True)

    def summary(values: list[float]) -> dict:
        return {
            **stats([v * 1000 for v in values]),
            "p50": round(percentile(values, 0.5) * 1000, 2),
            "p99": round(percentile(values, 0.99) * 1000, 2),
        }

    ours_ms, peer_ms = summary(ours), summary(peer)
    result = {
        "ours": {"list_ms": ours_ms, "jobs": args.jobs},
        "peer": {
            "reference (not a product): jupyter-server contents API, same folders": {
                "list_ms": peer_ms,
                "entries": args.jobs,
            }
        },
        "ratio": {
            "list_ms_p50": round(ours_ms["p50"] / peer_ms["p50"], 2),
            "list_ms_p99": round(ours_ms["p99"] / peer_ms["p99"], 2),
        },
        "goal": {"list_ms": "p50 under 250 ms and p99 under 1 s with 500 jobs"},
        "notes": (
            "times in ms, client-side, loopback; ours stats 3 JSON files per job and "
            "parses them again only when they changed (the folders stay the truth), "
            "the reference (a directory listing, not a job list) stats each entry. "
            "Cluster: benchmarks/list_jobs.py."
        ),
    }
    print(
        f"ours p50 {ours_ms['p50']} ms p99 {ours_ms['p99']} ms; "
        f"reference p50 {peer_ms['p50']} ms p99 {peer_ms['p99']} ms",
        flush=True,
    )
    return run.finish(result, "the same, with 60 requests each (full: 300)")


if __name__ == "__main__":
    sys.exit(main())
