"""The event bus tells jobs apart by kind and name: a PyTorchJob and a TrainJob of one name
(the API allows both in a namespace) are two jobs, and deleting one says which (the panel
keys its list by kind/name and would otherwise drop both). Every event fits the schema."""

from __future__ import annotations

import asyncio
import threading

import jsonschema
import yaml

from jupyter_kf.jobs import Change, Job, JobStatus
from jupyter_kf.server.watcher import JOB_EVENT_SCHEMA_FILE, JobWatcher


class Changes:
    """What JobWatcher needs of a Client: a watch that yields these changes, then waits for
    the stop it was handed (as the real watch does)."""

    def __init__(self, changes: list[Change]):
        self.changes = changes

    def watch(self, namespace, stop: threading.Event):
        yield from self.changes
        stop.wait()

    def list(self, namespace):
        return []


def job(kind: str, phase: str = "Running") -> Job:
    return Job(
        name="dup",
        namespace="team",
        kind=kind,
        status=JobStatus(phase=phase),
        backend="kubernetes",
    )


async def test_two_kinds_of_one_name_are_two_jobs():
    changes = [
        Change("ADDED", job("PyTorchJob")),
        Change("ADDED", job("TrainJob")),
        Change("MODIFIED", job("TrainJob", "Succeeded")),
        Change("DELETED", job("PyTorchJob")),
        # As the local backend reports a job whose folder is gone: no kind, a unique name.
        Change("DELETED", job("")),
    ]
    emitted: list[dict] = []
    done = asyncio.Event()

    def emit(data: dict) -> None:
        emitted.append(data)
        if len(emitted) == len(changes):
            done.set()

    watcher = JobWatcher(Changes(changes), "team", emit, loop=asyncio.get_running_loop())
    watcher.start()
    try:
        await asyncio.wait_for(done.wait(), 10)
    finally:
        watcher.stop()
    assert [(e["type"], e["kind"], e["name"], e["phase"]) for e in emitted] == [
        ("ADDED", "PyTorchJob", "dup", "Running"),
        ("ADDED", "TrainJob", "dup", "Running"),
        ("MODIFIED", "TrainJob", "dup", "Succeeded"),
        ("DELETED", "PyTorchJob", "dup", ""),
        ("DELETED", "TrainJob", "dup", ""),
    ]
    assert emitted[1]["job"]["kind"] == "TrainJob" and emitted[3]["job"] is None
    schema = yaml.safe_load(JOB_EVENT_SCHEMA_FILE.read_text())
    for event in emitted:
        jsonschema.validate(event, schema)
    missing = {k: v for k, v in emitted[0].items() if k != "kind"}
    try:
        jsonschema.validate(missing, schema)
    except jsonschema.ValidationError as exc:
        assert "'kind' is a required property" in exc.message
    else:
        raise AssertionError("an event without its kind fits the schema")
