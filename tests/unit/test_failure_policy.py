"""The default backoff limit, restart policy and backoff limit as every front end takes them,
and the one-line reason a finished or waiting job gives (jobs/explain.py). Pure: no jobs run.
"""

from __future__ import annotations

import pytest

from jupyter_kf import cli
from jupyter_kf.backends.local import policy
from jupyter_kf.errors import InvalidSpecError
from jupyter_kf.jobs import Code, Event, Job, JobSpec, Replica, RunPolicy, parse_status
from jupyter_kf.jobs.explain import MAX_LINE, explain, reason
from jupyter_kf.jobs.parts import DEFAULT_BACKOFF_LIMIT
from jupyter_kf.jobs.render import render_job
from jupyter_kf.jobs.validation import parse_backoff_limit, parse_restart_policy

CODE = Code("raise SystemExit(3)\n")


def spec(**kwargs) -> JobSpec:
    return JobSpec.create("pytorch", name="job", workers=2, code=CODE, **kwargs)


def run_policy(s: JobSpec) -> dict:
    return render_job(s, namespace="ns", image="img")["spec"]["runPolicy"]


def restart_policies(s: JobSpec) -> set[str]:
    replicas = render_job(s, namespace="ns", image="img")["spec"]["pytorchReplicaSpecs"]
    return {r["restartPolicy"] for r in replicas.values()}


# -- the model and the manifest -----------------------------------------------------------------
def test_a_job_has_a_backoff_limit_by_default():
    assert DEFAULT_BACKOFF_LIMIT == 3
    assert spec().run_policy.backoff_limit == 3
    # The operator's own default is no limit: the manifest always says ours.
    assert run_policy(spec()) == {"backoffLimit": 3}


@pytest.mark.parametrize("limit,rendered", [(0, {"backoffLimit": 0}), (7, {"backoffLimit": 7})])
def test_an_explicit_backoff_limit_reaches_the_manifest(limit, rendered):
    assert run_policy(spec(run_policy=RunPolicy(backoff_limit=limit))) == rendered


def test_no_limit_is_asked_for_explicitly_and_leaves_backoff_limit_out():
    unlimited = spec(run_policy=RunPolicy(backoff_limit=None))
    assert run_policy(unlimited) == {}
    # ... and survives spec.json and REST bodies, where null is "no limit".
    data = unlimited.to_dict()
    assert data["run_policy"] == {"backoff_limit": None}
    assert JobSpec.from_dict(data).run_policy.backoff_limit is None
    assert JobSpec.from_dict(spec().to_dict()).run_policy.backoff_limit == 3
    assert "run_policy" not in spec().to_dict()  # the default is not written


def test_ttl_zero_survives_a_round_trip():
    s = spec(run_policy=RunPolicy(ttl_seconds_after_finished=0))
    assert JobSpec.from_dict(s.to_dict()).run_policy.ttl_seconds_after_finished == 0


def test_an_explicit_restart_policy_reaches_the_manifest():
    assert restart_policies(spec()) == {"OnFailure"}  # PyTorch's default
    assert restart_policies(spec(restart_policy="Never")) == {"Never"}
    assert restart_policies(spec(restart_policy="ExitCode")) == {"ExitCode"}


@pytest.mark.parametrize(
    "fields,problem",
    [
        (dict(restart_policy="Sometimes"), "restart_policy must be one of Always, OnFailure"),
        (dict(run_policy=RunPolicy(backoff_limit=-1)), "backoff_limit must be a whole number >= 0"),
        (dict(run_policy=RunPolicy(backoff_limit="3")), "(None: no limit)"),  # type: ignore[arg-type]
    ],
)
def test_bad_policies_are_refused(fields, problem):
    with pytest.raises(InvalidSpecError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        spec(**fields)


# -- as users type them -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "text,value",
    [("0", 0), ("3", 3), (" 12 ", 12), ("none", None), ("None", None), ("unlimited", None)],
)
def test_parse_backoff_limit(text, value):
    assert parse_backoff_limit(text) == value


@pytest.mark.parametrize("text", ["", "-1", "1.5", "three", "²", "9999999999"])
def test_parse_backoff_limit_refuses(text):
    with pytest.raises(ValueError, match="whole number >= 0 .* or 'none' for no limit"):
        parse_backoff_limit(text)


@pytest.mark.parametrize(
    "text,value", [("never", "Never"), ("OnFailure", "OnFailure"), ("EXITCODE", "ExitCode")]
)
def test_parse_restart_policy(text, value):
    assert parse_restart_policy(text) == value


def test_parse_restart_policy_refuses():
    with pytest.raises(ValueError, match="must be one of Always, OnFailure, Never, ExitCode"):
        parse_restart_policy("sometimes")


def test_cli_takes_both_options(capsys):
    parser = cli.build_parser()
    args = parser.parse_args(
        ["submit", "t.py", "--name", "x", "--restart-policy", "never", "--backoff-limit", "none"]
    )
    assert args.restart_policy == "Never" and args.backoff_limit is None
    args = parser.parse_args(["submit", "t.py", "--name", "x", "--backoff-limit", "0"])
    assert args.backoff_limit == 0
    with pytest.raises(SystemExit) as exc:
        parser.parse_args(["submit", "t.py", "--name", "x", "--backoff-limit", "-2"])
    assert exc.value.code == 2
    assert "or 'none' for no limit, not '-2'" in capsys.readouterr().err


# -- the local supervisor's rule is the operator's ----------------------------------------------
@pytest.mark.parametrize(
    "limit,restarts,past",
    [
        (None, 1000, False),  # no limit
        (0, 0, False),
        (0, 1, True),  # a limit of 0 allows no restart
        (1, 1, True),
        (3, 2, False),
        (3, 3, True),  # restarts summed over replicas reach the limit
    ],
)
def test_past_backoff_limit(limit, restarts, past):
    assert policy.past_backoff_limit(limit, restarts) is past


# -- one line that says why ----------------------------------------------------------------------
def job(phase_conditions, replicas, message="", s: JobSpec | None = None, started=True) -> Job:
    conditions = [
        {"type": t, "status": "True", "reason": f"PyTorchJob{t}", "message": message}
        for t in phase_conditions
    ]
    status = parse_status(
        {"conditions": conditions, "startTime": "2026-01-01T00:00:00Z" if started else None}
    )
    return Job("job", "ns", "PyTorchJob", status, spec=s or spec(), replicas=tuple(replicas))


def test_a_crash_says_which_replica_its_exit_code_and_its_last_log_lines():
    traceback = 'Traceback (most recent call last):\n  File "t.py", line 1\nValueError: boom\n'
    j = job(
        ["Created", "Failed"],
        [
            Replica(
                "Master", 0, "Failed", restarts=2, exit_code=3, reason="Error", message=traceback
            ),
            Replica("Worker", 0, "Stopped", restarts=0, exit_code=143, reason="JobFailed"),
        ],
        message="PyTorchJob job has failed because it has reached the specified backoff limit",
    )
    assert explain(j) == (
        "Failed: master-0 exited with code 3 (failed 3 times; backoff limit 3 reached): "
        'File "t.py", line 1 | ValueError: boom'
    )
    assert reason(j).startswith("master-0 exited with code 3")  # beside a badge


def test_a_failure_under_never_has_no_count_and_names_oom():
    j = job(
        ["Created", "Failed"],
        [
            Replica("Master", 0, "Stopped", exit_code=143, reason="JobFailed"),
            Replica("Worker", 0, "Failed", exit_code=137, reason="OOMKilled"),
        ],
        message="PyTorchJob job is failed because 1 Worker replica(s) failed.",
    )
    assert explain(j) == "Failed: worker-0 exited with code 137 (OOMKilled)"


def test_the_log_tail_and_the_line_are_bounded():
    j = job(
        ["Created", "Failed"],
        [Replica("Master", 0, "Failed", exit_code=1, message="x" * 5000 + "\n" + "y" * 5000)],
    )
    line = explain(j)
    assert len(line) <= MAX_LINE and "\n" not in line and line.endswith("y")


def test_a_job_that_failed_while_pending_says_what_held_it():
    j = job(
        ["Created", "Failed"],
        [Replica("Master", 0, "Pending"), Replica("Worker", 0, "Pending")],
        message="Job job has failed because it was active longer than specified deadline",
        started=False,
    )
    events = [
        Event("t1", "Normal", "SuccessfulCreatePod", "Created pod: job-master-0"),
        Event(
            "t2",
            "Warning",
            "FailedScheduling",
            "0/3 nodes are available: 3 Insufficient cpu.",
            "job-master-0",
        ),
    ]
    line = explain(j, events)
    assert line.startswith("Failed: Job job has failed because it was active longer")
    assert line.endswith(
        "job-master-0 FailedScheduling: 0/3 nodes are available: 3 Insufficient cpu."
    )


def test_pending_names_its_event_or_the_replica_reason():
    j = job(["Created"], [Replica("Master", 0, "Pending", reason="Unschedulable", message="0/1")])
    assert explain(j) == "Created: master-0 Unschedulable: 0/1"  # Created: not started yet
    assert explain(j, [Event("t", "Warning", "FailedCreate", "quota exceeded")]) == (
        "Created: FailedCreate: quota exceeded"
    )


@pytest.mark.parametrize(
    "replicas,line",
    [
        ([Replica("Master", 0, "Succeeded")], "Succeeded"),
        (
            [Replica("Master", 0, "Succeeded"), Replica("Worker", 0, "Succeeded", restarts=3)],
            "Succeeded; worker-0 failed 3 times",
        ),
        (
            [
                Replica("Master", 0, "Succeeded", restarts=1),
                Replica("Worker", 0, "Failed", restarts=1, exit_code=2),
            ],
            "Succeeded; master-0 failed once, worker-0 failed 2 times",
        ),
    ],
)
def test_a_success_says_which_replicas_failed_on_the_way(replicas, line):
    j = job(["Created", "Succeeded"], replicas, message="PyTorchJob job is successfully completed.")
    assert explain(j) == line
    expected = "PyTorchJob job is successfully completed." if line == "Succeeded" else line[11:]
    assert reason(j) == expected


def test_a_running_job_keeps_its_condition_message():
    j = job(["Created", "Running"], [Replica("Master", 0, "Running")], message="is running.")
    assert explain(j) == "Running: is running."
    assert reason(j) == "is running."


def test_the_launch_form_has_the_model_s_default_and_policies():
    """The panel's form (labextension/src/form.ts) shows the same default and choices."""
    import re
    from pathlib import Path

    from jupyter_kf.jobs.kinds import RESTART_POLICIES

    form = (Path(__file__).parents[2] / "labextension" / "src" / "form.ts").read_text()
    default = re.search(r"export const DEFAULT_BACKOFF_LIMIT = (\d+);", form)
    assert default and int(default.group(1)) == DEFAULT_BACKOFF_LIMIT
    choices = re.search(r"export const RESTART_POLICIES = \[([^\]]*)\];", form)
    assert choices and set(re.findall(r"'(\w+)'", choices.group(1))) == set(RESTART_POLICIES)


def test_a_cluster_job_past_its_backoff_limit_names_the_restarted_replica():
    """On a cluster the spec is not read back and a crash-looping pod has no exit code."""
    j = Job(
        "job",
        "ns",
        "PyTorchJob",
        parse_status(
            {
                "conditions": [
                    {
                        "type": "Failed",
                        "status": "True",
                        "message": "Job job has failed because it has reached the specified "
                        "backoff limit",
                    }
                ]
            }
        ),
        replicas=(
            Replica("Master", 0, "Running", restarts=3, reason="CrashLoopBackOff"),
            Replica("Worker", 0, "Running"),
        ),
    )
    assert explain(j) == (
        "Failed: master-0 CrashLoopBackOff (failed 3 times; backoff limit reached)"
    )
