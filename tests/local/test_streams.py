"""The local backend's streams sleep until a job's files change (inotify), instead of
re-reading the job folders on a short tick."""

from __future__ import annotations

import os
import threading
import time

import pytest

from jupyter_kf.backends.local import stream
from jupyter_kf.backends.local.inotify import FileWatch
from jupyter_kf.jobs import RunPolicy
from tests.support.waiting import wait_for

SILENT = "import time\nprint('up', flush=True)\ntime.sleep(120)\n"


def test_file_watch_wakes_on_appends_replacements_and_new_files(tmp_path):
    with FileWatch() as watch:
        assert watch.native  # Linux: the readers really sleep
        assert watch.add(tmp_path)
        assert watch.wait(0.05) is False  # nothing happened
        (tmp_path / "events.jsonl").write_text("{}\n")
        assert watch.wait(10) is True
        with open(tmp_path / "events.jsonl", "a") as fh:
            fh.write("{}\n")
        assert watch.wait(10) is True
        (tmp_path / ".status.tmp").write_text("{}")
        assert watch.wait(10) is True
        os.replace(tmp_path / ".status.tmp", tmp_path / "status.json")  # as write_json does
        assert watch.wait(10) is True
        # Once the writes' last notifications are in, nothing wakes the reader.
        wait_for(lambda: not watch.wait(0.3), timeout=10, what="quiet")


def test_a_removed_folder_is_watched_again_once_it_is_back(tmp_path):
    folder = tmp_path / "job"
    folder.mkdir()
    with FileWatch() as watch:
        assert watch.add(folder)
        folder.rmdir()
        assert watch.wait(10) is True
        assert not watch.watching(folder)
        folder.mkdir()
        assert watch.add(folder)
        (folder / "spec.json").write_text("{}")
        assert watch.wait(10) is True


def test_an_idle_job_costs_its_reader_a_few_reads(client, monkeypatch):
    """While nothing is written, a consumer re-reads only on the slow safety tick."""
    reads = []
    original = stream.Tail.read

    def counted(self, final=False):
        reads.append(self.path.name)
        return original(self, final)

    monkeypatch.setattr(stream.Tail, "read", counted)
    client.submit(name="idle", framework="pytorch", workers=1, cell=SILENT)
    got = []
    stop = threading.Event()
    reader = threading.Thread(target=lambda: got.extend(client.updates("idle", stop=stop)))
    reader.start()
    wait_for(lambda: any(line == "up" for u in got for _r, line in u.logs), what="the line")
    wait_for(lambda: client.get("idle").phase == "Running", what="Running")
    time.sleep(0.5)  # let the start-up writes settle; nothing is written after this
    before = len(reads)
    time.sleep(4 * stream.SAFETY_TICK)
    rounds = (len(reads) - before) / 3  # events, metrics and one log per round
    stop.set()
    reader.join(10)
    assert not reader.is_alive()
    # A 0.1 s tick would have read ~80 rounds; the safety tick allows about 4.
    assert rounds <= 6, rounds


@pytest.mark.parametrize("tail_lines", [None, 1])
def test_following_a_log_wakes_on_new_lines(client, tmp_path, tail_lines):
    gate = tmp_path / "go"
    cell = (
        "import os, time\n"
        "print('first', flush=True)\n"
        f"while not os.path.exists({str(gate)!r}):\n"
        "    time.sleep(0.05)\n"
        "print('second', flush=True)\n"
    )
    client.submit(name="followed", framework="pytorch", workers=1, cell=cell)
    lines = []
    follower = threading.Thread(
        target=lambda: lines.extend(client.logs("followed", follow=True, tail_lines=tail_lines))
    )
    follower.start()
    wait_for(lambda: lines == ["first"], what="the first line")
    gate.touch()
    follower.join(60)
    assert not follower.is_alive()
    assert lines == ["first", "second"]


def test_many_readers_share_one_inotify_instance(tmp_path):
    """More readers than the kernel's default 128 instances per user all sleep natively."""
    watches = [FileWatch() for _ in range(300)]
    try:
        assert all(w.add(tmp_path) for w in watches)
        (tmp_path / "x").write_text("1")
        assert all(w.wait(10) for w in watches)
    finally:
        for w in watches:
            w.close()


def test_a_status_written_while_the_watch_reads_the_job_is_reported(client):
    """The supervisor writes the job's next status just as a watch has read the job: the
    watch reports it next time round. (It once remembered the newer file with the older
    state, so a job that failed at that moment read Running to its watchers until --wait
    gave up.) The watch's read is held open while the real supervisor writes."""
    client.submit(
        name="race", framework="pytorch", workers=1, cell=SILENT, run_policy=RunPolicy(suspend=True)
    )
    wait_for(lambda: client.get("race").phase == "Suspended", 30, what="suspended")
    backend = client.backend
    original = backend._load
    held = threading.Event()

    def load_then_write(d):
        job = original(d)
        if d.name == "race" and not held.is_set():
            held.set()  # once: the write below happens between this read and the next stat
            client.resume("race")
            wait_for(lambda: original(d).phase == "Running", 30, what="the supervisor's write")
        return job

    backend._load = load_then_write
    phases = []
    for change in client.watch(name="race", timeout=20):
        phases.append(change.job.phase)
        if change.job.phase == "Running":
            break
    assert held.is_set()
    assert phases[0] == "Suspended" and phases[-1] == "Running", phases
