"""Each kind's description, and the rules every module reads from it, table by table."""

from __future__ import annotations

import pytest

from jupyter_kf.jobs import Job, JobSpec, JobStatus, Replica
from jupyter_kf.jobs.kinds import KINDS, kind_info

# kind: (replicas for --workers 1, for --workers 3)
LAYOUTS = {
    "PyTorchJob": ({"Master": 1}, {"Master": 1, "Worker": 2}),
    "XGBoostJob": ({"Master": 1}, {"Master": 1, "Worker": 2}),
    "MPIJob": ({"Launcher": 1, "Worker": 1}, {"Launcher": 1, "Worker": 3}),
    "TFJob": ({"Worker": 1}, {"Worker": 3}),
    "PaddleJob": ({"Worker": 1}, {"Worker": 3}),
    "JAXJob": ({"Worker": 1}, {"Worker": 3}),
}


def test_every_kind_is_in_the_tables():
    assert set(LAYOUTS) == set(KINDS)


@pytest.mark.parametrize("kind", sorted(LAYOUTS))
def test_workers_map_to_replicas_and_back(kind):
    info = kind_info(kind)
    one, three = LAYOUTS[kind]
    assert info.replicas_for(1) == one
    assert info.replicas_for(3) == three
    for workers in (1, 2, 3, 8):
        counts = info.replicas_for(workers)
        assert info.workers_of(counts) == workers
        assert JobSpec.create(kind, name="j", workers=workers, command=["x"]).replicas == counts


# kind, replica counts, workers asked for, the worker role's new count
RESIZES = [
    ("PyTorchJob", {"Master": 1, "Worker": 1}, 4, 3),
    ("PyTorchJob", {"Master": 1, "Worker": 3}, 1, 0),
    ("XGBoostJob", {"Master": 1, "Worker": 1}, 2, 1),
    ("MPIJob", {"Launcher": 1, "Worker": 2}, 4, 4),  # the Launcher trains nothing
    ("TFJob", {"Chief": 1, "PS": 1, "Worker": 2}, 5, 5),  # only Workers count
    ("PaddleJob", {"Master": 1, "Worker": 2}, 3, 3),
    ("JAXJob", {"Worker": 2}, 1, 1),
]


@pytest.mark.parametrize("kind, counts, workers, target", RESIZES)
def test_scaling_changes_only_the_worker_role(kind, counts, workers, target):
    info = kind_info(kind)
    assert info.worker_role == "Worker"
    assert info.worker_replicas_for(counts, workers) == target
    spec = JobSpec(name="j", kind=kind, replicas=counts, command=["x"])
    resized = spec.with_workers(workers)
    assert resized.workers == workers
    assert resized.replicas == {**counts, "Worker": target}  # the Worker role, and only it
    assert spec.replicas == counts  # the original is untouched


# kind, replica counts, rank 0
RANK0 = [
    ("PyTorchJob", {"Master": 1, "Worker": 2}, "master-0"),
    ("PyTorchJob", {"Worker": 2}, "worker-0"),
    ("TFJob", {"Chief": 1, "Worker": 2}, "chief-0"),
    ("TFJob", {"Master": 1, "Worker": 2}, "master-0"),
    ("TFJob", {"PS": 2, "Worker": 2, "Evaluator": 1}, "worker-0"),  # not ps-0 (the old rule)
    ("TFJob", {"PS": 1}, "ps-0"),
    ("MPIJob", {"Launcher": 1, "Worker": 2}, "launcher-0"),
    ("XGBoostJob", {"Master": 1}, "master-0"),
    ("PaddleJob", {"Master": 1, "Worker": 1}, "master-0"),
    ("PaddleJob", {"Worker": 3}, "worker-0"),
    ("JAXJob", {"Worker": 2}, "worker-0"),
]


@pytest.mark.parametrize("kind, counts, rank0", RANK0)
def test_rank0(kind, counts, rank0):
    assert kind_info(kind).rank0(counts) == rank0
    replicas = tuple(Replica(role, i, "Running") for role, n in counts.items() for i in range(n))
    job = Job(name="j", namespace="local", kind=kind, status=JobStatus(), replicas=replicas)
    assert job.rank0 == rank0
    assert job.to_dict()["rank0"] == rank0  # what the REST API gives the panel


# kind, can resize in place, roles that are processes of their own locally
FACTS = [
    ("PyTorchJob", True, ("Master", "Worker")),
    ("TFJob", False, ("Chief", "Master", "PS", "Worker", "Evaluator")),
    ("MPIJob", False, ("Launcher",)),  # the ranks run inside mpirun
    ("XGBoostJob", False, ("Master", "Worker")),
    ("PaddleJob", True, ("Master", "Worker")),
    ("JAXJob", True, ("Worker",)),
]


@pytest.mark.parametrize("kind, in_place, processes", FACTS)
def test_scaling_and_processes(kind, in_place, processes):
    info = kind_info(kind)
    assert info.scale_subresource is in_place
    assert info.process_roles() == processes
    data = info.to_dict()
    assert data["kind"] == kind and data["scalesInPlace"] is in_place
    assert data["roles"] == list(info.roles) and data["workerRole"] == info.worker_role


def test_an_mpi_job_needs_a_worker_for_its_launcher():
    assert kind_info("mpi").min_worker_replicas() == 1
    assert all(kind_info(k).min_worker_replicas() == 0 for k in KINDS if k != "MPIJob")


# kind, replica counts, phases of (role, index) that succeeded, job done?
OUTCOMES = [
    ("PyTorchJob", {"Master": 1, "Worker": 2}, [("Master", 0)], True),
    ("PyTorchJob", {"Worker": 2}, [("Worker", 0)], False),
    ("PyTorchJob", {"Worker": 2}, [("Worker", 0), ("Worker", 1)], True),
    ("TFJob", {"Worker": 3}, [("Worker", 0)], True),
    ("TFJob", {"Chief": 1, "Worker": 3}, [("Worker", 0)], False),
    ("MPIJob", {"Launcher": 1, "Worker": 2}, [("Launcher", 0)], True),
    ("JAXJob", {"Worker": 2}, [("Worker", 1)], False),
    ("PaddleJob", {"Master": 1, "Worker": 2}, [("Worker", 0), ("Worker", 1)], False),
]


@pytest.mark.parametrize("kind, counts, succeeded, done", OUTCOMES)
def test_local_success_rule(kind, counts, succeeded, done):
    from jupyter_kf.backends.local.policy import outcome

    phases = {key: "Succeeded" for key in succeeded}
    assert (outcome(kind, counts, phases) == "Succeeded") is done
