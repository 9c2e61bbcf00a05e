"""The lock that keeps an API server outage test away from every other session on the
cluster (session_lock.py), between real processes: no cluster needed, none touched."""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# One pytest session's side of the lock. "share": hold it shared until told to end.
# "exclusive": an outage test, shared first as a session is (then told to go on).
CHILD = """
import sys
from pathlib import Path
from tests.cluster.session_lock import session_lock

lock = session_lock(Path(sys.argv[1]), say=lambda text: print("WAITING", flush=True))
lock.share()
print("SHARED", flush=True)
if sys.argv[2] == "exclusive":
    sys.stdin.readline()
    with lock.exclusive():
        print("ALONE", flush=True)
        sys.stdin.readline()
    print("SHARED", flush=True)
sys.stdin.readline()
print("DONE", flush=True)
"""


class Session:
    def __init__(self, state: Path, mode: str):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(state), mode],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())

    def expect(self, word: str, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                if self.lines.get(timeout=left) == word:
                    return
            except queue.Empty:
                break
        raise AssertionError(f"no {word} in {timeout} s")

    def still_waiting(self, seconds: float = 1.5) -> None:
        """Says nothing but that it waits for ``seconds``."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                return
            assert line == "WAITING", f"went on ({line}) while it should wait"

    def go_on(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()

    def end(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


@pytest.fixture
def sessions(tmp_path):
    made: list[Session] = []

    def start(mode: str = "share") -> Session:
        made.append(Session(tmp_path, mode))
        return made[-1]

    yield start
    for session in made:
        session.end()


def test_an_outage_waits_for_other_sessions_and_they_wait_for_it(sessions):
    other = sessions()
    other.expect("SHARED")
    outage = sessions("exclusive")
    outage.expect("SHARED")  # sessions share the cluster
    outage.go_on()
    outage.expect("WAITING")
    outage.still_waiting()  # while the other session runs
    other.go_on()
    other.expect("DONE")
    outage.expect("ALONE")
    late = sessions()
    late.expect("WAITING")
    late.still_waiting()  # no session starts during the outage
    outage.go_on()
    outage.expect("SHARED")
    late.expect("SHARED")


def test_sessions_started_while_an_outage_waits_queue_behind_it(sessions):
    """Without the turnstile a stream of new sessions would keep the outage waiting for
    ever: each takes its shared lock before the last one lets go of its own."""
    first = sessions()
    first.expect("SHARED")
    outage = sessions("exclusive")
    outage.expect("SHARED")
    outage.go_on()
    outage.expect("WAITING")
    late = sessions()
    late.expect("WAITING")
    late.still_waiting()
    first.go_on()
    outage.expect("ALONE")  # before the session that came after it
    late.still_waiting()
    outage.go_on()
    late.expect("SHARED")


def test_two_outage_sessions_take_turns(sessions):
    """Each holds the cluster shared when it asks for it alone: neither waits on the other
    for ever."""
    one, two = sessions("exclusive"), sessions("exclusive")
    one.expect("SHARED")
    two.expect("SHARED")
    one.go_on()
    two.go_on()
    ones_turn = (one, two)
    try:
        one.expect("ALONE", timeout=5)
    except AssertionError:
        ones_turn = (two, one)
    first, second = ones_turn
    if first is two:
        two.expect("ALONE")
    second.still_waiting()
    first.go_on()
    first.expect("SHARED")
    second.still_waiting()  # the first session still runs
    first.go_on()
    first.expect("DONE")
    second.expect("ALONE")
    second.go_on()
    second.expect("SHARED")


def test_stopping_the_api_server_needs_the_cluster_alone(tmp_path):
    """A test that stops the API server without taking the lock (no apiserver_down) is
    refused before it touches anything."""
    from tests.cluster.plugin import Cluster

    c = Cluster(tmp_path / "admin.kubeconfig", tmp_path, "https://127.0.0.1:1", None, None, False)
    for component in ("kube-apiserver", "etcd"):
        with pytest.raises(RuntimeError, match="apiserver_outage"):
            c.stop(component)
        with pytest.raises(RuntimeError, match="apiserver_outage"):
            c.pause(component)
    with c.lock.exclusive():
        c.stop("kube-apiserver")  # nothing of this name runs in tmp_path: nothing to stop
