"""The loop of the process that runs one local job (supervisor.py is its entry point).

It starts the job's replicas as real processes with the notebook's own interpreter and the
operator's env contract on loopback ports, applies the restart policy, backoffLimit and
activeDeadlineSeconds, follows spec.json for scale/suspend/resume, collects metric lines,
and writes status.json. It is detached (its own session, parent is init), so the job
outlives the kernel that submitted it. Workers die with it (PR_SET_PDEATHSIG), and SIGTERM
stops the job: every replica's process group is terminated before it exits.

It is single-threaded on purpose: PR_SET_PDEATHSIG fires when the *thread* that forked a
child exits, so the one thread that starts workers must live as long as they do. Each
replica gets a session of its own (so a process group of its own, which the supervisor
kills whole): with the kernel's autogroup scheduling, replicas sharing one session would
share one slice of CPU.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ...jobs import (
    JobSpec,
    LocalAddressing,
    env_for,
    parse_metric_line,
    replica_keys,
    worker_command,
)
from ...jobs.kinds import kind_info
from ...jobs.metrics import REPORT_PREFIX
from . import policy
from .layout import JobDir, append_jsonl, now, read_json, write_json
from .storage import replica_env

TICK = 0.05  # seconds between looks at the children and spec.json
STOP_GRACE = 5.0  # SIGTERM, then SIGKILL after this long
FINISH_GRACE = 10.0  # after success, how long the other replicas may take to exit
RESTART_DELAY = (1.0, 30.0)  # first restart delay, doubling up to the cap (like kubelet's)
TAIL_LINES = 10  # of a failed replica's log, kept as its message
ENV_JOB_DIR = "JUPYTER_KF_JOB_DIR"  # marks every process of a job, for cleanup


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Proc:
    role: str
    index: int
    phase: str = "Pending"
    restarts: int = 0
    popen: subprocess.Popen | None = None
    exit_code: int | None = None
    reason: str = ""
    message: str = ""
    restart_at: float | None = None

    @property
    def key(self) -> str:
        return f"{self.role.lower()}-{self.index}"


@dataclass
class Supervisor:
    dir: JobDir
    spec: JobSpec = field(init=False)
    procs: dict[tuple[str, int], Proc] = field(default_factory=dict)
    conditions: list[dict] = field(default_factory=list)
    start_time: str | None = None
    completion_time: str | None = None
    started_at: float | None = None
    restarts_total: int = 0
    finishing_until: float | None = None
    stop_requested: bool = False
    log_offsets: dict[str, int] = field(default_factory=dict)
    log_partial: dict[str, bytes] = field(default_factory=dict)
    spec_mtime: float = 0.0
    last_status: dict | None = None
    python: str = sys.executable
    addressing: LocalAddressing | None = None

    def __post_init__(self) -> None:
        self.spec = JobSpec.from_dict(read_json(self.dir.spec))
        self.spec_mtime = self.dir.spec.stat().st_mtime
        status = read_json(self.dir.status, {}) or {}
        self.conditions = list(status.get("conditions") or [])

    # -- conditions, as the operator's UpdateJobConditions --------------------------------
    def set_condition(self, type_: str, status: str, reason_suffix: str, message: str) -> None:
        kind = self.spec.kind
        reason = f"{kind}{reason_suffix}"
        current = next((c for c in self.conditions if c["type"] == type_), None)
        if (
            current
            and current["status"] == status
            and current["reason"] == reason
            and current["message"] == message
        ):
            return
        stamp = now()
        kept = []
        for c in self.conditions:
            if c["type"] == type_:
                continue
            if (
                (type_ == "Restarting" and c["type"] == "Running")
                or (type_ == "Running" and c["type"] == "Restarting")
                or (type_ in ("Succeeded", "Failed") and c["type"] == "Running")
            ):
                if c["status"] == "True" and status == "True":
                    c = {
                        **c,
                        "status": "False",
                        "lastTransitionTime": stamp,
                        "lastUpdateTime": stamp,
                    }
            kept.append(c)
        kept.append(
            {
                "type": type_,
                "status": status,
                "reason": reason,
                "message": message,
                "lastTransitionTime": stamp,
                "lastUpdateTime": stamp,
            }
        )
        self.conditions = kept

    def phase(self) -> str:
        phase = "Pending"
        for c in self.conditions:
            if c["status"] == "True":
                phase = c["type"]
        return phase

    def finished(self) -> bool:
        return self.phase() in ("Succeeded", "Failed")

    # -- the world of replicas ------------------------------------------------------------
    def process_keys(self) -> list[tuple[str, int]]:
        """Replicas that are processes here (an MPIJob's workers are ranks inside mpirun)."""
        roles = self.spec.info.process_roles()
        return [k for k in replica_keys(self.spec) if k[0] in roles]

    def start_world(self) -> None:
        self.procs = {key: Proc(*key) for key in replica_keys(self.spec)}
        keys = replica_keys(self.spec)
        self.addressing = LocalAddressing(ports={key: free_port() for key in keys})
        if self.start_time is None:
            self.start_time = now()
            self.started_at = time.monotonic()
        for key in self.process_keys():
            self.launch(self.procs[key])
        kind = self.spec.kind
        self.set_condition("Running", "True", "Running", f"{kind} {self.spec.name} is running.")

    def command_for(self, role: str) -> list[str]:
        code_dir = str(self.dir.code)
        command = worker_command(self.spec, role, python=self.python, code_dir=code_dir)
        if self.spec.info.leader_runs_ranks and command[:1] == ["mpirun"]:
            # Every rank on this machine, whatever its core count.
            command = ["mpirun", "--oversubscribe", *command[1:]]
        return command

    def contract_env(self, proc: Proc) -> dict[str, str]:
        """What the operator injects into this replica's pod (envcontract.py)."""
        assert self.addressing is not None, "start_world chooses the ports before any launch"
        return env_for(self.spec, proc.role, proc.index, self.addressing)

    def backoff_limit(self) -> tuple[int | None, str]:
        """The restarts the job may make, and whose limit it is, for the Failed message."""
        return self.spec.run_policy.backoff_limit, "the specified backoff limit"

    def launch(self, proc: Proc) -> None:
        env = dict(os.environ)
        env.update(self.spec.env)
        env.update(self.contract_env(proc))
        processes = self.process_keys()
        index = processes.index((proc.role, proc.index))
        env.update(replica_env(self.spec, self.dir, index, len(processes)))
        env.update(
            {
                "JUPYTER_KF_JOB": self.spec.name,
                "JUPYTER_KF_REPLICA": proc.key,
                ENV_JOB_DIR: str(self.dir.path),
            }
        )
        # Replicas share this machine's cores: as torchrun does, keep each one's OpenMP
        # pool to its share unless the user chose a size.
        share = max(1, (os.cpu_count() or 1) // max(1, len(self.process_keys())))
        env.setdefault("OMP_NUM_THREADS", str(share))
        if self.spec.info.leader_runs_ranks and os.geteuid() == 0:  # mpirun refuses root
            env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
            env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        self.dir.logs.mkdir(exist_ok=True)
        self.dir.work.mkdir(exist_ok=True)  # the cwd, beside the code, as in a pod (render.py)
        with open(self.dir.log_of(proc.key), "ab") as log:
            # Where this attempt's output starts: attempts.py serves one attempt's log.
            append_jsonl(
                self.dir.attempts_of(proc.key), {"attempt": proc.restarts, "offset": log.tell()}
            )
            try:
                proc.popen = subprocess.Popen(
                    self.command_for(proc.role),
                    cwd=self.dir.work,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    close_fds=True,
                    start_new_session=True,
                    preexec_fn=_die_with_parent,
                )
            except OSError as exc:
                proc.popen = None
                proc.phase, proc.exit_code = "Failed", 127
                proc.reason, proc.message = "StartError", f"could not start: {exc}"
                self.dir.event("Warning", "FailedStart", proc.message, proc.key)
                return
        proc.phase, proc.reason, proc.message, proc.exit_code = "Running", "", "", None
        proc.restart_at = None
        self.dir.event("Normal", "Started", f"started {proc.key} (pid {proc.popen.pid})", proc.key)

    def stop_world(self, reason: str) -> None:
        running = [(p, p.popen) for p in self.procs.values() if p.popen is not None]
        for _p, popen in running:
            _signal_group(popen, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        for p, popen in running:
            try:
                popen.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(popen, signal.SIGKILL)
                popen.wait()
            _signal_group(popen, signal.SIGKILL)  # whatever it left behind in its group
            p.exit_code = policy.exit_code_of(popen.returncode)
            p.popen = None
            p.phase, p.reason = "Stopped", reason
        for p in self.procs.values():
            p.restart_at = None
            if p.phase in ("Pending", "Restarting"):
                p.phase, p.reason = "Stopped", reason
            elif p.phase == "Exited":  # exited in the same moment as the one that ended it
                p.phase = "Succeeded" if p.exit_code == 0 else "Failed"

    # -- reacting -------------------------------------------------------------------------
    def reap(self) -> None:
        # Every replica that exited since the last look is marked first, so that the
        # messages count replicas that failed together (two workers crashing at once are
        # "2 Worker replica(s) failed", as the operator counts them).
        exited = []
        for proc in self.procs.values():
            if proc.popen is None:
                continue
            rc = proc.popen.poll()
            if rc is None:
                continue
            _signal_group(proc.popen, signal.SIGKILL)
            proc.popen = None
            proc.exit_code = policy.exit_code_of(rc)
            proc.phase = "Exited"
            exited.append(proc)
        for proc in exited:
            if proc.popen is None and proc.phase == "Exited":  # not stopped by an earlier one
                self.on_exit(proc, proc.exit_code or 0)

    def failed_count(self, role: str) -> int:
        """Replicas of ``role`` that failed and are not running again yet."""
        return sum(
            1
            for p in self.procs.values()
            if p.role == role
            and (p.phase in ("Failed", "Restarting") or (p.phase == "Exited" and p.exit_code))
        )

    def on_exit(self, proc: Proc, code: int) -> None:
        proc.exit_code = code
        if code == 0:
            proc.phase, proc.reason = "Succeeded", "Completed"
            self.dir.event("Normal", "Completed", f"{proc.key} exited with code 0", proc.key)
            return
        kind, name = self.spec.kind, self.spec.name
        restart_policy = self.spec.restart_policy or kind_info(kind).default_restart_policy
        proc.reason = "OOMKilled" if code == 137 else "Error"
        proc.message = _log_tail(self.dir.log_of(proc.key))
        if self.finishing_until is not None:
            proc.phase = "Failed"  # stopped while the job was finishing: nothing to restart
            return
        failed = self.failed_count(proc.role)
        if policy.should_restart(restart_policy, code):
            limit, whose = self.backoff_limit()
            # The operator counts a restart once the replica runs again; here the restart
            # that would reach the limit is not made (its process would be stopped at once).
            if policy.past_backoff_limit(limit, self.restarts_total + 1):
                proc.phase = "Failed"
                self.fail(
                    "BackoffLimitExceeded",
                    f"{kind} {name} has failed because it has reached {whose} "
                    f"({limit} restarts); {proc.key} exited with code {code}.",
                )
                return
            self.restarts_total += 1
            proc.restarts += 1
            delay = min(RESTART_DELAY[0] * 2 ** (proc.restarts - 1), RESTART_DELAY[1])
            proc.phase, proc.restart_at = "Restarting", time.monotonic() + delay
            self.dir.event(
                "Warning",
                "BackOff",
                f"{proc.key} exited with code {code}; restarting in {delay:g} s "
                f"(restart policy {restart_policy}, restart {self.restarts_total} of "
                f"{'unlimited' if limit is None else limit})",
                proc.key,
            )
            self.set_condition(
                "Restarting",
                "True",
                "Restarting",
                f"{kind} {name} is restarting because {failed} {proc.role} replica(s) "
                f"failed ({proc.key} exited with code {code}).",
            )
            return
        proc.phase = "Failed"
        self.fail(
            "Failed",
            f"{kind} {name} is failed because {failed} {proc.role} replica(s) failed; "
            f"{proc.key} exited with code {code}.",
        )

    def fail(self, event_reason: str, message: str) -> None:
        # The operator's Failed condition always has the reason <Kind>Failed; the event
        # says which limit was hit.
        self.dir.event("Warning", event_reason, message)
        self.set_condition("Failed", "True", "Failed", message)
        self.completion_time = now()
        self.stop_world("JobFailed")

    def restart_due(self) -> None:
        tick = time.monotonic()
        for proc in self.procs.values():
            if proc.restart_at is not None and proc.restart_at <= tick:
                self.launch(proc)
                if proc.phase == "Running" and not any(
                    p.phase == "Restarting" for p in self.procs.values()
                ):
                    kind = self.spec.kind
                    self.set_condition(
                        "Running", "True", "Running", f"{kind} {self.spec.name} is running."
                    )

    def check_success(self) -> None:
        phases = {key: p.phase for key, p in self.procs.items()}
        if policy.outcome(self.spec.kind, self.spec.replicas, phases) != "Succeeded":
            return
        if self.finishing_until is None:
            self.finishing_until = time.monotonic() + FINISH_GRACE
        still = [p for p in self.procs.values() if p.popen is not None]
        if still and time.monotonic() < self.finishing_until:
            return
        if still:
            self.stop_world("JobSucceeded")
        kind = self.spec.kind
        self.completion_time = now()
        self.set_condition(
            "Succeeded", "True", "Succeeded", f"{kind} {self.spec.name} is successfully completed."
        )
        self.dir.event("Normal", "Succeeded", f"{kind} {self.spec.name} is successfully completed.")

    def check_deadline(self) -> None:
        limit = self.spec.run_policy.active_deadline_seconds
        if limit is None or self.started_at is None:
            return
        if time.monotonic() - self.started_at >= limit:
            self.fail(
                "DeadlineExceeded",
                f"{self.spec.kind} {self.spec.name} has failed because "
                f"it was active longer than specified deadline ({limit} s, "
                "activeDeadlineSeconds).",
            )

    def follow_spec(self) -> None:
        try:
            mtime = self.dir.spec.stat().st_mtime
        except FileNotFoundError:
            self.stop_requested = True
            return
        if mtime == self.spec_mtime:
            return
        self.spec_mtime = mtime
        try:
            new = JobSpec.from_dict(read_json(self.dir.spec))
        except Exception as exc:  # a bad spec.json must not kill the job
            self.dir.event("Warning", "InvalidSpec", f"spec.json ignored: {exc}")
            return
        old, self.spec = self.spec, new
        kind, name = new.kind, new.name
        if new.run_policy.suspend and not old.run_policy.suspend:
            self.stop_world("Suspended")
            self.start_time, self.started_at = None, None  # the operator resets startTime
            self.set_condition("Running", "False", "Suspended", f"{kind} {name} is suspended.")
            self.set_condition("Suspended", "True", "Suspended", f"{kind} {name} is suspended.")
            self.dir.event("Normal", "Suspended", f"{kind} {name} is suspended.")
        elif old.run_policy.suspend and not new.run_policy.suspend:
            self.set_condition("Suspended", "False", "Resumed", f"{kind} {name} is resumed.")
            self.dir.event("Normal", "Resumed", f"{kind} {name} is resumed.")
            self.start_world()
        elif dict(new.replicas) != dict(old.replicas) and not new.run_policy.suspend:
            self.dir.event(
                "Normal",
                "Scaled",
                f"restarting every replica at {new.workers} workers (was {old.workers})",
            )
            self.set_condition(
                "Restarting",
                "True",
                "Restarting",
                f"{kind} {name} is restarting at {new.workers} workers.",
            )
            self.stop_world("Scaled")
            self.start_world()

    # -- metrics --------------------------------------------------------------------------
    def collect_metrics(self) -> None:
        for proc in self.procs.values():
            path = self.dir.log_of(proc.key)
            offset = self.log_offsets.get(proc.key, 0)
            try:
                with open(path, "rb") as fh:
                    fh.seek(offset)
                    chunk = fh.read()
            except FileNotFoundError:
                continue
            if not chunk:
                continue
            self.log_offsets[proc.key] = offset + len(chunk)
            data = self.log_partial.pop(proc.key, b"") + chunk
            lines = data.split(b"\n")
            if lines[-1]:
                self.log_partial[proc.key] = lines[-1]
            for raw in lines[:-1]:
                point = parse_metric_line(raw.decode("utf-8", "replace"))
                if point:
                    append_jsonl(self.dir.metrics, {"replica": proc.key, "time": now(), **point})

    # -- status ---------------------------------------------------------------------------
    def status(self) -> dict:
        counts: dict[str, dict[str, int]] = {}
        info = self.spec.info
        leader = info.default_leader
        launcher = self.procs.get((leader, 0)) if info.leader_runs_ranks and leader else None
        replicas = []
        for (role, index), proc in self.procs.items():
            phase = proc.phase
            if role == info.worker_role and launcher is not None:
                phase = launcher.phase  # ranks live inside the launcher's mpirun
            c = counts.setdefault(role, {"active": 0, "succeeded": 0, "failed": 0})
            if phase == "Running":
                c["active"] += 1
            elif phase == "Succeeded":
                c["succeeded"] += 1
            elif phase == "Failed":
                c["failed"] += 1
            replicas.append(
                {
                    "role": role,
                    "index": index,
                    "phase": phase,
                    "restarts": proc.restarts,
                    "pid": proc.popen.pid if proc.popen else None,
                    "exitCode": proc.exit_code,
                    "reason": proc.reason,
                    "message": proc.message,
                }
            )
        return {
            "conditions": self.conditions,
            "replicaStatuses": counts,
            "startTime": self.start_time,
            "completionTime": self.completion_time,
            "replicas": replicas,
            "workers": self.spec.workers,
        }

    def write_status(self) -> None:
        status = self.status()
        if status != self.last_status:
            write_json(self.dir.status, status)
            self.last_status = status

    # -- the loop -------------------------------------------------------------------------
    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_term)
        signal.signal(signal.SIGINT, self._on_term)
        # The backend starts us with SIGTERM blocked, so a delete that comes while we were
        # still starting waits until here and stops the job in order. Unblocked before any
        # worker starts: workers inherit the mask.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
        write_json(
            self.dir.supervisor,
            {"pid": os.getpid(), "pgid": os.getpgid(0), "started": _start_ticks(os.getpid())},
        )
        kind, name = self.spec.kind, self.spec.name
        self.set_condition("Created", "True", "Created", f"{kind} {name} is created.")
        self.procs = {key: Proc(*key) for key in replica_keys(self.spec)}
        if self.spec.run_policy.suspend:
            # Replicas read as after any suspend (Stopped), whether it came before we
            # started (submit does not wait for us) or after.
            self.stop_world("Suspended")
            self.set_condition("Suspended", "True", "Suspended", f"{kind} {name} is suspended.")
        else:
            self.start_world()
        self.write_status()
        while not self.stop_requested:
            self.follow_spec()
            if self.stop_requested:
                break
            self.reap()
            if not self.finished():
                self.restart_due()
                self.check_success()
            if not self.finished():
                self.check_deadline()
            self.collect_metrics()
            self.write_status()
            if self.finished():
                break
            time.sleep(TICK)
        if self.stop_requested:
            self.stop_world("Deleted")
        self.collect_metrics()
        if self.dir.path.exists():
            try:
                self.write_status()
            except FileNotFoundError:
                pass  # the job's folder is being removed
        return 0

    def _on_term(self, signum, frame) -> None:
        self.stop_requested = True


def _log_tail(path: Path, lines: int = TAIL_LINES, size: int = 4096) -> str:
    """The last ``lines`` lines of a replica's log (without report()'s lines): the replica's
    message, as a failed container's termination message is on a cluster."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - size))
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return ""
    kept = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith(REPORT_PREFIX)]
    return "\n".join(kept[-lines:])


def _signal_group(popen: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(popen.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot: with the pid, it names the
    process even after the pid is reused."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[19])
    except (OSError, IndexError, ValueError):
        return None
