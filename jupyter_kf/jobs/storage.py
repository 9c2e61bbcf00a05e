"""What a job reads and keeps: volumes, the user's home volume, shared memory, secrets as env,
its outputs directory, and which PyTorch backend its GPUs call for.

Pure: the backends resolve what needs the cluster or the disk (the home claim's name, a
claim's access modes, local folders) and hand it in. ``pod_storage`` gives the pod parts
(volumes, mounts, env) that render.py puts in a v1 pod template and trainjob.py in the
TrainJob's runtime patch; ``local_storage_env`` gives the local backend the same variables
over the notebook's own folders, so a script that reads them runs unchanged in both.

The variables every worker sees (docs/data-and-outputs.md):

- ``JKF_OUTPUT_DIR`` the job's outputs: ``<job>/outputs`` locally; on a cluster
  ``/opt/jupyter-kf/outputs``, a sub-folder ``jupyter-kf/outputs/<job>`` of the home volume
  (else of the first read-write volume) mounted there, or an emptyDir when there is none.
- ``JKF_HOME`` the user's home volume (``home=True``): the same path the notebook has.
- ``JKF_VOLUME_<CLAIM>`` each volume's path (claim ``my-data`` -> ``JKF_VOLUME_MY_DATA``).
- ``JKF_DIST_BACKEND`` ``nccl`` when the job asks for GPUs, else ``gloo``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .quantities import parse_quantity

OUTPUT_DIR = "/opt/jupyter-kf/outputs"  # JKF_OUTPUT_DIR in every pod
OUTPUTS_VOLUME = "outputs"
SHM_VOLUME = "dshm"
SHM_PATH = "/dev/shm"
HOME_VOLUME = "jkf-home"
ENV_OUTPUT_DIR = "JKF_OUTPUT_DIR"
ENV_HOME = "JKF_HOME"
ENV_VOLUME_PREFIX = "JKF_VOLUME_"
ENV_DIST_BACKEND = "JKF_DIST_BACKEND"
RESERVED_PREFIX = "JKF_"  # every variable above; a user's env may not set them


def outputs_subpath(job: str) -> str:
    """Where a job's outputs lie on the volume that keeps them (home or a claim)."""
    return f"jupyter-kf/outputs/{job}"


DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
# Paths a volume may not cover: the code and work dirs, the outputs, /dev/shm, and roots a
# container cannot live without.
TAKEN_PATHS = ("/opt/jupyter-kf", SHM_PATH, "/dev", "/proc", "/sys", "/etc", "/usr", "/bin")


@dataclass(frozen=True)
class Volume:
    """A PersistentVolumeClaim of the user's namespace, mounted at ``mount`` in every replica.

    ``local`` is the folder that stands for it on the local backend (default: ``mount``
    itself, which exists when the notebook runs in a pod that mounts the same claim).
    """

    claim: str
    mount: str
    read_only: bool = False
    local: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"claim": self.claim, "mount": self.mount}
        if self.read_only:
            out["read_only"] = True
        if self.local is not None:
            out["local"] = self.local
        return out

    @property
    def env_name(self) -> str:
        return ENV_VOLUME_PREFIX + re.sub(r"[^A-Z0-9]", "_", self.claim.upper())


@dataclass(frozen=True)
class HomeVolume:
    """The notebook's home claim as the backend found it, and where the notebook mounts it."""

    claim: str
    mount: str
    read_only: bool = False  # its access modes allow no writer beside the notebook


def parse_volume(text: str) -> Volume:
    """``--volume claim:/path[:ro|:rw]`` as a ``Volume``; ValueError says what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("a volume is written claim:/path or claim:/path:ro")
    parts = text.strip().split(":")
    read_only = False
    if len(parts) == 3 and parts[2] in ("ro", "rw"):
        read_only = parts[2] == "ro"
        parts = parts[:2]
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise ValueError(
            f"volume {text!r} is not claim:/path[:ro]: e.g. 'data:/data' or 'data:/data:ro' "
            "(claim: a PersistentVolumeClaim in your namespace)"
        )
    volume = Volume(claim=parts[0], mount=parts[1], read_only=read_only)
    problems = volume_problems([volume])
    if problems:
        raise ValueError("; ".join(problems))
    return volume


def parse_secret_env(text: str) -> tuple[str, str]:
    """``--secret-env NAME=secret:key`` as ``(NAME, "secret:key")``."""
    name, sep, ref = (text or "").partition("=")
    if not sep or not name.strip():
        raise ValueError(
            f"secret env {text!r} is not NAME=secret:key, e.g. WANDB_API_KEY=wandb:token"
        )
    problems = secret_env_problems({name.strip(): ref.strip()})
    if problems:
        raise ValueError("; ".join(problems))
    return name.strip(), ref.strip()


def secret_ref(ref: str) -> tuple[str, str]:
    """``"secret:key"`` as (secret, key); the spec checked it (``secret_env_problems``)."""
    secret, _, key = ref.partition(":")
    return secret, key


# -- validation (called by validation.py) ---------------------------------------------------
def volume_problems(volumes: Sequence[Any]) -> list[str]:
    problems: list[str] = []
    mounts: set[str] = set()
    claims: set[str] = set()
    for v in volumes:
        if not isinstance(v, Volume):
            problems.append(f"a volume must be a Volume(claim=..., mount=...), not {v!r}")
            continue
        if (
            not isinstance(v.claim, str)
            or len(v.claim) > 253
            or not DNS1123_SUBDOMAIN.match(v.claim)
        ):
            problems.append(
                f"volume claim {v.claim!r} is not a PersistentVolumeClaim name (lower-case "
                "letters, digits, '-' and '.'); a claim of another namespace cannot be mounted"
            )
        elif v.claim in claims:
            problems.append(f"volume claim {v.claim!r} is given twice: mount it once")
        else:
            claims.add(v.claim)
        mount = v.mount
        if not isinstance(mount, str) or not mount.startswith("/") or ":" in mount:
            problems.append(
                f"volume {v.claim!r}: mount path {mount!r} must be absolute, like /data"
            )
            continue
        norm = "/" + "/".join(p for p in mount.split("/") if p)
        if ".." in norm.split("/") or norm == "/":
            problems.append(f"volume {v.claim!r}: mount path {mount!r} is not a folder of its own")
        elif any(
            norm == t or norm.startswith(t + "/") or t.startswith(norm + "/") for t in TAKEN_PATHS
        ):
            problems.append(
                f"volume {v.claim!r}: mount path {mount!r} overlaps a path jupyter-kf or the "
                f"container needs ({', '.join(TAKEN_PATHS)}); choose another, like /data"
            )
        elif norm in mounts:
            problems.append(f"two volumes are mounted at {mount!r}")
        mounts.add(norm)
        if not isinstance(v.read_only, bool):
            problems.append(f"volume {v.claim!r}: read_only must be true or false")
        if v.local is not None and (not isinstance(v.local, str) or not v.local.strip()):
            problems.append(f"volume {v.claim!r}: local must be a folder path")
    return problems


def secret_env_problems(secret_env: Any) -> list[str]:
    if not isinstance(secret_env, Mapping):
        return ["secret_env must map variable names to 'secret:key'"]
    problems = []
    for name, ref in secret_env.items():
        if not isinstance(ref, str) or ref.count(":") != 1:
            problems.append(
                f"secret_env {name}: {ref!r} is not 'secret:key' (a Secret in your own "
                "namespace and one of its keys), e.g. 'wandb:token'"
            )
            continue
        secret, key = secret_ref(ref)
        if "/" in secret:
            problems.append(
                f"secret_env {name}: {secret!r} names another namespace; a job reads Secrets "
                "of its own namespace only"
            )
        elif not secret or len(secret) > 253 or not DNS1123_SUBDOMAIN.match(secret):
            problems.append(f"secret_env {name}: {secret!r} is not a Secret name")
        if not key or not SECRET_KEY.match(key):
            problems.append(f"secret_env {name}: key {key!r} is not a Secret key")
    return problems


def shm_problems(shm: Any) -> list[str]:
    if shm is None:
        return []
    try:
        if not isinstance(shm, str):  # 5 would be five bytes: surely not what was meant
            raise TypeError(shm)
        amount = parse_quantity(shm)
    except (ValueError, TypeError):
        return [f"shm {shm!r} is not a size: give a Kubernetes quantity, e.g. '2Gi' or '512Mi'"]
    return [] if amount > 0 else [f"shm must be more than zero, not {shm!r}"]


# -- what the pods get --------------------------------------------------------------------
@dataclass(frozen=True)
class PodStorage:
    volumes: list[dict[str, Any]]
    mounts: list[dict[str, Any]]
    env: list[dict[str, Any]]


def dist_backend(gpus: int) -> str:
    """PyTorch's process-group backend for a replica with ``gpus`` GPUs."""
    return "nccl" if gpus else "gloo"


def outputs_claim(volumes: Sequence[Volume], home: HomeVolume | None) -> tuple[str, str] | None:
    """(volume name in the pod, claim) that keeps the outputs: home, else the first read-write
    volume; None when the job has neither (its outputs live as long as its pod)."""
    if home is not None and not home.read_only:
        return HOME_VOLUME, home.claim
    for i, v in enumerate(volumes):
        if not v.read_only:
            return volume_name(i), v.claim
    return None


def volume_name(index: int) -> str:
    return f"jkf-vol-{index}"


def pod_storage(
    *,
    job: str,
    volumes: Sequence[Volume],
    home: HomeVolume | None,
    shm: str | None,
    secret_env: Mapping[str, str],
    gpus: int,
) -> PodStorage:
    """The pod volumes, the main container's mounts and env for a job's storage."""
    pod_volumes: list[dict[str, Any]] = []
    mounts: list[dict[str, Any]] = []
    env: list[dict[str, Any]] = []
    if home is not None:
        home_claim: dict[str, Any] = {"claimName": home.claim}
        home_mount: dict[str, Any] = {"name": HOME_VOLUME, "mountPath": home.mount}
        if home.read_only:
            home_claim["readOnly"] = home_mount["readOnly"] = True
        pod_volumes.append({"name": HOME_VOLUME, "persistentVolumeClaim": home_claim})
        mounts.append(home_mount)
        env.append({"name": ENV_HOME, "value": home.mount})
    for i, v in enumerate(volumes):
        claim: dict[str, Any] = {"claimName": v.claim}
        mount: dict[str, Any] = {"name": volume_name(i), "mountPath": v.mount}
        if v.read_only:
            claim["readOnly"] = True
            mount["readOnly"] = True
        pod_volumes.append({"name": volume_name(i), "persistentVolumeClaim": claim})
        mounts.append(mount)
        env.append({"name": v.env_name, "value": v.mount})
    keeper = outputs_claim(volumes, home)
    if keeper is None:
        pod_volumes.append({"name": OUTPUTS_VOLUME, "emptyDir": {}})
        mounts.append({"name": OUTPUTS_VOLUME, "mountPath": OUTPUT_DIR})
    else:
        # A volume of its own on the same claim: a TrainJob's patch keys mounts by volume
        # name, so one volume cannot be mounted twice there. The kubelet makes the
        # sub-folder when it is missing, so the job finds it there.
        pod_volumes.append(
            {"name": OUTPUTS_VOLUME, "persistentVolumeClaim": {"claimName": keeper[1]}}
        )
        mounts.append(
            {"name": OUTPUTS_VOLUME, "mountPath": OUTPUT_DIR, "subPath": outputs_subpath(job)}
        )
    env.append({"name": ENV_OUTPUT_DIR, "value": OUTPUT_DIR})
    if shm is not None:
        pod_volumes.append({"name": SHM_VOLUME, "emptyDir": {"medium": "Memory", "sizeLimit": shm}})
        mounts.append({"name": SHM_VOLUME, "mountPath": SHM_PATH})
    env.append({"name": ENV_DIST_BACKEND, "value": dist_backend(gpus)})
    for name in sorted(secret_env):
        # No namespace field exists here: the kubelet resolves the Secret in the pod's own.
        secret, key = secret_ref(secret_env[name])
        env.append({"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}})
    return PodStorage(pod_volumes, mounts, env)


def outputs_mount(mounts: Sequence[Mapping[str, Any]]) -> tuple[str, str] | None:
    """(pod volume name, sub-folder) that keeps a pod's outputs, from its container's mounts;
    None when they are on an emptyDir (or the pod is not jupyter-kf's)."""
    for m in mounts:
        if m.get("mountPath") == OUTPUT_DIR and m.get("subPath"):
            return str(m.get("name")), str(m["subPath"])
    return None


def local_storage_env(
    *,
    volumes: Sequence[Volume],
    home: str | None,
    outputs: str,
    gpus: int,
) -> dict[str, str]:
    """The same variables on the local backend: each volume's local folder (``local``, else
    its mount path as this machine has it), the notebook's home, ``<job>/outputs``."""
    env = {ENV_OUTPUT_DIR: outputs, ENV_DIST_BACKEND: dist_backend(gpus)}
    if home is not None:
        env[ENV_HOME] = home
    for v in volumes:
        env[v.env_name] = v.local or v.mount
    return env


def gpu_shares(available: Sequence[str], replicas: int, per_replica: int) -> list[list[str]]:
    """Disjoint ``CUDA_VISIBLE_DEVICES`` shares, one per replica, of the ``available`` GPUs;
    ValueError when there are too few."""
    need = replicas * per_replica
    if need > len(available):
        found = f"{len(available)} GPU{'s' if len(available) != 1 else ''}"
        raise ValueError(
            f"the job asks for {per_replica} GPU(s) for each of its {replicas} replicas "
            f"({need} in all), and this machine has {found}"
            + ("" if available else " (nvidia-smi lists none)")
            + ": ask for fewer GPUs or workers, or run it on a cluster"
        )
    return [list(available[i * per_replica : (i + 1) * per_replica]) for i in range(replicas)]
