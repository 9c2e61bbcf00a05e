"""Rendering a JobSpec to the operator's manifest, compared with literal manifests."""

import pytest

from jupyter_kf.errors import InvalidSpecError
from jupyter_kf.jobs import Code, ElasticPolicy, JobSpec, Resources, RunPolicy
from jupyter_kf.jobs.render import INLINE_CODE_MAX, render_code_configmap, render_job

CODE = Code("print('hi')\n", files={"helpers/util.py": "X = 1\n"})
MANAGED = {"app.kubernetes.io/managed-by": "jupyter-kf"}
# The code read-only, the working directory writable and empty (the code's mount is
# read-only, and a script writes its outputs to relative paths).
MOUNT = [
    {"name": "code", "mountPath": "/opt/jupyter-kf/code", "readOnly": True},
    {"name": "work", "mountPath": "/opt/jupyter-kf/work"},
    # JKF_OUTPUT_DIR: an emptyDir when the job names no volume to keep them (storage.py).
    {"name": "outputs", "mountPath": "/opt/jupyter-kf/outputs"},
]
STORAGE_ENV = [
    {"name": "JKF_OUTPUT_DIR", "value": "/opt/jupyter-kf/outputs"},
    {"name": "JKF_DIST_BACKEND", "value": "gloo"},
]
# Small code travels in the manifest: pod annotations, files again through a downwardAPI
# volume (no ConfigMap to create after the job).
CODE_ANNOTATIONS = {"code.jupyter-kf.org/f0": "X = 1\n", "code.jupyter-kf.org/f1": "print('hi')\n"}
VOLUMES = [
    {
        "name": "code",
        "downwardAPI": {
            "items": [
                {
                    "path": "helpers/util.py",
                    "fieldRef": {"fieldPath": "metadata.annotations['code.jupyter-kf.org/f0']"},
                },
                {
                    "path": "train.py",
                    "fieldRef": {"fieldPath": "metadata.annotations['code.jupyter-kf.org/f1']"},
                },
            ]
        },
    },
    {"name": "work", "emptyDir": {}},
    {"name": "outputs", "emptyDir": {}},
]


def template(container: str, port_name: str, port: int, command: list[str]) -> dict:
    return {
        "metadata": {"labels": MANAGED, "annotations": CODE_ANNOTATIONS},
        "spec": {
            "shareProcessNamespace": True,
            "containers": [
                {
                    "name": container,
                    "image": "img:1",
                    "command": command,
                    "ports": [{"name": port_name, "containerPort": port}],
                    "terminationMessagePolicy": "FallbackToLogsOnError",
                    "workingDir": "/opt/jupyter-kf/work",
                    "volumeMounts": MOUNT,
                    "env": STORAGE_ENV,
                }
            ],
            "volumes": VOLUMES,
        },
    }


RUN = ["python", "-u", "/opt/jupyter-kf/code/train.py"]


def test_pytorch_full_manifest():
    spec = JobSpec.create(
        "pytorch",
        name="job",
        workers=3,
        code=CODE,
        env={"LR": "0.1"},
        resources=Resources(cpu="2", memory="4Gi", gpu=1),
        run_policy=RunPolicy(
            clean_pod_policy="All",
            ttl_seconds_after_finished=60,
            active_deadline_seconds=3600,
            backoff_limit=5,
            suspend=True,
        ),
        nproc_per_node="2",
        labels={"team": "ml"},
        annotations={"note": "x"},
    )
    container = {
        "name": "pytorch",
        "image": "img:1",
        "command": RUN,
        "ports": [{"name": "pytorchjob-port", "containerPort": 23456}],
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "env": [
            {"name": "LR", "value": "0.1"},
            {"name": "JKF_OUTPUT_DIR", "value": "/opt/jupyter-kf/outputs"},
            {"name": "JKF_DIST_BACKEND", "value": "nccl"},  # it asks for a GPU
        ],
        "resources": {
            "requests": {"cpu": "2", "memory": "4Gi"},
            "limits": {"cpu": "2", "memory": "4Gi", "nvidia.com/gpu": "1"},
        },
        "workingDir": "/opt/jupyter-kf/work",
        "volumeMounts": MOUNT,
    }
    pod = {
        "metadata": {"labels": MANAGED, "annotations": CODE_ANNOTATIONS},
        "spec": {"shareProcessNamespace": True, "containers": [container], "volumes": VOLUMES},
    }
    assert render_job(spec, namespace="alice", image="img:1") == {
        "apiVersion": "kubeflow.org/v1",
        "kind": "PyTorchJob",
        "metadata": {
            "name": "job",
            "namespace": "alice",
            "labels": {"team": "ml", **MANAGED},
            "annotations": {"note": "x"},
        },
        "spec": {
            "pytorchReplicaSpecs": {
                "Master": {"replicas": 1, "restartPolicy": "OnFailure", "template": pod},
                "Worker": {"replicas": 2, "restartPolicy": "OnFailure", "template": pod},
            },
            "runPolicy": {
                "cleanPodPolicy": "All",
                "ttlSecondsAfterFinished": 60,
                "activeDeadlineSeconds": 3600,
                "backoffLimit": 5,
                "suspend": True,
            },
            "nprocPerNode": "2",
        },
    }


def test_pytorch_elastic():
    spec = JobSpec(
        name="job",
        kind="PyTorchJob",
        replicas={"Master": 1, "Worker": 2},
        code=CODE,
        elastic_policy=ElasticPolicy(min_replicas=1, max_replicas=4, max_restarts=3),
    )
    body = render_job(spec, namespace="ns", image="img:1")["spec"]
    assert body["elasticPolicy"] == {
        "rdzvBackend": "c10d",
        "minReplicas": 1,
        "maxReplicas": 4,
        "maxRestarts": 3,
    }


@pytest.mark.parametrize(
    "framework,workers,field,roles,container,port_name,port,restart",
    [
        (
            "tensorflow",
            2,
            "tfReplicaSpecs",
            {"Worker": 2},
            "tensorflow",
            "tfjob-port",
            2222,
            "Never",
        ),
        (
            "xgboost",
            3,
            "xgbReplicaSpecs",
            {"Master": 1, "Worker": 2},
            "xgboost",
            "xgboostjob-port",
            9999,
            "Never",
        ),
        ("paddle", 2, "paddleReplicaSpecs", {"Worker": 2}, "paddle", "master", 36543, "OnFailure"),
        ("jax", 2, "jaxReplicaSpecs", {"Worker": 2}, "jax", "jaxjob-port", 6666, "Never"),
    ],
)
def test_other_kinds(framework, workers, field, roles, container, port_name, port, restart):
    spec = JobSpec.create(framework, name="job", workers=workers, code=CODE)
    manifest = render_job(spec, namespace="ns", image="img:1")
    assert manifest == {
        "apiVersion": "kubeflow.org/v1",
        "kind": spec.kind,
        "metadata": {"name": "job", "namespace": "ns", "labels": MANAGED},
        "spec": {
            field: {
                role: {
                    "replicas": n,
                    "restartPolicy": restart,
                    "template": template(container, port_name, port, RUN),
                }
                for role, n in roles.items()
            },
            "runPolicy": {"backoffLimit": 3},  # the default (RunPolicy)
        },
    }


def test_mpi_launcher_runs_mpirun_and_workers_wait():
    spec = JobSpec.create("mpi", name="job", workers=2, code=CODE, slots_per_worker=2)
    manifest = render_job(spec, namespace="ns", image="img:1")
    assert manifest["spec"] == {
        "mpiReplicaSpecs": {
            "Launcher": {
                "replicas": 1,
                "restartPolicy": "Never",
                "template": template("mpi", "mpi-port", 9999, ["mpirun", "-np", "4", *RUN]),
            },
            "Worker": {
                "replicas": 2,
                "restartPolicy": "Never",
                "template": template("mpi", "mpi-port", 9999, ["sleep", "365d"]),
            },
        },
        "runPolicy": {"backoffLimit": 3},  # the default (RunPolicy)
        "slotsPerWorker": 2,
    }


def test_command_job_ships_no_code():
    spec = JobSpec.create(
        "tf",
        name="job",
        workers=1,
        command=["python", "-c", "print(1)"],
        image="tensorflow/tensorflow:2.16.1",
    )
    manifest = render_job(spec, namespace="ns", image="ignored")
    pod = manifest["spec"]["tfReplicaSpecs"]["Worker"]["template"]["spec"]
    assert pod == {
        "shareProcessNamespace": True,  # SIGTERM stops the worker (see render.py)
        "containers": [
            {
                "name": "tensorflow",
                "image": "tensorflow/tensorflow:2.16.1",
                "command": ["python", "-c", "print(1)"],
                "ports": [{"name": "tfjob-port", "containerPort": 2222}],
                "terminationMessagePolicy": "FallbackToLogsOnError",
            }
        ],
    }
    assert render_code_configmap(spec, namespace="ns") is None


def test_small_code_needs_no_configmap():
    spec = JobSpec.create("pytorch", name="job", workers=1, code=CODE)
    assert render_code_configmap(spec, namespace="ns") is None


def test_code_over_the_inline_size_ships_in_a_configmap():
    big = "# " + "x" * INLINE_CODE_MAX + "\n"
    spec = JobSpec.create("pytorch", name="job", workers=1, code=Code(big, files=CODE.files))
    pod = render_job(spec, namespace="ns", image="img")["spec"]["pytorchReplicaSpecs"]["Master"][
        "template"
    ]
    assert "annotations" not in pod["metadata"]  # nothing inline
    assert pod["spec"]["volumes"][0] == {
        "name": "code",
        "configMap": {
            "name": "job-code",
            "items": [
                {"key": "f0-util.py", "path": "helpers/util.py"},
                {"key": "f1-train.py", "path": "train.py"},
            ],
        },
    }
    assert render_code_configmap(spec, namespace="ns") == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "job-code",
            "namespace": "ns",
            "labels": {**MANAGED, "training.kubeflow.org/job-name": "job"},
        },
        "data": {"f0-util.py": "X = 1\n", "f1-train.py": big},
    }


def test_inline_code_sits_beside_the_users_pod_annotations():
    spec = JobSpec.create(
        "pytorch", name="job", workers=1, code=CODE, pod_annotations={"team/note": "x"}
    )
    pod = render_job(spec, namespace="ns", image="img")["spec"]["pytorchReplicaSpecs"]["Master"]
    assert pod["template"]["metadata"]["annotations"] == {"team/note": "x", **CODE_ANNOTATIONS}
    with pytest.raises(InvalidSpecError, match="carry the job's code"):
        JobSpec.create(
            "pytorch",
            name="job",
            workers=1,
            code=CODE,
            pod_annotations={"code.jupyter-kf.org/f0": "import os"},
        )


def test_render_does_not_mutate_the_spec():
    spec = JobSpec.create("pytorch", name="job", workers=2, code=CODE, env={"A": "1"})
    before = spec.to_dict()
    manifest = render_job(spec, namespace="ns", image="img")
    manifest["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["containers"][0][
        "env"
    ].append({"name": "B"})
    assert spec.to_dict() == before
