"""Parsing the operator's CR status into a JobStatus."""

from jupyter_kf.jobs import parse_status


def cond(type_, status="True", reason="", message=""):
    return {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": "2026-01-01T00:00:00Z",
    }


def test_no_status_is_pending():
    assert parse_status(None).phase == "Pending"
    assert parse_status({}).phase == "Pending"
    assert parse_status({"conditions": []}).phase == "Pending"


def test_phase_is_the_last_true_condition():
    status = parse_status(
        {
            "conditions": [
                cond("Created", reason="PyTorchJobCreated"),
                cond("Running", "False", "PyTorchJobRunning"),
                cond(
                    "Succeeded",
                    reason="PyTorchJobSucceeded",
                    message="PyTorchJob x is successfully completed.",
                ),
            ],
            "replicaStatuses": {
                "Master": {"succeeded": 1},
                "Worker": {"active": 0, "succeeded": 2, "failed": 0, "selector": "x"},
            },
            "startTime": "2026-01-01T00:00:00Z",
            "completionTime": "2026-01-01T00:05:00Z",
        }
    )
    assert status.phase == "Succeeded"
    assert status.finished
    assert status.message == "PyTorchJob x is successfully completed."
    assert status.replica_statuses["Worker"].succeeded == 2
    assert status.replica_statuses["Master"].active == 0
    assert status.completion_time == "2026-01-01T00:05:00Z"


def test_suspended_and_restarting_are_phases():
    suspended = parse_status(
        {
            "conditions": [
                cond("Created"),
                cond("Running", "False", "PyTorchJobSuspended"),
                cond("Suspended", reason="PyTorchJobSuspended"),
            ]
        }
    )
    assert suspended.phase == "Suspended" and not suspended.finished
    restarting = parse_status(
        {"conditions": [cond("Created"), cond("Running", "False"), cond("Restarting")]}
    )
    assert restarting.phase == "Restarting"
    resumed = parse_status(
        {
            "conditions": [
                cond("Created"),
                cond("Suspended", "False", "PyTorchJobResumed"),
                cond("Running"),
            ]
        }
    )
    assert resumed.phase == "Running"
    assert resumed.has("Running") and not resumed.has("Suspended")


def test_garbage_is_tolerated():
    status = parse_status(
        {
            "conditions": ["x", {"type": "Running", "status": "True"}, {"status": "True"}],
            "replicaStatuses": {"Worker": {"active": "two"}, "PS": 3},
        }
    )
    assert status.phase == "Running"
    assert status.replica_statuses["Worker"].active == 0
    assert "PS" not in status.replica_statuses


def test_to_dict_round_trip():
    raw = {
        "conditions": [cond("Created", reason="TFJobCreated", message="m")],
        "replicaStatuses": {"Worker": {"active": 1, "succeeded": 0, "failed": 0}},
    }
    d = parse_status(raw).to_dict()
    assert d["phase"] == "Created"
    assert parse_status(d).to_dict() == d
