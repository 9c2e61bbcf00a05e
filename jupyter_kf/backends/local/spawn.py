"""Starting a job's supervisor without waiting for it, and reaping it if it ends first.

``start_supervisor`` returns as soon as the supervisor is exec'd: its first status comes a
Python start-up later, and until then the job reads as Pending, as a just-created CR does
on a cluster. It writes supervisor.json itself (the supervisor writes the same again), so
any reader can tell a supervisor that died while starting from one still starting.

The supervisor runs in a session of its own, out of the kernel's process group and
terminal, so it outlives whoever started it. While that process lives, the supervisor is
its child: an unreaped child stays a zombie that still looks alive by pid and start time,
so one thread per process waits on every supervisor it started, through pidfds (started
once; a thread per job would cost a thread start on every submit).
"""

from __future__ import annotations

import os
import queue
import selectors
import signal
import subprocess
import threading

from ...errors import BackendUnavailableError
from .layout import JobDir, write_json
from .loop import ENV_JOB_DIR, _start_ticks


def start_supervisor(d: JobDir, python: str) -> None:
    """Start ``python -m jupyter_kf.backends.local.supervisor DIR`` and record its pid."""
    log = os.open(d.supervisor_log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    # The child inherits this thread's signal mask: a SIGTERM (delete) sent before the
    # supervisor has its handler stays pending until it has (loop.py's run), instead of
    # killing it half-started with the job unfinished.
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    try:
        proc = subprocess.Popen(
            [python, "-m", "jupyter_kf.backends.local.supervisor", str(d.path)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            cwd=d.path,
            env={**os.environ, ENV_JOB_DIR: str(d.path)},
            start_new_session=True,
        )
    except OSError as exc:
        raise BackendUnavailableError(
            f"could not start the job's supervisor with {python}: {exc}"
        ) from exc
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        os.close(log)
    write_json(d.supervisor, {"pid": proc.pid, "pgid": proc.pid, "started": _start_ticks(proc.pid)})
    _REAPER.add(proc)


class _Reaper:
    """One daemon thread that reaps the supervisors this process started as they end."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._new: queue.SimpleQueue[subprocess.Popen] = queue.SimpleQueue()
        self._wake: tuple[int, int] | None = None

    def add(self, proc: subprocess.Popen) -> None:
        with self._lock:
            if self._wake is None:
                self._wake = os.pipe()
                threading.Thread(target=self._run, name="jupyter-kf-reaper", daemon=True).start()
        self._new.put(proc)
        os.write(self._wake[1], b"x")

    def _run(self) -> None:
        assert self._wake is not None
        selector = selectors.DefaultSelector()
        selector.register(self._wake[0], selectors.EVENT_READ, None)
        while True:
            for key, _ in selector.select():
                if key.data is None:
                    os.read(self._wake[0], 4096)
                    while not self._new.empty():
                        proc = self._new.get()
                        try:
                            fd = os.pidfd_open(proc.pid)
                        except ProcessLookupError:
                            proc.wait()  # already gone: reap it now
                            continue
                        selector.register(fd, selectors.EVENT_READ, proc)
                    continue
                selector.unregister(key.fd)
                os.close(key.fd)
                key.data.wait()


_REAPER = _Reaper()
