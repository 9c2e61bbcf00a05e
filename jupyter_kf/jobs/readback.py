"""A job's ``JobSpec`` read back from its CR: for jobs jupyter-kf did not create (the kubeflow
SDK's, kubectl's) and for ours after a restart, so any job can be cloned and run again.

Pure: the CR (and the files of its code ConfigMap, which the caller reads, unless the code
is inline) in, a spec out.
What a spec cannot say (a sidecar, a volume of someone else's, an env var from a secret) is
left out; a CR that does not make a valid spec gives None.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import InvalidSpecError
from .kinds import RESERVED_ENV, kind_info
from .parts import CODE_ANNOTATION_PREFIX, Code, ElasticPolicy, Resources, RunPolicy
from .render import CODE_VOLUME, LABEL_MANAGED_BY, WORK_DIR
from .scheduling import ANNOTATION_PROFILE, placement_of
from .spec import CODE_MOUNT, JobSpec
from .storage import (
    HOME_VOLUME,
    RESERVED_PREFIX,
    SHM_VOLUME,
    Volume,
    outputs_mount,
    volume_name,
)
from .trainjob import PATCH_MANAGER

GPU = "nvidia.com/gpu"


def code_files_of(cr: Mapping[str, Any]) -> tuple[str, list[tuple[str, str]]] | None:
    """(the ConfigMap's name, [(key, path)]) of the code volume jupyter-kf mounted, or None."""
    for pod in _pod_specs(cr):
        for volume in pod.get("volumes") or ():
            cm = volume.get("configMap") if volume.get("name") == CODE_VOLUME else None
            if cm and cm.get("name"):
                items = [(i.get("key", ""), i.get("path", "")) for i in cm.get("items") or ()]
                return cm["name"], items
    return None


def inline_code_of(cr: Mapping[str, Any]) -> dict[str, str] | None:
    """The files of code carried inline (pod annotations behind a downwardAPI code volume,
    render.code_inline), by path; None when the code is not inline."""
    if cr.get("kind") == "TrainJob":
        return None
    info = kind_info(str(cr.get("kind", "")))
    for rs in ((cr.get("spec") or {}).get(info.replica_specs_field) or {}).values():
        template = (rs or {}).get("template") or {}
        annotations = (template.get("metadata") or {}).get("annotations") or {}
        for volume in (template.get("spec") or {}).get("volumes") or ():
            inline = volume.get("downwardAPI") if volume.get("name") == CODE_VOLUME else None
            if not inline:
                continue
            files = {}
            for item in inline.get("items") or ():
                field = (item.get("fieldRef") or {}).get("fieldPath", "")
                key = field.removeprefix("metadata.annotations['").removesuffix("']")
                if key.startswith(CODE_ANNOTATION_PREFIX) and key in annotations:
                    files[str(item.get("path", ""))] = str(annotations[key])
            return files
    return None


def outputs_location(cr: Mapping[str, Any]) -> tuple[str, str] | None:
    """(claim, sub-folder) where a job's outputs are kept, or None (an emptyDir, or no
    outputs directory at all)."""
    for pod in _pod_specs(cr):
        claims = {
            v.get("name"): (v.get("persistentVolumeClaim") or {}).get("claimName")
            for v in pod.get("volumes") or ()
        }
        for container in pod.get("containers") or ():
            found = outputs_mount(container.get("volumeMounts") or ())
            if found is not None and claims.get(found[0]):
                return str(claims[found[0]]), found[1]
    return None


def _pod_specs(cr: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    spec = cr.get("spec") or {}
    if cr.get("kind") == "TrainJob":
        out = []
        for patch in spec.get("runtimePatches") or ():
            if patch.get("manager") != PATCH_MANAGER:
                continue
            rs = ((patch.get("trainingRuntimeSpec") or {}).get("template") or {}).get("spec") or {}
            for job in rs.get("replicatedJobs") or ():
                pod = ((job.get("template") or {}).get("spec") or {}).get("template") or {}
                out.append(pod.get("spec") or {})
        return out
    info = kind_info(str(cr.get("kind", "")))
    return [
        ((rs or {}).get("template") or {}).get("spec") or {}
        for rs in (spec.get(info.replica_specs_field) or {}).values()
    ]


def _code(command: Sequence[str], files: Mapping[str, str] | None) -> tuple[Code | None, list[str]]:
    """The shipped code a command runs (and the command itself when it runs none)."""
    prefix = f"{CODE_MOUNT}/"
    script = next((i for i, part in enumerate(command) if part.startswith(prefix)), None)
    if script is None or files is None:
        return None, list(command)
    filename = command[script][len(prefix) :]
    if filename not in files:
        return None, list(command)
    others = {path: text for path, text in files.items() if path != filename}
    code = Code(
        source=files[filename],
        filename=filename,
        args=tuple(command[script + 1 :]),
        origin="file",
        files=others,
    )
    return code, []


def _env(entries: Sequence[Mapping[str, Any]] | None) -> dict[str, str]:
    return {
        e["name"]: str(e["value"])
        for e in entries or ()
        if "value" in e
        and e.get("name")
        and e["name"] not in RESERVED_ENV
        and not e["name"].startswith(RESERVED_PREFIX)
    }


def _storage(
    pod: Mapping[str, Any], mounts: Sequence[Mapping[str, Any]], env: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The storage fields of a spec from what jupyter-kf put in the pod (jobs/storage.py)."""
    by_name = {v.get("name"): v for v in pod.get("volumes") or ()}
    mount_of = {m.get("name"): m for m in mounts if not m.get("subPath")}
    volumes = []
    i = 0
    while volume_name(i) in by_name and volume_name(i) in mount_of:
        claim = by_name[volume_name(i)].get("persistentVolumeClaim") or {}
        mount = mount_of[volume_name(i)]
        volumes.append(
            Volume(
                claim=claim.get("claimName", ""),
                mount=mount.get("mountPath", ""),
                read_only=bool(mount.get("readOnly")),
            )
        )
        i += 1
    shm = ((by_name.get(SHM_VOLUME) or {}).get("emptyDir") or {}).get("sizeLimit")
    secret_env = {}
    for e in env:
        ref = (e.get("valueFrom") or {}).get("secretKeyRef")
        if ref and e.get("name"):
            secret_env[e["name"]] = f"{ref.get('name')}:{ref.get('key')}"
    return {
        "volumes": tuple(volumes),
        "home": HOME_VOLUME in by_name,
        "shm": str(shm) if shm is not None else None,
        "secret_env": secret_env,
    }


def _resources(res: Mapping[str, Any] | None) -> Resources:
    res = res or {}
    limits, requests = res.get("limits") or {}, res.get("requests") or {}
    gpu = limits.get(GPU) or requests.get(GPU)
    cpu, memory = (
        limits.get("cpu") or requests.get("cpu"),
        limits.get("memory") or requests.get("memory"),
    )
    return Resources(
        cpu=str(cpu) if cpu is not None else None,
        memory=str(memory) if memory is not None else None,
        gpu=int(gpu) if gpu is not None and str(gpu).isdigit() else 0,
    )


def _mine(labels: Mapping[str, Any] | None) -> dict[str, str]:
    """Labels or annotations the user gave: not jupyter-kf's own, not kubectl's bookkeeping."""
    return {
        k: str(v)
        for k, v in (labels or {}).items()
        if k not in (LABEL_MANAGED_BY, ANNOTATION_PROFILE)
        and not k.startswith(("kubectl.kubernetes.io/", CODE_ANNOTATION_PREFIX))
    }


def spec_from_cr(cr: Mapping[str, Any], files: Mapping[str, str] | None = None) -> JobSpec | None:
    """The spec that makes ``cr`` again (``files``: its code by path, from its ConfigMap;
    inline code is read from the CR itself)."""
    try:
        if cr.get("kind") == "TrainJob":
            return _trainjob(cr, files)
        inline = inline_code_of(cr)
        return _v1(cr, files if inline is None else inline)
    except (InvalidSpecError, KeyError, TypeError, ValueError):
        return None


def _v1(cr: Mapping[str, Any], files: Mapping[str, str] | None) -> JobSpec:
    info = kind_info(str(cr["kind"]))
    meta, spec = cr.get("metadata") or {}, cr.get("spec") or {}
    specs = spec.get(info.replica_specs_field) or {}
    replicas = {role: int((rs or {}).get("replicas", 1)) for role, rs in specs.items()}
    # The leader's template says what the job runs (a worker of MPI only sleeps).
    role = info.leader_of(replicas) or info.worker_role
    rs = specs.get(role) or next(iter(specs.values()))
    template = rs.get("template") or {}
    containers = (template.get("spec") or {}).get("containers") or []
    container = next((c for c in containers if c.get("name") == info.container), containers[0])
    command = [*(container.get("command") or ()), *(container.get("args") or ())]
    if info.leader_runs_ranks and command[:1] == ["mpirun"]:
        command = command[3:]  # mpirun -np N ...
    code, command = _code(command, files)
    rp = spec.get("runPolicy") or {}
    elastic = spec.get("elasticPolicy")
    storage = _storage(
        template.get("spec") or {}, container.get("volumeMounts") or (), container.get("env") or ()
    )
    return JobSpec(
        name=meta["name"],
        kind=info.kind,
        replicas=replicas,
        code=code,
        command=tuple(command),
        image=container.get("image"),
        env=_env(container.get("env")),
        resources=_resources(container.get("resources")),
        # The kind's own default reads back as "the default", as the spec said it.
        restart_policy=None
        if rs.get("restartPolicy") in (None, info.default_restart_policy)
        else rs["restartPolicy"],
        run_policy=RunPolicy(
            clean_pod_policy=rp.get("cleanPodPolicy"),
            ttl_seconds_after_finished=rp.get("ttlSecondsAfterFinished"),
            active_deadline_seconds=rp.get("activeDeadlineSeconds"),
            backoff_limit=rp.get("backoffLimit"),
            suspend=bool(rp.get("suspend")),
        ),
        elastic_policy=ElasticPolicy(
            min_replicas=elastic.get("minReplicas"),
            max_replicas=elastic.get("maxReplicas"),
            rdzv_backend=elastic.get("rdzvBackend", "c10d"),
            max_restarts=elastic.get("maxRestarts"),
        )
        if elastic
        else None,
        nproc_per_node=spec.get("nprocPerNode"),
        slots_per_worker=spec.get("slotsPerWorker"),
        labels=_mine(meta.get("labels")),
        annotations=_mine(meta.get("annotations")),
        pod_labels=_mine((template.get("metadata") or {}).get("labels")),
        pod_annotations=_mine((template.get("metadata") or {}).get("annotations")),
        **storage,
        **placement_of(template.get("spec") or {}, meta.get("annotations") or {}),
    )


def _trainjob(cr: Mapping[str, Any], files: Mapping[str, str] | None) -> JobSpec:
    meta, spec = cr.get("metadata") or {}, cr.get("spec") or {}
    trainer = spec.get("trainer") or {}
    command = [*(trainer.get("command") or ()), *(trainer.get("args") or ())]
    if command[:3] == ["env", "-C", WORK_DIR]:
        command = command[3:]
    code, command = _code(command, files)
    env = _env(trainer.get("env"))
    if code is not None and env.get("PYTHONUNBUFFERED") == "1":
        del env["PYTHONUNBUFFERED"]  # what jupyter-kf adds to shipped code
    ref = spec.get("runtimeRef") or {}
    pod_meta: Mapping[str, Any] = {}
    pod_spec: Mapping[str, Any] = {}
    for patch in spec.get("runtimePatches") or ():
        if patch.get("manager") == PATCH_MANAGER:
            rs = ((patch.get("trainingRuntimeSpec") or {}).get("template") or {}).get("spec") or {}
            for job in rs.get("replicatedJobs") or ():
                pod = ((job.get("template") or {}).get("spec") or {}).get("template") or {}
                pod_meta = pod.get("metadata") or pod_meta
                pod_spec = pod.get("spec") or pod_spec
    node: Mapping[str, Any] = next(iter(pod_spec.get("containers") or ()), {})
    storage = _storage(pod_spec, node.get("volumeMounts") or (), trainer.get("env") or ())
    nproc = trainer.get("numProcPerNode")
    return JobSpec(
        name=meta["name"],
        kind="TrainJob",
        replicas={"Node": int(trainer.get("numNodes") or 1)},
        code=code,
        command=tuple(command),
        image=trainer.get("image"),
        env=env,
        resources=_resources(trainer.get("resourcesPerNode")),
        run_policy=RunPolicy(
            backoff_limit=None,
            active_deadline_seconds=spec.get("activeDeadlineSeconds"),
            suspend=bool(spec.get("suspend")),
        ),
        nproc_per_node=str(nproc) if nproc is not None else None,
        labels=_mine(meta.get("labels")),
        annotations=_mine(meta.get("annotations")),
        pod_labels=_mine(pod_meta.get("labels")),
        pod_annotations=_mine(pod_meta.get("annotations")),
        runtime=ref.get("name"),
        runtime_kind=None if ref.get("kind") in (None, "ClusterTrainingRuntime") else ref["kind"],
        **storage,
        **placement_of(pod_spec, meta.get("annotations") or {}),
    )
