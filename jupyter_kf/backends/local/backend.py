"""The local backend: each job a folder and a detached supervisor process (see layout.py).

Any process (the kernel, the server extension, the CLI) reads the same folders, so jobs
survive kernel restarts and show everywhere. Nothing here changes the calling process: no
chdir, no environment edits; workers get the caller's environment plus the contract.
"""

from __future__ import annotations

import builtins
import collections
import dataclasses
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import psutil

from ...errors import BackendUnavailableError, ConflictError, InvalidSpecError, NotFoundError
from ...jobs import Change, Cursor, Event, Job, JobSpec, Replica, Update, parse_status, replica_keys
from ...jobs.runtimes import STOCK_RUNTIMES, Runtime
from ...jobs.status import JobStatus
from ...jobs.trainjob import trainjob_status
from ...jobs.validation import DNS1035
from ...outputs import Outputs, outputs_in
from ..base import Backend
from . import attempts, storage
from .layout import JobDir, ParsedFiles, default_root, now, read_json, read_jsonl, write_json
from .loop import ENV_JOB_DIR, _start_ticks
from .spawn import start_supervisor
from .stream import Tail, Waker, event_of, follow_log, text_line
from .stream import updates as follow_updates
from .trainjob import check_runnable, local_runtimes

NAMESPACE = "local"
STARTUP_GRACE = 30.0  # a job younger than this may not have its supervisor.json yet


class LocalBackend(Backend):
    """Jobs as real processes on this machine. ``root`` holds one folder per job."""

    name = "local"
    default_namespace = NAMESPACE
    acknowledger = "the job's supervisor process"

    def __init__(
        self, root: str | Path | None = None, *, python: str | None = None, max_replicas: int = 64
    ):
        self.root = Path(root).expanduser() if root else default_root()
        self.python = python or sys.executable
        self.max_replicas = max_replicas  # processes one job may start on this machine
        self._parsed = ParsedFiles()  # spec, status and meta files as last read
        self._jobs: dict[Path, tuple[tuple, Job]] = {}  # the Job made of them (immutable)

    # -- helpers --------------------------------------------------------------------------
    def _dir(self, name: str) -> JobDir:
        if not isinstance(name, str) or not DNS1035.match(name):
            raise NotFoundError(f"no local job named {name!r}")
        return JobDir(self.root / name)

    def _existing(self, name: str) -> JobDir:
        d = self._dir(name)
        if not d.spec.exists():
            raise NotFoundError(f"no local job named {name!r} (local jobs live in {self.root})")
        return d

    def _supervisor_alive(self, d: JobDir) -> bool | None:
        """True/False, or None when the supervisor has not written its pid yet."""
        info = read_json(d.supervisor)
        if not info:
            return None
        if info.get("started") is None:
            return psutil.pid_exists(info["pid"])
        # The pid with the same start time: a reused pid is another process.
        return _start_ticks(info["pid"]) == info["started"]

    def _load(self, d: JobDir) -> Job:
        parsed = self._parsed.get(d.spec, _parse_spec)
        if parsed is None:
            raise NotFoundError(f"no local job named {d.name!r}")
        data, spec = parsed
        status_data = self._parsed.get(d.status, default={}) or {}
        meta = self._parsed.get(d.path / "meta.json", default={}) or {}
        sources = (parsed, status_data, meta)
        last = self._jobs.get(d.path)
        if last is not None and all(a is b for a, b in zip(last[0], sources, strict=False)):
            if last[1].status.finished:  # nothing of a finished job changes by itself
                return last[1]
        status = _status(spec, status_data, meta)
        if not status.finished and not _stopped_for_delete(status_data) and self._lost(d, meta):
            status_data = self._mark_lost(d, status_data)
            status = _status(spec, status_data, meta)
        replicas = _replicas(status_data)
        extra = {}
        if spec is not None and spec.info.is_trainjob:
            # Its retries are its runtime's (explain.py names that limit).
            runtime = STOCK_RUNTIMES.get(spec.runtime or "")
            if runtime is not None:
                extra = {"backoff_limit": runtime.backoff_limit, "runtime": runtime.name}
        if not replicas and spec is not None:
            replicas = tuple(Replica(role, i, "Pending") for role, i in replica_keys(spec))
        job = Job(
            name=d.name,
            namespace=NAMESPACE,
            kind=spec.kind if spec else data.get("kind", "?"),
            status=status,
            spec=spec,
            replicas=replicas,
            created=meta.get("created"),
            backend=self.name,
            workers=status_data.get("workers", spec.workers if spec else None),
            extra=extra,
        )
        if len(self._jobs) >= self._parsed.limit:
            self._jobs.clear()
        self._jobs[d.path] = (sources, job)
        return job

    def _lost(self, d: JobDir, meta: dict) -> bool:
        alive = self._supervisor_alive(d)
        if alive is None:
            return time.time() - meta.get("createdEpoch", time.time()) > STARTUP_GRACE
        return not alive

    def _mark_lost(self, d: JobDir, status: dict) -> dict:
        """The supervisor died (kill -9, a reboot): stop what is left and say so, once."""
        _kill_leftovers(d)
        info = read_json(d.supervisor, {}) or {}
        message = (
            f"the job's supervisor process (pid {info.get('pid', '?')}) stopped "
            "unexpectedly; its replicas were stopped. Logs are kept."
        )
        stamp = now()
        conditions = [
            {**c, "status": "False", "lastTransitionTime": stamp}
            if c.get("type") in ("Running", "Restarting") and c.get("status") == "True"
            else c
            for c in status.get("conditions") or []
            if c.get("type") != "Failed"
        ]
        conditions.append(
            {
                "type": "Failed",
                "status": "True",
                "reason": "SupervisorLost",
                "message": message,
                "lastTransitionTime": stamp,
                "lastUpdateTime": stamp,
            }
        )
        replicas = [
            {**r, "phase": "Failed", "reason": "SupervisorLost", "pid": None}
            if r.get("phase") in ("Running", "Pending", "Restarting")
            else r
            for r in status.get("replicas") or []
        ]
        new = {**status, "conditions": conditions, "replicas": replicas, "completionTime": stamp}
        write_json(d.status, new)
        d.event("Warning", "SupervisorLost", message)
        return new

    def _wait_for(self, job: Job, done: Callable[[Job], bool], timeout: float) -> Job | None:
        d = self._existing(job.name)
        waker = Waker([d.path], None, time.monotonic() + timeout)
        try:
            current = self.get(job.name)
            while not done(current):
                if not waker.sleep():
                    return None
                current = self.get(job.name)
            return current
        finally:
            waker.close()

    def _rewrite_spec(self, d: JobDir, spec: JobSpec) -> None:
        write_json(d.spec, spec.to_dict())

    # -- the contract ---------------------------------------------------------------------
    def _check_size(self, spec: JobSpec) -> None:
        if spec.total_replicas > self.max_replicas:
            raise InvalidSpecError(
                f"{spec.total_replicas} replicas is more than the local backend runs at once "
                f"({self.max_replicas} processes on this machine); use fewer workers or a cluster"
            )

    def submit(self, spec: JobSpec, namespace: str | None = None) -> Job:
        self._check_size(spec)
        roles = spec.info.process_roles()
        spec = storage.prepare(spec, len([k for k in replica_keys(spec) if k[0] in roles]))
        if spec.info.is_trainjob:
            check_runnable(spec, self.python)
        if spec.info.leader_runs_ranks and shutil.which("mpirun") is None:
            raise BackendUnavailableError(
                "MPI jobs run locally through mpirun, which is not installed here: install "
                "Open MPI (e.g. `apt-get install openmpi-bin`) or run the job on a cluster"
            )
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        d = self._dir(spec.name)
        try:
            d.path.mkdir(mode=0o700)
        except FileExistsError:
            phase = "unknown state"
            try:
                phase = self._load(d).phase
            except NotFoundError:
                pass
            raise ConflictError(
                f"a local job named {spec.name!r} already exists ({phase}); "
                "choose another name or delete it first"
            ) from None
        try:
            d.code.mkdir()
            d.logs.mkdir()
            if spec.code is not None:
                for rel, text in spec.code.all_files().items():
                    target = d.code / rel
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(text)
            write_json(
                d.path / "meta.json",
                {"created": now(), "createdEpoch": time.time(), "python": self.python},
            )
            # No status.json yet: the supervisor writes the first; until then readers
            # find none and show Pending, as for a CR with no status.
            self._rewrite_spec(d, spec)
            start_supervisor(d, self.python)
        except BaseException:
            shutil.rmtree(d.path, ignore_errors=True)
            raise
        return self.get(spec.name)

    def get(self, name: str, namespace: str | None = None) -> Job:
        return self._load(self._existing(name))

    def list(self, namespace: str | None = None) -> list[Job]:
        jobs: list[Job] = []
        if not self.root.is_dir():
            return jobs
        for path in sorted(self.root.iterdir()):
            try:
                jobs.append(self._load(JobDir(path)))
            except NotFoundError:
                continue  # not a job folder, or deleted while listing
        return jobs

    def watch(
        self,
        namespace: str | None = None,
        *,
        name: str | None = None,
        timeout: float | None = None,
        stop: threading.Event | None = None,
    ) -> Iterator[Change]:
        deadline = float("inf") if timeout is None else time.monotonic() + timeout
        seen: dict[str, tuple | None] = {}
        running: set[str] = set()  # unfinished jobs, whose supervisors are re-checked
        # The root announces new and removed jobs; each job's folder its status.json.
        folders = [self.root, self.root / name] if name else [self.root]
        waker = Waker(folders, stop, deadline)
        try:
            last_check = 0.0
            while True:
                # A supervisor's death announces itself in no file: checked at most each second.
                check_alive = time.monotonic() - last_check >= 1.0
                if check_alive:
                    last_check = time.monotonic()
                names = (
                    [name]
                    if name
                    else (sorted(p.name for p in self.root.iterdir()) if self.root.is_dir() else [])
                )
                current = set()
                for n in names:
                    d = JobDir(self.root / n)
                    stamp = _stamp(d)
                    if stamp is None:
                        continue
                    current.add(n)
                    if d.path not in waker.folders:
                        waker.folders.append(d.path)
                    if seen.get(n) == stamp and not (
                        check_alive
                        and n in running
                        and self._lost(d, read_json(d.path / "meta.json", {}) or {})
                    ):
                        continue  # unchanged, and (if unfinished) its supervisor still lives
                    try:
                        job = self._load(d)
                    except NotFoundError:
                        continue
                    # The stamp stays the one taken before the load: a write in between is
                    # then seen as a change next time round. Taken again here, it would be
                    # remembered with the older state, and that write never reported (a job
                    # failing at that moment read Running to its watchers forever).
                    if job.status.finished:
                        running.discard(n)
                    else:
                        running.add(n)
                    if n not in seen:
                        seen[n] = stamp
                        yield Change("ADDED", job)
                    elif seen[n] != stamp:
                        seen[n] = stamp
                        yield Change("MODIFIED", job)
                for gone in set(seen) - current:
                    del seen[gone]
                    running.discard(gone)
                    waker.folders = [f for f in waker.folders if f.name != gone or f == self.root]
                    yield Change(
                        "DELETED",
                        Job(
                            name=gone,
                            namespace=NAMESPACE,
                            kind="",
                            status=parse_status(None),
                            backend=self.name,
                        ),
                    )
                if not waker.sleep():
                    return
        finally:
            waker.close()

    def updates(
        self,
        name: str,
        namespace: str | None = None,
        *,
        since: Cursor | None = None,
        replicas: Sequence[str] | None = None,
        timeout: float | None = None,
        stop: threading.Event | None = None,
    ) -> Iterator[Update]:
        return follow_updates(self._load, self._existing(name), since, replicas, timeout, stop)

    def logs(
        self,
        name: str,
        namespace: str | None = None,
        *,
        replica: str | None = None,
        follow: bool = False,
        tail_lines: int | None = None,
        attempt: int | None = None,
    ) -> Iterator[str]:
        d = self._existing(name)
        job = self._load(d)
        replica = replica or job.rank0
        names = [r.name for r in job.replicas]
        if replica not in names:
            raise NotFoundError(
                f"job {name} has no replica {replica!r}; its replicas are {', '.join(names)}"
            )
        if attempt is None:
            return _read_log(self._load, d, replica, follow, tail_lines)
        seg = attempts.find(d, name, replica, attempt)
        return _read_attempt(self._load, d, replica, seg, follow, tail_lines)

    def events(self, name: str, namespace: str | None = None) -> builtins.list[Event]:
        d = self._existing(name)
        return [event_of(e) for e in read_jsonl(d.events)]

    def metrics(self, name: str, namespace: str | None = None) -> builtins.list[dict]:
        return read_jsonl(self._existing(name).metrics)

    def _request_scale(self, job: Job, workers: int) -> str:
        if job.spec is None:
            raise ConflictError(f"job {job.name} has an unreadable spec.json and cannot be scaled")
        new = job.spec.with_workers(workers)  # validates: elastic bounds, roles, ...
        self._check_size(new)
        if new.info.is_trainjob:
            return self._replace(job, new)
        self._rewrite_spec(self._existing(job.name), new)
        return ""

    def _replace(self, job: Job, new: JobSpec) -> str:
        """A TrainJob's numNodes cannot change (not even while suspended), so on a cluster a
        new node count is a new TrainJob; here too: the job is stopped and submitted again
        with the same code and settings, and its training starts from the beginning."""
        check_runnable(new, self.python)
        old = job.workers
        self.delete(job.name)
        self.submit(new)
        notice = (
            f"a TrainJob's node count cannot change while it exists: {job.name} was replaced "
            f"by the same job on {new.workers} nodes (was {old}), and its training restarted "
            "from the beginning (logs, metrics and work dir of the previous run are gone)"
        )
        self._existing(job.name).event("Normal", "Replaced", notice)
        return notice

    def outputs(self, name: str, namespace: str | None = None) -> Outputs:
        d = self._existing(name)
        folder = storage.outputs_dir(d)
        return outputs_in(name, str(folder), folder)

    def runtimes(self, namespace: str | None = None) -> builtins.list[Runtime]:
        """The stock Trainer runtimes whose TrainJobs run on this machine."""
        return local_runtimes()

    def _request_suspend(self, job: Job, suspend: bool) -> bool:
        if job.spec is None or job.spec.run_policy.suspend == suspend:
            return False
        policy = dataclasses.replace(job.spec.run_policy, suspend=suspend)
        self._rewrite_spec(
            self._existing(job.name), dataclasses.replace(job.spec, run_policy=policy)
        )
        return True

    def delete(self, name: str, namespace: str | None = None) -> None:
        d = self._existing(name)
        info = read_json(d.supervisor, {}) or {}
        if info and self._supervisor_alive(d):
            try:
                os.kill(info["pid"], signal.SIGTERM)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + 20
            while self._supervisor_alive(d) and time.monotonic() < deadline:
                time.sleep(0.02)
            if self._supervisor_alive(d):
                try:
                    os.kill(info["pid"], signal.SIGKILL)
                except ProcessLookupError:
                    pass
        _kill_leftovers(d)
        shutil.rmtree(d.path, ignore_errors=True)


def _stopped_for_delete(status: dict) -> bool:
    """The supervisor stopped the job because it is being deleted: its exit is expected and
    the folder is about to go, so a reader between the two must not call it lost."""
    return any(r.get("reason") == "Deleted" for r in status.get("replicas") or ())


def _replicas(status: dict) -> tuple[Replica, ...]:
    return tuple(
        Replica(
            role=r["role"],
            index=r["index"],
            phase=r["phase"],
            restarts=r.get("restarts", 0),
            node="localhost" if r.get("pid") else None,
            reason=r.get("reason", ""),
            message=r.get("message", ""),
            exit_code=r.get("exitCode"),
        )
        for r in status.get("replicas") or ()
    )


def _status(spec: JobSpec | None, status: dict, meta: dict) -> JobStatus:
    """A v1 job's status as the operator writes it; a TrainJob's phase derived from its
    conditions and nodes as on a cluster (jobs/trainjob.py)."""
    if spec is None or not spec.info.is_trainjob:
        return parse_status(status)
    replicas = _replicas(status)
    return trainjob_status(status, replicas, pods_seen=bool(replicas), created=meta.get("created"))


def _stamp(d: JobDir) -> tuple | None:
    try:
        spec = d.spec.stat()
    except FileNotFoundError:
        return None
    try:
        status = d.status.stat()
        # write_json replaces the file whole: a new inode tells two writes apart even in
        # one tick of the file system's clock with the same size.
        return (spec.st_mtime_ns, status.st_ino, status.st_mtime_ns, status.st_size)
    except FileNotFoundError:
        return (spec.st_mtime_ns, None, None, None)


def _read_log(
    load: Callable[[JobDir], Job], d: JobDir, replica: str, follow: bool, tail_lines: int | None
) -> Iterator[str]:
    path = d.log_of(replica)
    if not follow:
        yield from _read_lines(path, tail_lines)
        return
    tail = Tail(path, text_line)
    if tail_lines is not None:
        lines, tail.offset = _last_lines(path, tail_lines)
        yield from lines
    yield from follow_log(load, d, replica, tail)


def _read_attempt(
    load: Callable[[JobDir], Job],
    d: JobDir,
    replica: str,
    seg: attempts.Segment,
    follow: bool,
    tail_lines: int | None,
) -> Iterator[str]:
    """One attempt's lines. Following an attempt that is still the latest goes on with what
    the replica writes next; an earlier one is complete."""
    lines, end = attempts.read(d, replica, seg, tail_lines)
    yield from (text_line(raw) for raw in lines)
    if follow and seg.end is None:
        tail = Tail(d.log_of(replica), text_line)
        tail.offset = end
        yield from follow_log(load, d, replica, tail)


def _read_lines(path: Path, tail_lines: int | None) -> Iterator[str]:
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        return
    with fh:
        lines = fh if tail_lines is None else collections.deque(fh, maxlen=max(tail_lines, 0))
        for raw in lines:
            yield text_line(raw.removesuffix(b"\n"))


def _last_lines(path: Path, n: int) -> tuple[list[str], int]:
    """The last ``n`` complete lines, and the offset just after them to follow from."""
    kept: collections.deque[bytes] = collections.deque(maxlen=max(n, 0))
    end = 0
    try:
        with open(path, "rb") as fh:
            for raw in fh:
                if not raw.endswith(b"\n"):
                    break  # still being written: the follower reads it whole
                end += len(raw)
                kept.append(raw[:-1])
    except FileNotFoundError:
        pass
    return [text_line(raw) for raw in kept], end


def _kill_leftovers(d: JobDir) -> None:
    """Kill every process of this job still alive, found by the marker in its environment."""
    marker = str(d.path)
    victims = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if proc.pid == os.getpid():
                continue
            if proc.environ().get(ENV_JOB_DIR) == marker:
                victims.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    for proc in victims:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(victims, timeout=5)


def _parse_spec(data: dict) -> tuple[dict, JobSpec | None]:
    """A job folder's spec.json: the raw dict and the spec (None if it no longer validates)."""
    try:
        return data, JobSpec.from_dict(data)
    except InvalidSpecError:
        return data, None
