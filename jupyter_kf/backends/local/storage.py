"""A local job's storage: the notebook's own folders stand for the cluster's volumes.

A pod sees a claim at its mount path; a local replica gets the same variables
(``JKF_VOLUME_<CLAIM>``, ``JKF_HOME``, ``JKF_OUTPUT_DIR``; jobs/storage.py) pointing at
folders of this machine: a volume's ``local`` folder, else its mount path when this machine
has it (a notebook pod that mounts the same claim), the notebook's home, ``<job>/outputs``.
A Secret's variable comes from the notebook's own environment: there are no Secrets here.
Each replica that asks for GPUs gets a disjoint ``CUDA_VISIBLE_DEVICES`` share.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import shutil
import subprocess
from pathlib import Path

from ...errors import InvalidSpecError
from ...jobs import JobSpec
from ...jobs.storage import gpu_shares, local_storage_env
from .layout import JobDir

ENV_VISIBLE = "CUDA_VISIBLE_DEVICES"


def outputs_dir(d: JobDir) -> Path:
    return d.path / "outputs"


def prepare(spec: JobSpec, processes: int) -> JobSpec:
    """``spec`` with its volumes' local folders made absolute (the supervisor runs in the
    job's folder), or ``InvalidSpecError`` naming every volume, secret or GPU it lacks."""
    problems: list[str] = []
    volumes = []
    for v in spec.volumes:
        folder = Path(v.local or v.mount).expanduser()
        if not folder.is_dir():
            problems.append(
                f"volume {v.claim!r}: {str(folder)!r} is not a folder on this machine; on the "
                f"local backend give the folder that stands for the claim, e.g. "
                f"Volume(claim={v.claim!r}, mount={v.mount!r}, local='data')"
            )
        volumes.append(dataclasses.replace(v, local=str(folder.resolve())))
    for name, ref in spec.secret_env.items():
        if name not in os.environ:
            problems.append(
                f"secret_env {name} ({ref}): the local backend has no Secrets; set {name} in "
                "the notebook's environment (os.environ) and the job's replicas inherit it"
            )
    if spec.resources.gpu:
        try:
            gpu_shares(available_gpus(), processes, spec.resources.gpu)
        except ValueError as exc:
            problems.append(str(exc))
    if problems:
        raise InvalidSpecError(problems)
    return dataclasses.replace(spec, volumes=tuple(volumes)) if volumes else spec


def replica_env(spec: JobSpec, d: JobDir, process: int, processes: int) -> dict[str, str]:
    """The storage and GPU variables of the ``process``-th of ``processes`` replicas."""
    out = outputs_dir(d)
    out.mkdir(exist_ok=True)
    env = local_storage_env(
        volumes=spec.volumes,
        home=str(Path.home()) if spec.home else None,
        outputs=str(out),
        gpus=spec.resources.gpu,
    )
    if spec.resources.gpu:
        shares = gpu_shares(available_gpus(), processes, spec.resources.gpu)
        env[ENV_VISIBLE] = ",".join(shares[process])
    return env


def available_gpus() -> tuple[str, ...]:
    """The GPUs this process may use: ``CUDA_VISIBLE_DEVICES`` when set, else what
    ``nvidia-smi`` lists; none without it."""
    visible = os.environ.get(ENV_VISIBLE)
    if visible is not None:
        return tuple(g.strip() for g in visible.split(",") if g.strip() and g.strip() != "-1")
    return _listed_gpus()


@functools.cache
def _listed_gpus() -> tuple[str, ...]:
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return ()
    try:
        done = subprocess.run(
            [smi, "--query-gpu=index", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ()
    if done.returncode != 0:
        return ()
    return tuple(line.strip() for line in done.stdout.splitlines() if line.strip().isdigit())
