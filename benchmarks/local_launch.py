"""Benchmark: from submit to the first training step on every worker (issue 2).

    .venv/bin/python benchmarks/local_launch.py            # full: 5 + 3 rounds, ~10 min idle
    .venv/bin/python benchmarks/local_launch.py --quick    # one round, ~2.5 min

(Times are for the 2-core machine when idle; each kubeflow SDK job alone takes 1.5 to 3
minutes, so neither mode can be much shorter. The first run also sets up the peer.)

What is timed, for every launcher: the wall-clock time at which the last rank finished its
first optimizer step (the ``FIRST_STEP`` line of benchmarks/support/ddp_first_step.py: one
DistributedDataParallel step of a tiny model, gloo on CPU) minus the moment the launch started.

- 4 workers: jupyter-kf's local backend (``Client("local").submit(framework="pytorch",
  workers=4, script=...)``, the clock started just before ``submit``) against
  ``torchrun --nproc-per-node 4`` on the same script (started just before its ``Popen``).
- 1 worker, the one size the kubeflow SDK's LocalProcessBackend runs: jupyter-kf at one worker
  against ``TrainerClient(LocalProcessBackendConfig()).train(CustomTrainer(func=first_step))``
  on the same code (the clock started just before ``train``), run by
  benchmarks/support/kubeflow_sdk_driver.py in its own virtualenv, .venv-sdk/.
- The resident memory of jupyter-kf's supervisor process, sampled every 20 ms while each of
  our jobs runs (its pid is in ``<job folder>/supervisor.json``).

The pairs run alternately (ours, peer, ours, peer, ...) after a warm-up; each figure is the
median, min and max over the rounds, and each ratio is ours / peer of the medians. Every
launcher runs at its own default thread count, none set by this script: torchrun gives each
of several processes OMP_NUM_THREADS=1, jupyter-kf gives each replica its share of the
cores (cores / replicas), and the kubeflow SDK's job gets only ``CustomTrainer.env`` (no
thread count here, so torch's own default). Our jobs live in a temporary JUPYTER_KF_HOME, so
the user's jobs are untouched.

The peer is installed by this script at the version pinned in
benchmarks/requirements-kubeflow-sdk.txt, into .venv-sdk/ (never into the project's .venv).
Each SDK job builds a new virtualenv and needs ``packages_to_install=["torch==<ours>"]`` (without
it the job has no torchrun and fails); the wheels come from .venv-sdk/wheels (downloaded once
here) instead of the network, which stands in for a warm pip cache: this registry sends no cache
headers, so pip's own cache never fills. See the driver's docstring for how the SDK runs a job.

The results go to benchmarks/results/local_launch.json; the last line printed is
``RESULT local_launch {...}``. Goals (benchmarks/support/verdict.py): ours within 1.2x of
torchrun at 4 workers, at least 10x faster than the kubeflow SDK's local backend at 1
worker, supervisor RSS under 40 MB; the exit status is 1 when one is missed. ``--quick``
measures the same pairs with one round each and a shorter warm-up (only ours at 1 worker).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from importlib import metadata
from pathlib import Path

from support.verdict import Run

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
SUPPORT = BENCH / "support"
SCRIPT = SUPPORT / "ddp_first_step.py"
DRIVER = SUPPORT / "kubeflow_sdk_driver.py"
REQUIREMENTS = BENCH / "requirements-kubeflow-sdk.txt"
PEER_VENV = ROOT / ".venv-sdk"
WHEELS = PEER_VENV / "wheels"

NAME = "local_launch"
PHASES = ("proc", "script", "imported", "init", "step")
FIRST_STEP_RE = re.compile(r"FIRST_STEP (\d+) (\d+\.\d+)")
TIMES_RE = re.compile(r"TIMES (\{[^{}]*\})")
JOB_TIMEOUT = 300
SDK_TIMEOUT = 900


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def stats(values: list[float], digits: int = 3) -> dict:
    if not values:
        return {"median": None, "min": None, "max": None, "n": 0}
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
        "n": len(values),
    }


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse_rank_lines(lines, t0: float, world: int) -> dict:
    """The run's record from its ranks' FIRST_STEP and TIMES lines; raises if some are missing."""
    # Searched for, not split into lines: ranks that share a pipe (torchrun's) can interleave.
    text = "\n".join(lines)
    steps = {int(rank): float(stamp) for rank, stamp in FIRST_STEP_RE.findall(text)}
    times = {}
    for blob in TIMES_RE.findall(text):
        t = json.loads(blob)
        times[t["rank"]] = t
    if sorted(steps) != list(range(world)):
        raise RuntimeError(f"expected FIRST_STEP from ranks 0..{world - 1}, got {sorted(steps)}")
    phases = {}
    for phase in PHASES:
        vals = [t[phase] for t in times.values() if t.get(phase) is not None]
        if vals:
            phases[phase] = round(max(vals) - t0, 4)
    ranks = [
        {k: (round(t[k] - t0, 4) if t.get(k) is not None else None) for k in PHASES}
        for _, t in sorted(times.items())
    ]
    return {
        "first_step_s": round(max(steps.values()) - t0, 4),
        "phases_s": phases,
        "ranks_s": ranks,
    }


# -- the peer's setup ------------------------------------------------------------------------
def pinned(requirement_file: Path, package: str) -> str:
    for line in requirement_file.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.lower().startswith(package + "=="):
            return line.split("==", 1)[1].strip()
    raise SystemExit(f"{requirement_file} pins no {package}==<version>")


def torch_requirement() -> str:
    version = metadata.version("torch").split("+", 1)[0]  # our .venv's torch, without importing it
    return f"torch=={version}"


def setup_peer() -> dict:
    """Install the pinned kubeflow SDK into .venv-sdk/ and fetch the torch wheels its jobs install."""
    version = pinned(REQUIREMENTS, "kubeflow")
    python = PEER_VENV / "bin" / "python"
    check = [str(python), "-c", "import kubeflow, sys; sys.stdout.write(kubeflow.__version__)"]
    have = None
    if python.exists():
        probe = subprocess.run(check, capture_output=True, text=True)
        have = probe.stdout.strip() if probe.returncode == 0 else None
    if have != version:
        log(f"setting up the peer: kubeflow=={version} into {PEER_VENV.relative_to(ROOT)}/")
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "-r", str(REQUIREMENTS)], check=True
        )
        probe = subprocess.run(check, capture_output=True, text=True)
        if probe.returncode != 0 or probe.stdout.strip() != version:
            raise SystemExit(
                f"the kubeflow SDK did not install in {PEER_VENV}: {probe.stderr.strip()}"
            )
    torch_req = torch_requirement()
    stamp = WHEELS / f".complete-{torch_req}"
    if not stamp.exists():
        log(
            f"downloading the wheels of {torch_req} (and its dependencies) into "
            f"{WHEELS.relative_to(ROOT)}/, once"
        )
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "download",
                "-q",
                "--only-binary=:all:",
                "-d",
                str(WHEELS),
                torch_req,
            ],
            check=True,
        )
        stamp.touch()
    # The warm-up of the SDK's side: its jobs read these wheels. A whole SDK job as warm-up
    # would add two minutes and warm nothing else, since every SDK job builds a new venv.
    size = 0
    for wheel in WHEELS.glob("*.whl"):
        with open(wheel, "rb") as fh:
            while chunk := fh.read(1 << 23):
                size += len(chunk)
    return {
        "version": version,
        "venv": str(PEER_VENV.relative_to(ROOT)),
        "torch": torch_req,
        "wheels_mb": round(size / 1e6),
    }


# -- the launchers -----------------------------------------------------------------------------
class RssSampler(threading.Thread):
    """The peak RSS (and the CPU time so far) of one process, sampled every 20 ms."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        import psutil

        self.proc = psutil.Process(pid)
        self.peak = 0
        self.cpu = 0.0
        self.samples = 0
        self.halt = threading.Event()

    def run(self) -> None:
        import psutil

        while not self.halt.is_set():
            try:
                with self.proc.oneshot():
                    self.peak = max(self.peak, self.proc.memory_info().rss)
                    times = self.proc.cpu_times()
                self.cpu = times.user + times.system
                self.samples += 1
            except (psutil.NoSuchProcess, psutil.ZombieProcess):
                return
            self.halt.wait(0.02)


def process_started(pid: int) -> float | None:
    """When process ``pid`` was created, in wall-clock seconds (10 ms resolution).

    psutil's create_time adds the start ticks to the boot time in whole seconds, up to a
    second off; the process's age against the boot clock is exact to a tick.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - int(fields[19]) / os.sysconf("SC_CLK_TCK")
        return time.time() - age
    except (OSError, IndexError, ValueError):
        return None


def _stamp(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def run_ours(client, workers: int, tag: str) -> dict:
    name = f"bench-{workers}w-{tag}"
    try:
        t0 = time.time()
        job = client.submit(name=name, framework="pytorch", workers=workers, script=str(SCRIPT))
        t_submitted = time.time()
        folder = client.backend.root / name
        info = json.loads((folder / "supervisor.json").read_text())
        sampler = RssSampler(info["pid"])
        sampler.start()
        created = process_started(info["pid"])
        client.wait(name, timeout=JOB_TIMEOUT)
        sampler.halt.set()
        sampler.join()
        lines = []
        for replica in job.replicas:
            lines.extend(client.logs(name, replica=replica.name))
        record = parse_rank_lines(lines, t0, workers)
        started = [_stamp(e.time) for e in client.events(name) if e.reason == "Started"]
        record["phases_s"] = {
            "submit_returned": round(t_submitted - t0, 4),
            "supervisor_created": round(created - t0, 4) if created else None,
            "workers_started": round(max(started) - t0, 4) if started else None,
            **record["phases_s"],
        }
        record["supervisor_rss_mb"] = round(sampler.peak / 1e6, 2)
        record["rss_samples"] = sampler.samples
        record["supervisor_cpu_s"] = round(sampler.cpu, 3)
        return record
    finally:
        try:
            client.delete(name)
        except Exception:
            pass


def run_torchrun(workers: int, tag: str) -> dict:
    torchrun = Path(sys.executable).parent / "torchrun"
    command = [
        str(torchrun),
        "--nproc-per-node",
        str(workers),
        "--master-port",
        str(free_port()),
        str(SCRIPT),
    ]
    t0 = time.time()
    proc = subprocess.run(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=JOB_TIMEOUT,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"torchrun exited with {proc.returncode}: {proc.stdout[-2000:]}")
    return parse_rank_lines(proc.stdout.splitlines(), t0, workers)


def run_sdk(torch_req: str, scratch: Path, tag: str) -> dict:
    # .venv-sdk/bin first on PATH: the SDK builds each job's venv from `which python`, and
    # this way it is the interpreter itself rather than a pyenv shim (a shell script).
    env = {
        **os.environ,
        "PATH": f"{PEER_VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "TMPDIR": str(scratch),
    }
    env.pop("VIRTUAL_ENV", None)
    command = [
        str(PEER_VENV / "bin" / "python"),
        str(DRIVER),
        "--torch",
        torch_req,
        "--wheels",
        str(WHEELS),
        "--timeout",
        str(SDK_TIMEOUT),
    ]
    proc = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=SDK_TIMEOUT + 60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise RuntimeError(f"the kubeflow SDK's job did not finish in {SDK_TIMEOUT} s") from None
    finally:
        for leftover in scratch.iterdir():  # a failed SDK job keeps its venv (set -e)
            shutil.rmtree(leftover, ignore_errors=True)
    result = next(
        (
            json.loads(ln[len("SDK_RESULT ") :])
            for ln in out.splitlines()
            if ln.startswith("SDK_RESULT ")
        ),
        None,
    )
    if result is None or result["status"] != "Complete":
        tail = "\n".join(result["log_tail"]) if result else out[-3000:]
        raise RuntimeError(f"the kubeflow SDK's job failed ({proc.returncode}):\n{tail}")
    t0 = result["t0"]
    record = parse_rank_lines(result["lines"], t0, 1)
    marks = {f"venv_{k}": round(v - t0, 4) for k, v in result["marks"].items()}
    record["phases_s"] = {
        "train_returned": round(result["train_returned"] - t0, 4),
        **marks,
        **record["phases_s"],
    }
    return record


# -- the run -------------------------------------------------------------------------------
def summarize(runs: list[dict]) -> dict:
    out = {"first_step_s": stats([r["first_step_s"] for r in runs])}
    phases: dict[str, list[float]] = {}
    for r in runs:
        for k, v in r["phases_s"].items():
            if v is not None:
                phases.setdefault(k, []).append(v)
    out["phases_s_median"] = {k: round(statistics.median(v), 3) for k, v in phases.items()}
    out["runs"] = runs
    return out


def ratio(a: dict, b: dict) -> float | None:
    am, bm = a["first_step_s"]["median"], b["first_step_s"]["median"]
    return round(am / bm, 4) if am is not None and bm else None


def paired(ours: list[dict], peer: list[dict]) -> dict:
    by_round = {r["round"]: r["first_step_s"] for r in peer}
    ratios = [r["first_step_s"] / by_round[r["round"]] for r in ours if r["round"] in by_round]
    return {**stats(ratios, 4), "values": [round(x, 4) for x in ratios]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one round, a short warm-up")
    parser.add_argument("--rounds", type=int, help="rounds of the 4-worker pair (full: 5)")
    parser.add_argument("--sdk-rounds", type=int, help="rounds of the 1-worker pair (full: 3)")
    args = parser.parse_args()
    rounds = args.rounds if args.rounds is not None else (1 if args.quick else 5)
    sdk_rounds = args.sdk_rounds if args.sdk_rounds is not None else (1 if args.quick else 3)

    started = time.time()
    run = Run(NAME, quick=args.quick)
    home = Path(tempfile.mkdtemp(prefix="jkf-bench-"))
    os.environ["JUPYTER_KF_HOME"] = str(home)  # our jobs never touch the user's job folder
    scratch = Path(tempfile.mkdtemp(prefix="kubeflow-sdk-bench-"))
    result: dict = {"ours": {}, "peer": {}, "ratio": {}, "goal": {}}
    failures: list[str] = []
    try:
        peer_info = setup_peer()
        torch_req = peer_info["torch"]
        log(
            f"peer: kubeflow=={peer_info['version']} in {peer_info['venv']}/, its jobs install "
            f"{torch_req} from {WHEELS.relative_to(ROOT)}/ ({peer_info['wheels_mb']} MB of wheels)"
        )

        from jupyter_kf import Client

        client = Client("local")
        ours4, torch4, ours1, sdk1 = [], [], [], []

        def attempt(label: str, fn, into: list | None, *a, round_: int | None = None):
            t = time.time()
            try:
                rec = fn(*a)
            except Exception as exc:
                failures.append(f"{label}: {exc}")
                log(f"{label}: FAILED: {str(exc)[:2000]}")
                return None
            rec["round"] = round_
            if into is not None:
                into.append(rec)
            extra = (
                f", supervisor RSS {rec['supervisor_rss_mb']} MB"
                if "supervisor_rss_mb" in rec
                else ""
            )
            log(
                f"{label}: first step on every rank after {rec['first_step_s']:.3f} s "
                f"(run took {time.time() - t:.1f} s{extra})"
            )
            return rec

        # Warm-up: loads torch, jupyter_kf and the interpreter into the page cache for both
        # sides; not counted. The SDK's warm-up is setup_peer's read of its wheels.
        warm = [("warm-up ours 1 worker", run_ours, client, 1, "warm1")]
        if not args.quick:
            warm += [
                ("warm-up ours 4 workers", run_ours, client, 4, "warm4"),
                ("warm-up torchrun 4 workers", run_torchrun, 4, "warm"),
            ]
        warm_rss = []
        for label, fn, *a in warm:
            rec = attempt(label, fn, None, *a)
            if rec and "supervisor_rss_mb" in rec:
                warm_rss.append(rec["supervisor_rss_mb"])

        for i in range(1, max(rounds, sdk_rounds) + 1):
            if i <= rounds:
                attempt(f"round {i} ours 4 workers", run_ours, ours4, client, 4, f"r{i}", round_=i)
                attempt(f"round {i} torchrun 4 workers", run_torchrun, torch4, 4, f"r{i}", round_=i)
            if i <= sdk_rounds:
                attempt(f"round {i} ours 1 worker", run_ours, ours1, client, 1, f"r{i}", round_=i)
                attempt(
                    f"round {i} kubeflow SDK 1 worker",
                    run_sdk,
                    sdk1,
                    torch_req,
                    scratch,
                    f"r{i}",
                    round_=i,
                )

        if rounds < 1:
            failures.append("the 4-worker pair (ours, torchrun) was not run (--rounds 0)")
        if sdk_rounds < 1:
            failures.append("the 1-worker pair (ours, kubeflow SDK) was not run (--sdk-rounds 0)")
        rss = [r["supervisor_rss_mb"] for r in ours4 + ours1] + warm_rss
        result["ours"] = {
            "pytorch_4_workers": summarize(ours4),
            "pytorch_1_worker": summarize(ours1),
            "supervisor_rss_mb": stats(rss, 2),
            "supervisor_cpu_s_per_job": {
                "pytorch_4_workers": stats([r["supervisor_cpu_s"] for r in ours4], 3),
                "pytorch_1_worker": stats([r["supervisor_cpu_s"] for r in ours1], 3),
            },
        }
        result["peer"] = {
            "torchrun": {
                "command": "torchrun --nproc-per-node 4 --master-port <free> "
                "benchmarks/support/ddp_first_step.py",
                "pytorch_4_workers": summarize(torch4),
            },
            "kubeflow_sdk_local": {
                "package": f"kubeflow=={peer_info['version']}",
                "venv": peer_info["venv"],
                "how": (
                    "TrainerClient(backend_config=LocalProcessBackendConfig()).train("
                    "runtime='torch-distributed', trainer=CustomTrainer(func=first_step, "
                    f"packages_to_install=['{torch_req}'], env={{"
                    "'PIP_NO_INDEX': '1', 'PIP_FIND_LINKS': '.venv-sdk/wheels'}))"
                ),
                "why_packages_to_install": (
                    "each SDK job builds a new venv and runs "
                    "<venv>/bin/torchrun, which exists only after a pip "
                    "install of torch"
                ),
                "wheels": "local wheel folder instead of the network: a warm pip cache stand-in",
                "pytorch_1_worker": summarize(sdk1),
            },
        }
        result["ratio"] = {
            "ours_over_torchrun_4_workers": ratio(
                result["ours"]["pytorch_4_workers"], result["peer"]["torchrun"]["pytorch_4_workers"]
            ),
            "ours_over_kubeflow_sdk_1_worker": ratio(
                result["ours"]["pytorch_1_worker"],
                result["peer"]["kubeflow_sdk_local"]["pytorch_1_worker"],
            ),
        }
        # The same ratio round by round (ours and its peer ran back to back): the spread of
        # these says how much of the median ratio is the machine's noise.
        result["ratio_per_round"] = {
            "ours_over_torchrun_4_workers": paired(ours4, torch4),
            "ours_over_kubeflow_sdk_1_worker": paired(ours1, sdk1),
        }
        result["goal"] = {
            "ours_over_torchrun_4_workers": "<= 1.2",
            "ours_over_kubeflow_sdk_1_worker": "<= 0.1",
            "supervisor_rss_mb": "< 40 (peak over every run)",
        }
    except SystemExit as exc:
        failures.append(f"setup: {exc}")
    except subprocess.CalledProcessError as exc:
        failures.append(f"setup: {' '.join(map(str, exc.cmd))} exited with {exc.returncode}")
    finally:
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)

    result["failures"] = failures
    result["rounds"] = {"pytorch_4_workers": rounds, "pytorch_1_worker": sdk_rounds}
    result["versions"] = {"python": sys.version.split()[0], "torch": metadata.version("torch")}
    for f in failures:
        print(f"FAILED {f}", file=sys.stderr, flush=True)
    log(f"{time.time() - started:.1f} s in all")
    return run.finish(result, "the same pairs, one round each, a shorter warm-up")


if __name__ == "__main__":
    sys.exit(main())
