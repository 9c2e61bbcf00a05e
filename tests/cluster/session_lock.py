"""One control plane, many pytest sessions: a test that stops the API server must not run
while another session uses the cluster, nor they while it runs.

Every session that uses a cluster holds a shared ``flock`` on ``<state dir>/sessions.lock``
for as long as it runs; a test that stops the API server (``cluster.apiserver_down``, the
``apiserver_outage`` marker) holds it exclusively for its own duration. ``flock`` alone
would let a stream of new sessions starve the outage for ever, so there is a turnstile,
``<state dir>/sessions.gate``: a session passes it (an exclusive lock held for a moment)
before it takes its shared lock, and an outage holds it while it waits, so sessions that
start meanwhile queue behind the outage instead of in front of it.

The locks live in the cluster's state dir, which ``up.sh`` wipes only when it starts a new
cluster, i.e. when no session can be using one. A process that dies drops its locks (the
kernel releases them with the file), so nothing is ever left locked.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

# How long a session waits for the lock before it fails with the pids that hold it: an
# outage waits for every other session to end, which may be a full suite run.
WAIT_SECONDS = float(os.environ.get("JKF_CLUSTER_LOCK_TIMEOUT", "2700"))
POLL = 0.2


def holders(path: Path) -> list[int]:
    """Pids holding a ``flock`` on ``path`` (from /proc/locks; empty if it cannot tell)."""
    try:
        inode = path.stat().st_ino
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return []
    pids = []
    for line in lines:
        fields = line.split()
        if "FLOCK" in fields and len(fields) >= 6 and fields[5].endswith(f":{inode}"):
            pids.append(int(fields[4]))
    return sorted(set(pids))


class SessionLock:
    """This process's hold on one cluster (see the module doc)."""

    def __init__(self, state_dir: Path, say: Callable[[str], None] | None = None):
        self.path = state_dir / "sessions.lock"
        self.gate_path = state_dir / "sessions.gate"
        self.say = say or (lambda text: None)
        self._fd: int | None = None
        self._depth = 0  # nested exclusive() blocks

    @property
    def shared(self) -> bool:
        return self._fd is not None and self._depth == 0

    @property
    def exclusive_held(self) -> bool:
        return self._depth > 0

    def _open(self, path: Path) -> int:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)

    def _take(self, fd: int, path: Path, mode: int, what: str) -> None:
        """``flock(fd, mode)``, polling, saying once what it waits for, failing with the
        holders' pids after ``WAIT_SECONDS``."""
        deadline = time.monotonic() + WAIT_SECONDS
        said = False
        while True:
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                pass
            others = [pid for pid in holders(path) if pid != os.getpid()]
            if not said:
                self.say(f"tests/cluster: {what}; waiting for pids {others} ({path})")
                said = True
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{what}: still held after {WAIT_SECONDS:.0f} s by pids {others} ({path}); "
                    "JKF_CLUSTER_LOCK_TIMEOUT sets the wait"
                )
            time.sleep(POLL)

    def share(self) -> None:
        """Hold the cluster shared for the rest of this process (idempotent)."""
        if self._fd is not None:
            return
        gate = self._open(self.gate_path)
        try:
            self._take(gate, self.gate_path, fcntl.LOCK_EX, "an API server outage test is queued")
            fd = self._open(self.path)
            self._take(fd, self.path, fcntl.LOCK_SH, "an API server outage test is running")
        finally:
            os.close(gate)  # through the turnstile
        self._fd = fd

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """The cluster to this process alone for the block; shared again after it."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        if self._fd is None:
            self._fd = self._open(self.path)
        # Let go of our own shared hold first: two sessions each holding theirs while
        # waiting for the other's to go would wait for ever.
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        gate = self._open(self.gate_path)
        try:
            try:
                self._take(gate, self.gate_path, fcntl.LOCK_EX, "another outage test is queued")
                self._take(
                    self._fd, self.path, fcntl.LOCK_EX, "other test sessions are using the cluster"
                )
            except BaseException:
                fcntl.flock(self._fd, fcntl.LOCK_SH)  # the rest of the session still holds it
                raise
            self._depth = 1
            try:
                yield
            finally:
                self._depth = 0
                # Back to shared while still holding the gate: nobody can slip in between.
                fcntl.flock(self._fd, fcntl.LOCK_SH)
        finally:
            os.close(gate)


_locks: dict[Path, SessionLock] = {}


def session_lock(state_dir: Path, say: Callable[[str], None] | None = None) -> SessionLock:
    """This process's one ``SessionLock`` of the cluster in ``state_dir``."""
    key = state_dir.resolve()
    lock = _locks.get(key)
    if lock is None:
        lock = _locks[key] = SessionLock(key, say)
    elif say is not None:
        lock.say = say
    return lock
