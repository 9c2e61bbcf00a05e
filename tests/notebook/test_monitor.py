"""``JobMonitor``'s models in-process, against real local jobs (no front end, no mocks)."""

from __future__ import annotations

import pytest

from jupyter_kf.errors import InvalidSpecError, NotFoundError
from jupyter_kf.widgets import JobMonitor
from tests.support.waiting import wait_for


@pytest.fixture
def monitors():
    made = []
    yield made
    for m in made:
        m.close()
        m.updater.join(10)


def start(client, monitors, worker_script, stop_file, name, workers=1) -> JobMonitor:
    client.submit(
        name=name,
        framework="pytorch",
        workers=workers,
        script=worker_script,
        env={"STOP_FILE": str(stop_file)},
    )
    monitor = JobMonitor(name, client)
    monitors.append(monitor)
    return monitor


def test_status_replicas_metrics_and_log_follow_the_job(client, monitors, worker_script, stop_file):
    m = start(client, monitors, worker_script, stop_file, "watched", workers=2)
    wait_for(lambda: m.phase == "Running", what="Running")
    wait_for(
        lambda: (
            [(r["role"], r["index"], r["phase"]) for r in m.replica_rows]
            == [("Master", 0, "Running"), ("Worker", 0, "Running")]
        ),
        what="replica rows",
    )
    assert all(
        set(r) == {"role", "index", "phase", "restarts", "node", "reason"} for r in m.replica_rows
    )
    assert "Running" in m.header.value and "live" in m.header.value
    assert "Created" in m.timeline.value and "Running" in m.timeline.value
    assert "<td" in m.replica_table.value and "Worker" in m.replica_table.value

    # Metric points plotted from rank 0 (loss against step), log lines of rank 0.
    wait_for(lambda: m.plot.points >= 3, what="metric points")
    assert m.plot.replica == "master-0"
    (attempt,) = m.plot.series["loss"]
    assert attempt[:3] == [(0, 1.0), (1, 0.5), (2, 0.3333)]
    assert 'data-metric="loss"' in m.plot.view.value
    assert m.plot.view.layout.display is None  # the plot shows once there are points
    assert m.replica_select.options == ("master-0", "worker-0")
    assert m.replica_select.value == "master-0"
    wait_for(lambda: "hello from rank 0" in m.log_view.lines, what="rank 0's log")
    assert not any(line.startswith("@@jupyter-kf-metric") for line in m.log_view.lines)
    assert "Started" in m.events_table.value

    # The job ends: the monitor shows it and its updater stops by itself.
    stop_file.touch()
    m.updater.join(30)
    assert not m.updater.is_alive()
    assert m.phase == "Succeeded"
    assert "Succeeded" in m.header.value and "not updating" in m.header.value
    assert "rank 0 done" in m.log_view.lines
    assert m.scale_button.disabled and m.suspend_button.disabled
    assert not m.delete_button.disabled


def test_log_replica_selector_sends_deltas(client, monitors, worker_script, stop_file):
    m = start(client, monitors, worker_script, stop_file, "logs", workers=2)
    sent = []
    m.log_view.send = sent.append  # record what would go to the browser
    wait_for(lambda: any(line.startswith("step=") for line in m.log_view.lines))
    m.replica_select.value = "worker-0"
    wait_for(lambda: "hello from rank 1" in m.log_view.lines, what="worker-0's log")
    assert m.log_view.replica == "worker-0"
    assert "hello from rank 0" not in m.log_view.lines
    wait_for(lambda: len([s for s in sent if s["type"] == "append"]) >= 2, what="deltas")
    reset_at = max(i for i, s in enumerate(sent) if s["type"] == "reset")
    deltas = [s for s in sent[reset_at + 1 :] if s["type"] == "append"]
    assert deltas, sent
    # Deltas carry only new lines: none repeats what the reset or an earlier delta sent.
    shipped = sent[reset_at]["lines"] + [line for d in deltas for line in d["lines"]]
    assert len(shipped) == len(set(shipped))
    # A view that renders later asks for a snapshot and gets the whole tail.
    m.log_view._handle_custom_msg({"type": "snapshot"}, [])
    assert sent[-1] == {"type": "reset", "lines": m.log_view.lines}


def test_controls_scale_suspend_resume_delete(client, monitors, worker_script, stop_file):
    m = start(client, monitors, worker_script, stop_file, "ctl")
    wait_for(lambda: m.phase == "Running", what="Running")

    m.workers_input.value = 2
    m.scale_button.click()
    wait_for(lambda: client.get("ctl").workers == 2, what="scaled job")
    wait_for(lambda: len(m.replica_rows) == 2 and m.workers == 2, what="2 replica rows")
    wait_for(lambda: "scaled to 2 workers" in m.message.value, what="message")

    m.suspend_button.click()
    wait_for(lambda: client.get("ctl").phase == "Suspended", what="suspended job")
    wait_for(lambda: m.suspend_button.description == "Resume", what="Resume button")
    m.suspend_button.click()
    wait_for(lambda: client.get("ctl").phase == "Running", what="resumed job")
    wait_for(lambda: m.suspend_button.description == "Suspend", what="Suspend button")

    # Delete asks first; Cancel keeps the job.
    m.delete_button.click()
    assert m.confirm_box.layout.display is None and "ctl" in m.confirm_text.value
    m.cancel_button.click()
    assert m.confirm_box.layout.display == "none"
    assert client.get("ctl").phase == "Running"
    m.delete_button.click()
    m.confirm_button.click()
    wait_for(lambda: m.phase == "Deleted", what="Deleted")
    with pytest.raises(NotFoundError):
        client.get("ctl")
    m.updater.join(10)
    assert not m.updater.is_alive()
    assert m.delete_button.disabled and "deleted" in m.header.value


def test_failed_action_shows_the_message(client, monitors, worker_script, stop_file):
    m = start(client, monitors, worker_script, stop_file, "bad")
    future = m.scale(0)
    with pytest.raises(InvalidSpecError):
        future.result(30)
    assert "workers must be a whole number &gt;= 1, not 0" in m.message.value
    assert client.get("bad").workers == 1


def test_closing_stops_the_updater_and_leaves_the_job(client, monitors, worker_script, stop_file):
    m = start(client, monitors, worker_script, stop_file, "closed")
    wait_for(lambda: m.phase == "Running", what="Running")
    assert m.updater.is_alive() and m.live
    m.close()
    m.updater.join(5)
    assert not m.updater.is_alive()
    assert client.get("closed").phase == "Running"  # closing the view does not stop the job


def test_monitor_of_a_job_deleted_elsewhere(client, monitors, worker_script, stop_file):
    m = start(client, monitors, worker_script, stop_file, "elsewhere")
    wait_for(lambda: m.phase == "Running", what="Running")
    client.delete("elsewhere")
    wait_for(lambda: m.phase == "Deleted", what="Deleted")
    m.updater.join(5)
    assert not m.updater.is_alive()


def test_text_fallback_in_the_bundle(client, monitors, worker_script, stop_file):
    m = start(client, monitors, worker_script, stop_file, "bundle")
    data = m._repr_mimebundle_()
    assert data["text/plain"].startswith("PyTorchJob bundle (local/local):")
    assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == m.model_id


def test_the_monitor_follows_one_stream_and_never_rereads(
    client, monitors, worker_script, stop_file, monkeypatch
):
    """Everything comes from ``client.updates``: no snapshot reads of logs, events or metrics."""
    snapshots = []
    for method in ("logs", "events", "metrics", "watch"):
        original = getattr(client, method)

        def counted(*args, _original=original, _method=method, **kwargs):
            snapshots.append(_method)
            return _original(*args, **kwargs)

        monkeypatch.setattr(client, method, counted)
    m = start(client, monitors, worker_script, stop_file, "streamed", workers=2)
    wait_for(lambda: m.plot.points >= 5, what="metric points")
    wait_for(lambda: "Started" in m.events_table.value, what="events")
    stop_file.touch()
    m.updater.join(30)
    assert not m.updater.is_alive() and m.phase == "Succeeded"
    assert snapshots == []
    # After the end, choosing another replica follows that one's log to its end too.
    m.replica_select.value = "worker-0"
    wait_for(lambda: "rank 1 done" in m.log_view.lines, what="worker-0's log")
    assert "hello from rank 1" in m.log_view.lines and "rank 0 done" not in m.log_view.lines
    m.updater.join(30)
    assert not m.updater.is_alive()
    assert snapshots == []


def test_a_trainjob_shows_nodes_runtime_and_asks_before_scaling(client, monitors, stop_file):
    """A TrainJob's monitor names its runtime and nodes; Scale says the job will be replaced
    and waits for "Yes, replace"; the replacement's notice shows after."""
    client.submit(
        name="tjmon",
        runtime="torch-distributed",
        workers=2,
        cell=(
            "import os, time\n"
            "while not os.path.exists(os.environ['STOP_FILE']):\n"
            "    time.sleep(0.1)\n"
        ),
        env={"STOP_FILE": str(stop_file)},
    )
    m = JobMonitor("tjmon", client)
    monitors.append(m)
    wait_for(lambda: m.phase == "Running", what="Running")
    assert "runtime torch-distributed" in m.header.value and "2 nodes" in m.header.value
    assert m.replica_select.options == ("node-0", "node-1")

    m.workers_input.value = 3
    m.scale_button.click()
    assert m.confirm_box.layout.display is None
    assert "it will be replaced and training restarts" in m.confirm_text.value
    assert m.confirm_button.description == "Yes, replace"
    m.cancel_button.click()
    assert client.get("tjmon").workers == 2  # Cancel: nothing happened
    m.scale_button.click()
    m.confirm_button.click()
    wait_for(lambda: client.get("tjmon").workers == 3, what="replaced job")
    wait_for(lambda: "was replaced by the same job on 3 nodes" in m.message.value, what="notice")
    stop_file.touch()


def test_the_trainers_progress_shows_in_the_header():
    """``extra["progress"]`` (a TrainJob's status.trainerStatus, which a cluster backend reads)
    is a line under the status: percentage, ETA and the metrics it posted."""
    from jupyter_kf.jobs import Job, JobStatus
    from jupyter_kf.widgets import render

    progress = {
        "progressPercentage": 40,
        "estimatedRemainingSeconds": 130,
        "metrics": {"loss": "0.31"},
    }
    job = Job(
        name="p",
        namespace="ns",
        kind="TrainJob",
        status=JobStatus(phase="Running"),
        backend="kubernetes",
        workers=2,
        extra={"runtime": "torch-distributed", "progress": progress},
    )
    html = render.header(job, live=True)
    assert "Trainer: 40% · ETA 2m 10s · loss 0.31" in html
    assert "2 nodes" in html and "runtime torch-distributed" in html
    assert "Trainer:" not in render.header(
        Job(name="q", namespace="ns", kind="PyTorchJob", status=JobStatus(phase="Running")),
        live=True,
    )


def test_attempt_switch_shows_an_earlier_run_of_a_restarted_replica(client, monitors, tmp_path):
    """The master fails once, then runs until told to stop; the switch offers attempt 0."""
    go = tmp_path / "go"
    source = (
        "import os, sys, time\n"
        "if not os.path.exists('.ran'):\n"
        "    open('.ran', 'w').close()\n"
        "    print('attempt zero fails', flush=True)\n"
        "    sys.exit(3)\n"
        "print('attempt one runs', flush=True)\n"
        f"while not os.path.exists({str(go)!r}):\n"
        "    time.sleep(0.05)\n"
    )
    client.submit(name="again", framework="pytorch", workers=1, cell=source)
    m = JobMonitor("again", client)
    monitors.append(m)
    wait_for(lambda: "attempt one runs" in m.log_view.lines, what="the second attempt")
    wait_for(lambda: m.attempt_select.layout.display is None, what="the attempt switch")
    assert m.attempt_select.options == (("live (attempt 1)", -1), ("attempt 0", 0))

    m.attempt_select.value = 0
    wait_for(lambda: m.log_view.lines == ["attempt zero fails"], what="attempt 0's log")
    m.attempt_select.value = -1  # live again: the followed log, from its start
    wait_for(lambda: m.log_view.lines[-1:] == ["attempt one runs"], what="the live log")
    go.touch()
    m.updater.join(30)
    assert m.phase == "Succeeded"
