"""Validation tables: good specs pass, bad ones fail with every problem named at once."""

import pytest

from jupyter_kf.errors import InvalidSpecError
from jupyter_kf.jobs import Code, ElasticPolicy, JobSpec, Resources, RunPolicy

CODE = Code("print(1)")


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(name="a", kind="PyTorchJob", replicas={"Master": 1}),
        dict(name="mnist-2", kind="pytorch", replicas={"master": 1, "worker": 3}),
        dict(name="tf", kind="TFJob", replicas={"Chief": 1, "PS": 2, "Worker": 4, "Evaluator": 1}),
        dict(name="mpi", kind="MPIJob", replicas={"Launcher": 1, "Worker": 2}, slots_per_worker=4),
        dict(name="xgb", kind="XGBoostJob", replicas={"Master": 1, "Worker": 1}),
        dict(name="pd", kind="PaddleJob", replicas={"Worker": 2}),
        dict(name="jx", kind="JAXJob", replicas={"Worker": 2}),
        dict(
            name="el",
            kind="PyTorchJob",
            replicas={"Master": 1, "Worker": 2},
            elastic_policy=ElasticPolicy(min_replicas=1, max_replicas=3),
        ),
        dict(
            name="res",
            kind="PyTorchJob",
            replicas={"Master": 1},
            resources=Resources(cpu="500m", memory="1.5Gi", gpu=2),
            nproc_per_node="auto",
        ),
    ],
)
def test_good_specs(kwargs):
    spec = JobSpec(code=CODE, **kwargs)
    assert JobSpec.from_dict(spec.to_dict()) == spec


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(name="Bad_Name"), "name 'Bad_Name' is not allowed"),
        (dict(name="1abc"), "is not allowed"),
        (dict(name="a" * 60), "is too long"),
        (dict(name=""), "name is required"),
        (dict(kind="MXJob"), "unknown kind 'MXJob'"),
        (dict(replicas={"Worker": 2}), "needs exactly one Master"),
        (dict(replicas={"Master": 2}), "at most one Master"),
        (dict(replicas={"Master": 1, "Chief": 1}), "PyTorchJob has no role 'Chief'"),
        (
            dict(replicas={"Master": 1, "Worker": -1}),
            "replicas of Worker must be a whole number >= 0",
        ),
        (dict(replicas={"Master": 1, "Worker": 1.5}), "must be a whole number"),
        (dict(code=None), "nothing to run"),
        (dict(code=Code("   ")), "the code is empty"),
        (dict(code=Code("x", filename="../evil.py")), "must be a plain file name"),
        (dict(code=Code("x", files={"../up.py": "x"})), "relative path inside the job's folder"),
        (dict(env={"RANK": "3"}), "env RANK is set by the training operator"),
        (dict(env={"1 bad": "x"}), "env name '1 bad' is not allowed"),
        (dict(env={"A": 1}), "env A must be a string"),
        (dict(resources=Resources(cpu="lots")), "cpu: 'lots' is not a Kubernetes quantity"),
        (dict(resources=Resources(memory="0")), "memory must be more than zero"),
        (dict(resources=Resources(gpu=-1)), "gpu must be a whole number >= 0"),
        (dict(resources={"cpu": "1"}), "resources must be a jupyter_kf.jobs.Resources"),
        (dict(run_policy={"suspend": True}), "run_policy must be a jupyter_kf.jobs.RunPolicy"),
        (
            dict(restart_policy="Sometimes"),
            "restart_policy must be one of Always, OnFailure, Never, ExitCode",
        ),
        (dict(run_policy=RunPolicy(clean_pod_policy="Some")), "clean_pod_policy must be one of"),
        (
            dict(run_policy=RunPolicy(active_deadline_seconds=0)),
            "active_deadline_seconds must be a whole number >= 1",
        ),
        (dict(run_policy=RunPolicy(backoff_limit=-1)), "backoff_limit must be a whole number >= 0"),
        (
            dict(elastic_policy=ElasticPolicy(min_replicas=3, max_replicas=2)),
            "min_replicas (3) is above max_replicas (2)",
        ),
        (
            dict(
                replicas={"Master": 1, "Worker": 5},
                elastic_policy=ElasticPolicy(min_replicas=1, max_replicas=2),
            ),
            "outside elastic_policy's [1, 2]",
        ),
        (
            dict(replicas={"Master": 1}, elastic_policy=ElasticPolicy(max_replicas=2)),
            "elastic_policy needs Worker replicas",
        ),
        (dict(nproc_per_node="many"), "nproc_per_node must be a whole number >= 1"),
        (dict(slots_per_worker=2), "slots_per_worker is for MPIJob only"),
        (dict(image="has space"), "is not an image reference"),
        (dict(labels={"bad key!": "x"}), "label name 'bad key!' is not a valid Kubernetes key"),
        (dict(labels={"ok": "bad value!"}), "not a valid label value"),
    ],
)
def test_bad_specs(kwargs, message):
    base = dict(name="job", kind="PyTorchJob", replicas={"Master": 1}, code=CODE)
    with pytest.raises(InvalidSpecError) as err:
        JobSpec(**{**base, **kwargs})
    assert message in str(err.value), str(err.value)


@pytest.mark.parametrize(
    "kind,replicas,message",
    [
        ("TFJob", {"Chief": 2, "Worker": 1}, "at most one Chief"),
        ("TFJob", {"Chief": 1, "Master": 1}, "a Chief or a Master, not both"),
        ("MPIJob", {"Launcher": 1, "Worker": 0}, "at least one Worker"),
        ("MPIJob", {"Worker": 2}, "needs a Launcher replica"),
        ("JAXJob", {"Worker": 0}, "no replicas"),
        ("XGBoostJob", {"Worker": 2}, "needs a Master replica"),
    ],
)
def test_kind_rules(kind, replicas, message):
    with pytest.raises(InvalidSpecError) as err:
        JobSpec(name="job", kind=kind, replicas=replicas, code=CODE)
    assert message in str(err.value)


def test_every_problem_is_reported_at_once():
    with pytest.raises(InvalidSpecError) as err:
        JobSpec(
            name="Bad",
            kind="PyTorchJob",
            replicas={"Worker": -2},
            env={"RANK": "1"},
            resources=Resources(cpu="x", gpu=-1),
            restart_policy="Nope",
        )
    problems = err.value.problems
    expected = [
        "name 'Bad'",
        "replicas of Worker",
        "exactly one Master",
        "nothing to run",
        "env RANK",
        "cpu: 'x'",
        "gpu must be",
        "restart_policy must be",
    ]
    assert len(problems) == len(expected), problems
    for fragment, problem in zip(expected, problems, strict=False):
        assert fragment in problem
    assert str(err.value).startswith("The job is not valid (8 problems):")


def test_create_layouts():
    assert JobSpec.create("pytorch", name="a", workers=1, code=CODE).replicas == {"Master": 1}
    assert JobSpec.create("pytorch", name="a", workers=4, code=CODE).replicas == {
        "Master": 1,
        "Worker": 3,
    }
    assert JobSpec.create("xgboost", name="a", workers=2, code=CODE).replicas == {
        "Master": 1,
        "Worker": 1,
    }
    assert JobSpec.create("mpi", name="a", workers=2, code=CODE).replicas == {
        "Launcher": 1,
        "Worker": 2,
    }
    for fw in ("tensorflow", "jax", "paddle"):
        assert JobSpec.create(fw, name="a", workers=3, code=CODE).replicas == {"Worker": 3}
    with pytest.raises(InvalidSpecError, match="unknown job kind or framework 'caffe'"):
        JobSpec.create("caffe", name="a", code=CODE)
    with pytest.raises(InvalidSpecError, match="workers must be a whole number >= 1, not -1"):
        JobSpec.create("pytorch", name="a", workers=-1, code=CODE)


def test_workers_and_with_workers_are_inverse():
    for fw in ("pytorch", "xgboost", "mpi", "tf", "jax", "paddle"):
        spec = JobSpec.create(fw, name="a", workers=2, code=CODE)
        assert spec.workers == 2
        assert spec.with_workers(5).workers == 5


def test_from_dict_refuses_unknown_fields_and_types():
    with pytest.raises(InvalidSpecError) as err:
        JobSpec.from_dict({"name": "a", "workerz": 2, "resources": {"cpus": 1}, "code": "x"})
    text = str(err.value)
    assert "unknown field 'workerz'" in text
    assert "resources has unknown fields ['cpus']" in text
    assert "code must be an object" in text
    with pytest.raises(InvalidSpecError, match="must be a JSON object"):
        JobSpec.from_dict(["a"])


def test_from_dict_with_framework_and_workers():
    spec = JobSpec.from_dict(
        {"name": "a", "framework": "jax", "workers": 3, "code": {"source": "print(1)"}}
    )
    assert spec.kind == "JAXJob" and spec.replicas == {"Worker": 3}
