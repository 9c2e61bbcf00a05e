"""Volumes, the home volume, /dev/shm, secrets as env and the outputs dir: parsed, validated
and rendered into a v1 pod template and a TrainJob's runtime patch, compared with literals."""

from __future__ import annotations

import pytest

from jupyter_kf import InvalidSpecError
from jupyter_kf.jobs import Code, JobSpec, Resources
from jupyter_kf.jobs.readback import outputs_location, spec_from_cr
from jupyter_kf.jobs.render import render_job
from jupyter_kf.jobs.storage import (
    HomeVolume,
    Volume,
    gpu_shares,
    parse_secret_env,
    parse_volume,
)
from jupyter_kf.jobs.trainjob import render_trainjob

HOME = HomeVolume(claim="claim-alice", mount="/home/jovyan")


@pytest.mark.parametrize(
    "text,volume",
    [
        ("data:/data", Volume("data", "/data")),
        ("data:/data:ro", Volume("data", "/data", read_only=True)),
        ("data:/data:rw", Volume("data", "/data")),
        ("my.claim:/mnt/x/y", Volume("my.claim", "/mnt/x/y")),
    ],
)
def test_parse_volume(text, volume):
    assert parse_volume(text) == volume


@pytest.mark.parametrize(
    "text,message",
    [
        ("data", "is not claim:/path"),
        ("data:/data:rx", "is not claim:/path"),
        ("other/data:/data", "not a PersistentVolumeClaim name"),
        ("Data:/data", "not a PersistentVolumeClaim name"),
        ("data:relative", "must be absolute"),
        ("data:/opt/jupyter-kf/code", "overlaps a path"),
        ("data:/dev/shm", "overlaps a path"),
        ("data:/", "not a folder of its own"),
        ("", "claim:/path"),
    ],
)
def test_parse_volume_refuses(text, message):
    with pytest.raises(ValueError, match=message):
        parse_volume(text)


def test_parse_secret_env():
    assert parse_secret_env("WANDB_API_KEY=wandb:token") == ("WANDB_API_KEY", "wandb:token")
    for bad, message in [
        ("WANDB_API_KEY", "is not NAME=secret:key"),
        ("K=wandb", "is not 'secret:key'"),
        ("K=team-b/wandb:token", "names another namespace"),
        ("K=Wandb:token", "is not a Secret name"),
        ("K=wandb:to ken", "is not a Secret key"),
    ]:
        with pytest.raises(ValueError, match=message):
            parse_secret_env(bad)


def test_validation_names_every_storage_problem():
    with pytest.raises(InvalidSpecError) as err:
        JobSpec.create(
            name="j",
            code=Code("pass"),
            volumes=["data:/data", "data:/other", {"claim": "x", "mount": "/data"}],
            shm="lots",
            secret_env={"A": "ns/s:k", "JKF_OUTPUT_DIR": "s:k", "LR": "s:k"},
            env={"LR": "1", "JKF_HOME": "/x"},
        )
    text = str(err.value)
    for part in (
        "volume claim 'data' is given twice",
        "two volumes are mounted at '/data'",
        "shm 'lots' is not a size: give a Kubernetes quantity, e.g. '2Gi'",
        "secret_env A: 'ns/s' names another namespace",
        "secret_env JKF_OUTPUT_DIR: that name is set by jupyter-kf",
        "LR is in both env and secret_env",
        "env JKF_HOME: names starting with JKF_ are set by jupyter-kf",
    ):
        assert part in text, text


def spec(**kw):
    return JobSpec.create(
        "pytorch",
        name="j",
        workers=2,
        code=Code("pass"),
        volumes=[Volume("data", "/data", read_only=True), Volume("ckpt", "/ckpt")],
        shm="2Gi",
        secret_env={"WANDB_API_KEY": "wandb:token"},
        resources=Resources(gpu=1),
        **kw,
    )


VOLUMES = [
    {"name": "jkf-home", "persistentVolumeClaim": {"claimName": "claim-alice"}},
    {"name": "jkf-vol-0", "persistentVolumeClaim": {"claimName": "data", "readOnly": True}},
    {"name": "jkf-vol-1", "persistentVolumeClaim": {"claimName": "ckpt"}},
    {"name": "outputs", "persistentVolumeClaim": {"claimName": "claim-alice"}},
    {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "2Gi"}},
]
MOUNTS = [
    {"name": "jkf-home", "mountPath": "/home/jovyan"},
    {"name": "jkf-vol-0", "mountPath": "/data", "readOnly": True},
    {"name": "jkf-vol-1", "mountPath": "/ckpt"},
    # The outputs: a sub-folder of the home volume, made by the kubelet.
    {"name": "outputs", "mountPath": "/opt/jupyter-kf/outputs", "subPath": "jupyter-kf/outputs/j"},
    {"name": "dshm", "mountPath": "/dev/shm"},
]
ENV = [
    {"name": "JKF_HOME", "value": "/home/jovyan"},
    {"name": "JKF_VOLUME_DATA", "value": "/data"},
    {"name": "JKF_VOLUME_CKPT", "value": "/ckpt"},
    {"name": "JKF_OUTPUT_DIR", "value": "/opt/jupyter-kf/outputs"},
    {"name": "JKF_DIST_BACKEND", "value": "nccl"},
    {"name": "WANDB_API_KEY", "valueFrom": {"secretKeyRef": {"name": "wandb", "key": "token"}}},
]


def test_v1_pod_template_carries_volumes_shm_secrets_and_outputs():
    s = spec(home=True)
    cr = render_job(s, namespace="alice", image="img:1", home=HOME)
    for role in ("Master", "Worker"):
        pod = cr["spec"]["pytorchReplicaSpecs"][role]["template"]["spec"]
        (c,) = pod["containers"]
        assert pod["volumes"][2:] == VOLUMES  # after the code and work volumes
        assert c["volumeMounts"][2:] == MOUNTS
        assert c["env"] == ENV
    assert outputs_location(cr) == ("claim-alice", "jupyter-kf/outputs/j")
    back = spec_from_cr(cr, {"train.py": "pass"})
    assert back is not None
    assert (back.volumes, back.home, back.shm, dict(back.secret_env)) == (
        s.volumes,
        True,
        "2Gi",
        {"WANDB_API_KEY": "wandb:token"},
    )
    assert not any(k.startswith("JKF_") for k in back.env)


def test_home_without_a_claim_is_an_error_of_the_backend():
    with pytest.raises(ValueError, match="must say which claim"):
        render_job(spec(home=True), namespace="alice", image="img:1")


def test_outputs_go_to_the_first_writable_volume_without_home():
    cr = render_job(spec(), namespace="alice", image="img:1")
    assert outputs_location(cr) == ("ckpt", "jupyter-kf/outputs/j")
    bare = JobSpec.create("pytorch", name="j", code=Code("pass"))
    cr = render_job(bare, namespace="alice", image="img:1")
    assert outputs_location(cr) is None  # an emptyDir


def test_trainjob_gets_storage_through_its_runtime_patch_and_secrets_through_trainer_env():
    s = JobSpec.create(
        name="j",
        runtime="torch-distributed",
        workers=2,
        code=Code("pass"),
        volumes=[Volume("data", "/data", read_only=True), Volume("ckpt", "/ckpt")],
        shm="2Gi",
        secret_env={"WANDB_API_KEY": "wandb:token"},
        resources=Resources(gpu=1),
        home=True,
    )
    m = render_trainjob(s, namespace="alice", image="img:1", home=HOME)
    # The Trainer refuses env in a patch of the node container; trainer.env takes EnvVars.
    assert m["spec"]["trainer"]["env"] == [{"name": "PYTHONUNBUFFERED", "value": "1"}, *ENV]
    (patch,) = m["spec"]["runtimePatches"]
    pod = patch["trainingRuntimeSpec"]["template"]["spec"]["replicatedJobs"][0]["template"]
    pod_spec = pod["spec"]["template"]["spec"]
    assert pod_spec["volumes"][2:] == VOLUMES
    (node,) = pod_spec["containers"]
    assert node["name"] == "node" and "env" not in node
    assert node["volumeMounts"][2:] == MOUNTS
    back = spec_from_cr(m, {"train.py": "pass"})
    assert back is not None and (back.volumes, back.home, back.shm) == (s.volumes, True, "2Gi")
    assert dict(back.secret_env) == {"WANDB_API_KEY": "wandb:token"}


def test_a_command_job_that_asks_for_nothing_keeps_its_images_layout():
    s = JobSpec.create("pytorch", name="j", command=["python", "-c", "1"])
    pod = render_job(s, namespace="a", image="i")["spec"]["pytorchReplicaSpecs"]["Master"]
    assert "volumes" not in pod["template"]["spec"]


def test_read_only_home_keeps_no_outputs():
    cr = render_job(
        JobSpec.create("pytorch", name="j", code=Code("pass"), home=True),
        namespace="a",
        image="i",
        home=HomeVolume("claim-a", "/home/jovyan", read_only=True),
    )
    (c,) = cr["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["containers"]
    assert {"name": "jkf-home", "mountPath": "/home/jovyan", "readOnly": True} in c["volumeMounts"]
    assert outputs_location(cr) is None


def test_gpu_shares_are_disjoint_and_refused_when_too_few():
    assert gpu_shares(["0", "1", "2", "3"], 2, 2) == [["0", "1"], ["2", "3"]]
    assert gpu_shares(["3", "5"], 2, 1) == [["3"], ["5"]]
    with pytest.raises(ValueError, match=r"2 in all\), and this machine has 0 GPUs"):
        gpu_shares([], 2, 1)
