"""A ``JobSpec`` of kind TrainJob as Kubeflow Trainer v2's manifest, and its status.

Pure functions on plain dicts, like render.py for the v1 kinds. What jupyter-kf adds to a
TrainJob's pods (the code volume, the writable work dir, pod labels and annotations) goes
into one ``spec.runtimePatches`` entry of its own (manager ``jupyter-kf.io/manager``): a TrainJob has no
pod templates, and the Trainer merges each manager's patch into the runtime's.

A TrainJob's conditions are only Suspended, Complete and Failed; ``trainjob_status`` derives
the phases every other job has (Created, Pending, Running, Restarting, Succeeded, Suspended,
Failed) from them and the nodes' pods, so a resumed job shows Running, not Created.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

from .job import Replica
from .kinds import TRAINER_API_VERSION, TRAINER_GROUP, TRAINJOB
from .quantities import parse_quantity
from .render import (
    CODE_VOLUME,
    LABEL_MANAGED_BY,
    MANAGED_BY,
    WORK_DIR,
    WORK_VOLUME,
    code_configmap_name,
    code_keys,
    resources_of,
    storage_of,
)
from .scheduling import cr_annotations, pod_scheduling
from .spec import CODE_MOUNT, JobSpec
from .status import Condition, JobStatus, ReplicaCounts
from .storage import HomeVolume, PodStorage

# The Trainer requires a domain-prefixed path here.
PATCH_MANAGER = "jupyter-kf.io/manager"
NODE = "Node"
NODE_CONTAINER = "node"  # the Trainer's name for the container that runs the trainer
TRAINER_PORT = 29500  # the port the Trainer's plugins give rank 0 (PET_MASTER_PORT)
# What each Trainer plugin calls the processes it starts per node, and how a shipped
# script runs under it. "torch": torchrun reads the PET_* variables the torch plugin sets and
# starts numProcPerNode processes with RANK, WORLD_SIZE, MASTER_ADDR set, as the kubeflow SDK
# runs a CustomTrainer's function; the others run the script once per node.
TORCH_POLICIES = ("torch",)
SCRIPT_POLICIES = ("torch", "jax", "xgboost", "plain")


def trainjob_command(
    spec: JobSpec,
    ml_policy: str,
    *,
    python: str = "python",
    code_dir: str = CODE_MOUNT,
    local: bool = False,
) -> list[str]:
    """The trainer's command for a job that ships code (``spec.command`` otherwise).

    On a cluster the command changes to the work dir itself (``env -C``): a runtime patch can
    add volumes but cannot set a container's working directory. Locally the backend starts
    it there.
    """
    if spec.code is None:
        return list(spec.command)
    script = [f"{code_dir}/{spec.code.filename}", *spec.code.args]
    if ml_policy in TORCH_POLICIES:
        run = [python, "-m", "torch.distributed.run", *script] if local else ["torchrun", *script]
    else:
        run = [python, "-u", *script]
    return run if local else ["env", "-C", WORK_DIR, *run]


def nproc_per_node(spec: JobSpec) -> str:
    """``PET_NPROC_PER_NODE`` as the Trainer's torch plugin computes it: the job's
    numProcPerNode, else "auto", which without a GPU becomes the CPUs per node (the request,
    else the limit, rounded up; at least 1)."""
    if spec.nproc_per_node is not None and spec.nproc_per_node != "auto":
        return str(spec.nproc_per_node)
    if spec.resources.gpu:
        return "auto"
    cpu = spec.resources.cpu
    if cpu is None:
        return "1"
    return str(max(1, math.ceil(parse_quantity(cpu))))


def render_trainjob(
    spec: JobSpec,
    *,
    namespace: str,
    image: str | None,
    ml_policy: str = "torch",
    node_jobs: Sequence[str] = ("node",),
    home: HomeVolume | None = None,
) -> dict[str, Any]:
    """The TrainJob for ``spec`` in ``namespace``.

    The job's storage (jobs/storage.py) reaches the nodes as volumes and mounts in the runtime
    patch, and as ``trainer.env``: the Trainer refuses env in a patch of the ``node``
    container, while ``trainer.env`` takes whole EnvVars (secretKeyRef included).
    ``image`` is used where the spec names none; None keeps the runtime's image.
    ``ml_policy`` and ``node_jobs`` come from the runtime (jobs/runtimes.py): which plugin
    wires the nodes, and which of its replicated Jobs run a ``node`` container (where the
    code is mounted).
    """
    labels = {**spec.labels, LABEL_MANAGED_BY: MANAGED_BY}
    metadata: dict[str, Any] = {"name": spec.name, "namespace": namespace, "labels": labels}
    if spec.annotations or spec.profile:
        metadata["annotations"] = cr_annotations(spec.annotations, spec.profile)
    trainer: dict[str, Any] = {"numNodes": spec.replicas.get(NODE, 1)}
    chosen = spec.image or image
    if chosen:
        trainer["image"] = chosen
    command = trainjob_command(spec, ml_policy)
    if command:
        trainer["command"] = command
    env = dict(spec.env)
    if spec.code is not None:
        # torchrun cannot pass python -u to the processes it starts: without this their
        # output waits in a buffer until they end.
        env.setdefault("PYTHONUNBUFFERED", "1")
    storage = storage_of(spec, home)
    env_list = [{"name": k, "value": v} for k, v in sorted(env.items())]
    env_list += storage.env if storage else []
    if env_list:
        trainer["env"] = env_list
    if spec.nproc_per_node is not None and spec.nproc_per_node != "auto":
        trainer["numProcPerNode"] = int(spec.nproc_per_node)
    resources = resources_of(spec)
    if resources:
        trainer["resourcesPerNode"] = resources
    runtime_ref = {
        "name": spec.runtime,
        "apiGroup": TRAINER_GROUP,
        "kind": spec.runtime_kind or "ClusterTrainingRuntime",
    }
    body: dict[str, Any] = {"runtimeRef": runtime_ref, "trainer": trainer}
    patch = _runtime_patch(spec, node_jobs, storage)
    if patch:
        body["runtimePatches"] = [patch]
    if spec.run_policy.suspend:
        body["suspend"] = True
    if spec.run_policy.active_deadline_seconds is not None:
        body["activeDeadlineSeconds"] = spec.run_policy.active_deadline_seconds
    return {
        "apiVersion": TRAINER_API_VERSION,
        "kind": TRAINJOB.kind,
        "metadata": metadata,
        "spec": body,
    }


def _runtime_patch(
    spec: JobSpec, node_jobs: Sequence[str], storage: PodStorage | None
) -> dict[str, Any] | None:
    """Only what the nodes need, or None: on every submit the API server validates, prunes
    and tracks the fields of a patch against the CRD's large pod-template schema, and the
    Trainer's webhook merges it into the runtime's JobSet template. jupyter-kf finds a
    TrainJob's pods by JobSet's labels, so they carry no label of jupyter-kf's own."""
    pod_meta: dict[str, Any] = {}
    if spec.pod_labels:
        pod_meta["labels"] = dict(spec.pod_labels)
    if spec.pod_annotations:
        pod_meta["annotations"] = dict(spec.pod_annotations)
    # The profile's placement (jobs/scheduling.py): a TrainJob has no pod template of its
    # own, so it reaches the nodes' pods through the patch like everything else here. The
    # patch has no priorityClassName (Trainer v2.3): validation refuses one on a TrainJob.
    pod_spec: dict[str, Any] = pod_scheduling(spec.node_selector, spec.tolerations, None)
    if spec.code is not None:
        pod_spec["volumes"] = [
            {
                "name": CODE_VOLUME,
                "configMap": {
                    "name": code_configmap_name(spec.name),
                    "items": [{"key": key, "path": path} for key, path in code_keys(spec)],
                },
            },
            {"name": WORK_VOLUME, "emptyDir": {}},
        ]
        pod_spec["containers"] = [
            {
                "name": NODE_CONTAINER,
                "volumeMounts": [
                    {"name": CODE_VOLUME, "mountPath": CODE_MOUNT, "readOnly": True},
                    {"name": WORK_VOLUME, "mountPath": WORK_DIR},
                ],
            }
        ]
    if storage is not None:
        pod_spec["volumes"] = [*pod_spec.get("volumes", []), *storage.volumes]
        containers = pod_spec.setdefault("containers", [{"name": NODE_CONTAINER}])
        containers[0]["volumeMounts"] = [*containers[0].get("volumeMounts", []), *storage.mounts]
    template: dict[str, Any] = {}
    if pod_meta:
        template["metadata"] = pod_meta
    if pod_spec:
        template["spec"] = pod_spec
    if not template:
        return None
    jobs = [{"name": name, "template": {"spec": {"template": template}}} for name in node_jobs]
    return {
        "manager": PATCH_MANAGER,
        "trainingRuntimeSpec": {"template": {"spec": {"replicatedJobs": jobs}}},
    }


# -- a v1 job on a cluster that runs Trainer v2 -------------------------------------------
# The runtime plugin that runs what a v1 kind ran, for ``kind_auto`` and for messages.
PLUGIN_OF_KIND = {"PyTorchJob": "torch", "JAXJob": "jax", "XGBoostJob": "xgboost"}


def as_trainjob(spec: JobSpec, runtime: str, runtime_kind: str | None = None) -> JobSpec:
    """The same job as a TrainJob on ``runtime``: its training processes become nodes, its
    code, command, image, env, resources, labels and suspend carry over. What a TrainJob has
    no field for (restart policy, backoff limit, clean-up, priority class) is the runtime's."""
    if spec.elastic_policy is not None:
        from ..errors import InvalidSpecError

        raise InvalidSpecError(
            "an elastic job cannot become a TrainJob (Trainer v2 has no elastic policy)"
        )
    nproc = spec.nproc_per_node if str(spec.nproc_per_node or "").isdigit() else None
    return dataclasses.replace(
        spec,
        kind=TRAINJOB.kind,
        replicas={NODE: spec.workers},
        restart_policy=None,
        run_policy=dataclasses.replace(
            spec.run_policy,
            backoff_limit=None,
            clean_pod_policy=None,
            ttl_seconds_after_finished=None,
        ),
        nproc_per_node=nproc,
        slots_per_worker=None,
        priority_class=None,
        runtime=runtime,
        runtime_kind=runtime_kind,
        kind_auto=False,
    )


# -- status ------------------------------------------------------------------------------
def _conditions(status: Mapping[str, Any]) -> list[Condition]:
    out = []
    for c in status.get("conditions") or ():
        if not isinstance(c, Mapping):
            continue
        kind = str(c.get("type", ""))
        out.append(
            Condition(
                # The same word every other job uses for it.
                type="Succeeded" if kind == "Complete" else kind,
                status=str(c.get("status", "Unknown")),
                reason=str(c.get("reason") or ""),
                message=str(c.get("message") or ""),
                last_transition_time=c.get("lastTransitionTime"),
            )
        )
    return out


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def trainjob_status(
    status: Mapping[str, Any] | None,
    replicas: Sequence[Replica],
    *,
    pods_seen: bool = False,
    created: str | None = None,
) -> JobStatus:
    """The phase of a TrainJob from its ``.status`` and its nodes (pods as ``Replica``).

    Failed, Succeeded (the Trainer's Complete) and Suspended come from the conditions. Else
    the pods say: a node that failed and waits to be started again → Restarting; any running
    → Running; pods or child Jobs that exist but wait → Pending (``pods_seen``: any pod of
    the job exists); nothing made yet → Created.
    """
    status = status if isinstance(status, Mapping) else {}
    conditions = _conditions(status)
    truth = {c.type for c in conditions if c.is_true}
    jobs = [j for j in status.get("jobsStatus") or () if isinstance(j, Mapping)]
    if "Failed" in truth:
        phase = "Failed"
    elif "Succeeded" in truth:
        phase = "Succeeded"
    elif "Suspended" in truth:
        phase = "Suspended"
    elif any(r.reason == "CrashLoopBackOff" or r.phase == "Failed" for r in replicas):
        # A node that failed and will be started again (its Job's backoffLimit not reached).
        phase = "Restarting"
    elif any(r.phase == "Running" for r in replicas):
        phase = "Running"
    elif jobs or pods_seen:
        phase = "Pending"
    else:
        phase = "Created"
    derived: list[Condition] = [Condition("Created", "True", "TrainJobCreated", "", created)]
    if phase in ("Running", "Restarting"):
        derived.append(Condition(phase, "True", "PodsRunning" if phase == "Running" else "", ""))
    by_name = {c.type: c for c in conditions}
    for kind in ("Suspended", "Succeeded", "Failed"):
        if kind in by_name:
            derived.append(by_name[kind])
    counts = ReplicaCounts(
        active=sum(_int(j.get("active")) for j in jobs),
        succeeded=sum(_int(j.get("succeeded")) for j in jobs),
        failed=sum(_int(j.get("failed")) for j in jobs),
    )
    done = by_name.get(phase) if phase in ("Succeeded", "Failed") else None
    return JobStatus(
        phase=phase,
        conditions=tuple(derived),
        replica_statuses={NODE: counts} if jobs else {},
        start_time=created,
        completion_time=done.last_transition_time if done else None,
    )


def trainer_progress(status: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """``status.trainerStatus`` (the Trainer's progress: percentage, ETA, metrics) as the
    REST payload shows it, or None when the job posted none."""
    if not isinstance(status, Mapping):
        return None
    ts = status.get("trainerStatus")
    if not isinstance(ts, Mapping):
        return None
    out: dict[str, Any] = {}
    if ts.get("progressPercentage") is not None:
        out["progressPercentage"] = _int(ts.get("progressPercentage"))
    if ts.get("estimatedRemainingSeconds") is not None:
        out["estimatedRemainingSeconds"] = _int(ts.get("estimatedRemainingSeconds"))
    metrics = {}
    for m in ts.get("metrics") or ():
        if isinstance(m, Mapping) and isinstance(m.get("name"), str):
            metrics[m["name"]] = str(m.get("value", ""))
    if metrics:
        out["metrics"] = metrics
    if ts.get("lastUpdatedTime"):
        out["lastUpdatedTime"] = ts["lastUpdatedTime"]
    return out or None
