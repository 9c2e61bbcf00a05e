"""A ``JobSpec`` as the Training Operator's manifest, and where its code ships: inside the
manifest (small code) or in a ConfigMap.

Pure functions returning plain dicts: no client, no I/O, the caller's arguments never
mutated. tests/unit compares them with literal manifests.
"""

from __future__ import annotations

from typing import Any

from .kinds import API_VERSION, kind_info
from .parts import CODE_ANNOTATION_PREFIX
from .scheduling import cr_annotations, pod_scheduling
from .spec import CODE_MOUNT, JobSpec
from .storage import HomeVolume, PodStorage, pod_storage


def uses_storage(spec: JobSpec) -> bool:
    return bool(spec.volumes or spec.home or spec.shm or spec.secret_env)


MANAGED_BY = "jupyter-kf"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
CODE_VOLUME = "code"
WORK_VOLUME = "work"
# The working directory of a job that ships code: an empty, writable folder of its own beside
# the read-only code mount (a ConfigMap or downwardAPI volume is always read-only), so a script can write
# checkpoints and outputs to relative paths. The shipped modules stay importable: the script
# runs from the code mount, and Python puts its folder first on sys.path (inherited by
# multiprocessing's children). No PYTHONPATH is set: it would replace the image's own.
# The local backend does the same with <job>/work beside <job>/code.
WORK_DIR = "/opt/jupyter-kf/work"


# Small code travels inside the job itself, as pod annotations that a downwardAPI volume
# turns back into files at the code mount: one request makes the job, with no ConfigMap to
# create after it (which needs the job's uid for its owner, so could not go alongside). A
# pod's annotations may hold 256 KiB in all, the operator copies them to every pod, and
# each replica's template carries them: beyond this size the code goes in a ConfigMap.
INLINE_CODE_MAX = 64 * 1024


def code_configmap_name(job: str) -> str:
    return f"{job}-code"


def code_inline(spec: JobSpec) -> bool:
    """Whether ``spec``'s code ships inside its (v1) manifest rather than in a ConfigMap."""
    if spec.code is None or kind_info(spec.kind).is_trainjob:
        return False
    return sum(len(text.encode()) for text in spec.code.all_files().values()) <= INLINE_CODE_MAX


def code_annotation(index: int) -> str:
    return f"{CODE_ANNOTATION_PREFIX}f{index}"


def code_keys(spec: JobSpec) -> list[tuple[str, str]]:
    """(ConfigMap key, path under the code mount) for every shipped file, in a fixed order.

    ConfigMap keys may not hold '/', so each file gets an indexed key and its real path is
    restored by the volume's ``items``.
    """
    if spec.code is None:
        return []
    paths = sorted(spec.code.all_files())
    return [(f"f{i}-{path.rsplit('/', 1)[-1]}", path) for i, path in enumerate(paths)]


def worker_command(
    spec: JobSpec, role: str, *, python: str = "python", code_dir: str = CODE_MOUNT
) -> list[str]:
    """The command replica ``role`` runs. Locally ``python`` is the notebook's interpreter."""
    if spec.code is None:
        return list(spec.command)
    script = [python, "-u", f"{code_dir}/{spec.code.filename}", *spec.code.args]
    info = spec.info
    if info.leader_runs_ranks:
        if role in info.leaders:
            slots = spec.slots_per_worker or 1
            ranks = spec.replicas.get(info.worker_role, 0) * slots
            return ["mpirun", "-np", str(ranks), *script]
        # Workers only host the ranks mpirun starts in them; they wait to be reached.
        return ["sleep", "365d"]
    return script


def resources_of(spec: JobSpec) -> dict[str, dict[str, str]]:
    r = spec.resources
    requests: dict[str, str] = {}
    limits: dict[str, str] = {}
    if r.cpu is not None:
        requests["cpu"] = limits["cpu"] = str(r.cpu)
    if r.memory is not None:
        requests["memory"] = limits["memory"] = str(r.memory)
    if r.gpu:
        # Extended resources are limits only; Kubernetes copies the limit to the request.
        limits["nvidia.com/gpu"] = str(r.gpu)
    out: dict[str, dict[str, str]] = {}
    if requests:
        out["requests"] = requests
    if limits:
        out["limits"] = limits
    return out


def storage_of(spec: JobSpec, home: HomeVolume | None) -> PodStorage | None:
    """The pod parts of the job's storage (jobs/storage.py), for a job that ships code or asks
    for storage; a bare command job keeps its image's layout (None). ``home``: the notebook's
    home claim, which the backend looks up when the spec asks for it (``spec.home``)."""
    if spec.code is None and not uses_storage(spec):
        return None
    if spec.home and home is None:
        raise ValueError("the job mounts the home volume: the backend must say which claim")
    return pod_storage(
        job=spec.name,
        volumes=spec.volumes,
        home=home if spec.home else None,
        shm=spec.shm,
        secret_env=spec.secret_env,
        gpus=spec.resources.gpu,
    )


def render_job(
    spec: JobSpec, *, namespace: str, image: str, home: HomeVolume | None = None
) -> dict[str, Any]:
    """The CR for ``spec`` in ``namespace``; ``image`` is used where the spec names none;
    ``home`` is the notebook's home claim, for a spec with ``home=True``."""
    info = kind_info(spec.kind)
    labels = {**spec.labels, LABEL_MANAGED_BY: MANAGED_BY}
    metadata: dict[str, Any] = {"name": spec.name, "namespace": namespace, "labels": labels}
    if spec.annotations or spec.profile:
        metadata["annotations"] = cr_annotations(spec.annotations, spec.profile)
    restart = spec.restart_policy or info.default_restart_policy
    replica_specs = {}
    for role in info.roles:
        count = spec.replicas.get(role)
        if count is None:
            continue
        replica_specs[role] = {
            "replicas": count,
            "restartPolicy": restart,
            "template": _pod_template(spec, role, image=spec.image or image, home=home),
        }
    # runPolicy is written even when empty: the kubeflow-training SDK refuses jobs without it.
    body: dict[str, Any] = {info.replica_specs_field: replica_specs, "runPolicy": _run_policy(spec)}
    # Validation lets these through only on the kinds whose CRD has them (KindInfo.options).
    if spec.nproc_per_node is not None:
        body["nprocPerNode"] = spec.nproc_per_node
    if spec.elastic_policy is not None:
        e = spec.elastic_policy
        elastic: dict[str, Any] = {"rdzvBackend": e.rdzv_backend}
        for key, value in (
            ("minReplicas", e.min_replicas),
            ("maxReplicas", e.max_replicas),
            ("maxRestarts", e.max_restarts),
        ):
            if value is not None:
                elastic[key] = value
        body["elasticPolicy"] = elastic
    if spec.slots_per_worker is not None:
        body["slotsPerWorker"] = spec.slots_per_worker
    return {"apiVersion": API_VERSION, "kind": info.kind, "metadata": metadata, "spec": body}


def _run_policy(spec: JobSpec) -> dict[str, Any]:
    """The operator's runPolicy. backoffLimit is written whenever the spec has one, the
    default included (RunPolicy.backoff_limit): the operator's own default is no limit, under
    which a crashing job restarts forever. None (no limit) leaves it out."""
    rp = spec.run_policy
    out: dict[str, Any] = {}
    for key, value in (
        ("cleanPodPolicy", rp.clean_pod_policy),
        ("ttlSecondsAfterFinished", rp.ttl_seconds_after_finished),
        ("activeDeadlineSeconds", rp.active_deadline_seconds),
        ("backoffLimit", rp.backoff_limit),
    ):
        if value is not None:
            out[key] = value
    if rp.suspend:
        out["suspend"] = True
    return out


def _pod_template(
    spec: JobSpec, role: str, *, image: str, home: HomeVolume | None
) -> dict[str, Any]:
    info = kind_info(spec.kind)
    container: dict[str, Any] = {
        "name": info.container,
        "image": image,
        "command": worker_command(spec, role),
        "ports": [{"name": info.port_name, "containerPort": info.port}],
        # A container that fails puts the end of its log in its terminated state's message,
        # so the job's status can say why it failed without reading logs (jobs/explain.py).
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    if spec.env:
        container["env"] = [{"name": k, "value": v} for k, v in sorted(spec.env.items())]
    resources = resources_of(spec)
    if resources:
        container["resources"] = resources
    # The pod's pause process is PID 1, not the worker: a PID 1 gets no signal it has no
    # handler for, so python would ignore the SIGTERM of a delete, scale or suspend and run on
    # until the grace period's SIGKILL (30 s). As its own process's, SIGTERM stops it at once,
    # as it does a local worker (backends/local/supervisor.py).
    pod: dict[str, Any] = {"shareProcessNamespace": True, "containers": [container]}
    pod.update(pod_scheduling(spec.node_selector, spec.tolerations, spec.priority_class))
    annotations = dict(spec.pod_annotations)
    if spec.code is not None:
        # A job without code keeps its image's working directory.
        container["workingDir"] = WORK_DIR
        container["volumeMounts"] = [
            {"name": CODE_VOLUME, "mountPath": CODE_MOUNT, "readOnly": True},
            {"name": WORK_VOLUME, "mountPath": WORK_DIR},
        ]
        pod["volumes"] = [
            _code_volume(spec, annotations),
            # Kept across the container's restarts (OnFailure), new with each pod.
            {"name": WORK_VOLUME, "emptyDir": {}},
        ]
    storage = storage_of(spec, home)
    if storage:
        container["env"] = [*container.get("env", []), *storage.env]
        container["volumeMounts"] = [*container.get("volumeMounts", []), *storage.mounts]
        pod["volumes"] = [*pod.get("volumes", []), *storage.volumes]
    metadata: dict[str, Any] = {"labels": {**spec.pod_labels, LABEL_MANAGED_BY: MANAGED_BY}}
    if annotations:
        metadata["annotations"] = annotations
    return {"metadata": metadata, "spec": pod}


def _code_volume(spec: JobSpec, annotations: dict[str, str]) -> dict[str, Any]:
    """The code mount's volume; inline code also goes into ``annotations``."""
    if not code_inline(spec):
        return {
            "name": CODE_VOLUME,
            "configMap": {
                "name": code_configmap_name(spec.name),
                "items": [{"key": key, "path": path} for key, path in code_keys(spec)],
            },
        }
    assert spec.code is not None  # code_inline says so
    files = spec.code.all_files()
    items = []
    for i, (_, path) in enumerate(code_keys(spec)):
        annotations[code_annotation(i)] = files[path]
        field = f"metadata.annotations['{code_annotation(i)}']"
        items.append({"path": path, "fieldRef": {"fieldPath": field}})
    return {"name": CODE_VOLUME, "downwardAPI": {"items": items}}


def render_code_configmap(spec: JobSpec, *, namespace: str) -> dict[str, Any] | None:
    """The ConfigMap holding the job's code, or None when the job ships none or carries it
    inline (``code_inline``).

    The Kubernetes backend adds an ownerReference to the job, so the cluster's garbage
    collector removes it with the job.
    """
    if spec.code is None or code_inline(spec):
        return None
    files = spec.code.all_files()
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": code_configmap_name(spec.name),
            "namespace": namespace,
            "labels": {LABEL_MANAGED_BY: MANAGED_BY, "training.kubeflow.org/job-name": spec.name},
        },
        "data": {key: files[path] for key, path in code_keys(spec)},
    }
