"""A JobSpec read back from the CR jupyter-kf rendered (and from a CR made elsewhere): the
same spec again, so any job can be cloned and run again."""

from __future__ import annotations

import pytest

from jupyter_kf.jobs import Code, JobSpec, Resources, RunPolicy
from jupyter_kf.jobs.readback import code_files_of, spec_from_cr
from jupyter_kf.jobs.render import INLINE_CODE_MAX, render_code_configmap, render_job
from jupyter_kf.jobs.trainjob import render_trainjob

CODE = Code(source="print(1)\n", args=("--lr", "0.1"), origin="file", files={"lib/m.py": "x = 1"})


def roundtrip(spec: JobSpec, manifest: dict) -> JobSpec | None:
    cm = render_code_configmap(spec, namespace="ns")
    found = code_files_of(manifest)
    files = None
    if cm is not None and found is not None:
        name, items = found
        assert name == cm["metadata"]["name"]
        files = {path: cm["data"][key] for key, path in items}
    return spec_from_cr(manifest, files)


@pytest.mark.parametrize("framework", ["pytorch", "tensorflow", "mpi", "xgboost", "jax", "paddle"])
def test_every_v1_kind_reads_back_as_it_was_made(framework):
    spec = JobSpec.create(
        framework,
        name="job",
        workers=3,
        code=CODE,
        image="img:1",
        env={"A": "1"},
        resources=Resources(cpu="2", memory="1Gi"),
        run_policy=RunPolicy(backoff_limit=2, active_deadline_seconds=60),
        labels={"team": "a"},
        pod_annotations={"x": "y"},
    )
    assert roundtrip(spec, render_job(spec, namespace="ns", image="default:1")) == spec


def test_code_inline_and_in_a_configmap_both_read_back():
    """Small code is read from the CR itself; code too big to go inline from its ConfigMap
    (which the caller reads: without its files the spec keeps the command)."""
    small = JobSpec.create("pytorch", name="job", workers=1, code=CODE, image="img:1")
    manifest = render_job(small, namespace="ns", image="img:1")
    assert spec_from_cr(manifest).code == CODE  # no ConfigMap to read
    big_code = Code(source="# " + "x" * INLINE_CODE_MAX + "\n", origin="file")
    big = JobSpec.create("pytorch", name="job", workers=1, code=big_code, image="img:1")
    manifest = render_job(big, namespace="ns", image="img:1")
    assert roundtrip(big, manifest) == big
    assert spec_from_cr(manifest).code is None


def test_a_trainjob_reads_back_as_it_was_made():
    spec = JobSpec.create(
        name="tj",
        workers=2,
        runtime="torch-distributed",
        code=CODE,
        env={"A": "1"},
        nproc_per_node="2",
        resources=Resources(cpu="2"),
        pod_labels={"team": "a"},
        run_policy=RunPolicy(suspend=True),
    )
    assert roundtrip(spec, render_trainjob(spec, namespace="ns", image="img:1")) == (
        JobSpec.from_dict({**spec.to_dict(), "image": "img:1"})
    )


def test_a_cr_made_elsewhere_reads_back_with_its_command():
    cr = {
        "apiVersion": "trainer.kubeflow.org/v1alpha1",
        "kind": "TrainJob",
        "metadata": {
            "name": "sdk-job",
            "labels": {"kubectl.kubernetes.io/last-applied-configuration": "x"},
        },
        "spec": {
            "runtimeRef": {"name": "torch-distributed", "kind": "ClusterTrainingRuntime"},
            "trainer": {"numNodes": 2, "command": ["bash", "-c", "torchrun train.py"]},
        },
    }
    spec = spec_from_cr(cr)
    assert spec is not None and spec.kind == "TrainJob" and spec.workers == 2
    assert spec.command == ("bash", "-c", "torchrun train.py") and spec.labels == {}
    assert spec_from_cr({"kind": "TrainJob", "metadata": {}, "spec": {}}) is None
