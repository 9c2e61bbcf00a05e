"""Every check a ``JobSpec`` must pass, each failing one as a sentence a user can act on.

``problems_of`` collects all problems instead of stopping at the first, so a user fixes a
spec in one round. The rules follow the operator's webhooks and Kubernetes' own name and
quantity rules, so a job refused by the API server is refused here first, with a better
message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Protocol

from .kinds import (
    ALL_KINDS,
    RESERVED_ENV,
    RESTART_POLICIES,
    RUNTIME_KINDS,
    KindInfo,
    canonical_role,
    kind_info,
    kinds_with,
)
from .parts import CODE_ANNOTATION_PREFIX, Code, ElasticPolicy, Resources, RunPolicy
from .quantities import parse_quantity
from .scheduling import node_selector_problems, priority_class_problems, toleration_problems
from .storage import (
    RESERVED_PREFIX,
    Volume,
    parse_volume,
    secret_env_problems,
    shm_problems,
    volume_problems,
)

DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
FILE_PATH = re.compile(r"^[A-Za-z0-9_][-._A-Za-z0-9]*(/[A-Za-z0-9_][-._A-Za-z0-9]*)*$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
QUALIFIED_NAME = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
NPROC_WORDS = ("auto", "cpu", "gpu")
CLEAN_POD_POLICIES = ("All", "Running", "None")
RDZV_BACKENDS = ("c10d", "etcd", "etcd-v2")
MAX_NAME = 63  # a DNS label: the operator's Services are named <job>-<role>-<index>


class SpecFields(Protocol):
    """What validation reads of a ``JobSpec`` (which calls it while it is being made)."""

    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def replicas(self) -> Mapping[str, int]: ...
    @property
    def code(self) -> Code | None: ...
    @property
    def command(self) -> tuple[str, ...]: ...
    @property
    def image(self) -> str | None: ...
    @property
    def env(self) -> Mapping[str, str]: ...
    @property
    def resources(self) -> Resources: ...
    @property
    def restart_policy(self) -> str | None: ...
    @property
    def run_policy(self) -> RunPolicy: ...
    @property
    def elastic_policy(self) -> ElasticPolicy | None: ...
    @property
    def nproc_per_node(self) -> str | None: ...
    @property
    def slots_per_worker(self) -> int | None: ...
    @property
    def labels(self) -> Mapping[str, str]: ...
    @property
    def annotations(self) -> Mapping[str, str]: ...
    @property
    def pod_labels(self) -> Mapping[str, str]: ...
    @property
    def pod_annotations(self) -> Mapping[str, str]: ...
    @property
    def runtime(self) -> str | None: ...
    @property
    def runtime_kind(self) -> str | None: ...
    @property
    def kind_auto(self) -> bool: ...
    @property
    def volumes(self) -> tuple[Volume, ...]: ...
    @property
    def home(self) -> bool: ...
    @property
    def shm(self) -> str | None: ...
    @property
    def secret_env(self) -> Mapping[str, str]: ...
    @property
    def node_selector(self) -> Mapping[str, str]: ...
    @property
    def tolerations(self) -> tuple[Mapping[str, Any], ...]: ...
    @property
    def priority_class(self) -> str | None: ...
    @property
    def profile(self) -> str | None: ...


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def problems_of(spec: SpecFields) -> list[str]:
    """Every problem with ``spec``; empty when it is valid."""
    problems: list[str] = []
    info = None
    if not isinstance(spec.kind, str):
        problems.append(f"kind must be a string such as 'PyTorchJob', not {spec.kind!r}")
    else:
        try:
            info = kind_info(spec.kind)
        except KeyError:
            problems.append(f"unknown kind {spec.kind!r}; use one of {', '.join(ALL_KINDS)}")
    _check_name(spec, problems)
    if info is not None:
        _check_replicas(spec, info, problems)
        _check_kind_options(spec, info, problems)
        if info.is_trainjob:
            _check_trainjob(spec, problems)
    _check_code(spec, problems)
    _check_env(spec, problems)
    _check_storage(spec, problems)
    _check_resources(spec, problems)
    _check_policies(spec, problems)
    _check_metadata(spec, problems)
    problems.extend(node_selector_problems(spec.node_selector))
    problems.extend(toleration_problems(spec.tolerations))
    problems.extend(priority_class_problems(spec.priority_class))
    if spec.kind == "TrainJob" and spec.priority_class:
        problems.append(
            "a TrainJob runs with its runtime's priority class (a runtime patch cannot set "
            "one): leave priority_class out, or run a v1 kind such as PyTorchJob"
        )
    if spec.profile is not None and not isinstance(spec.profile, str):
        problems.append(f"profile must be a profile's name, not {spec.profile!r}")
    if not isinstance(spec.kind_auto, bool):
        problems.append("kind_auto must be true or false")
    return problems


def _check_name(spec: SpecFields, problems: list[str]) -> None:
    name = spec.name
    if not isinstance(name, str) or not name:
        problems.append(
            "name is required: lower-case letters, digits and '-', starting with a letter"
        )
        return
    if not DNS1035.match(name):
        problems.append(
            f"name {name!r} is not allowed: use lower-case letters, digits and '-', start with a "
            "letter and end with a letter or digit (a DNS-1035 label, as the operator requires)"
        )
    longest = _longest_replica_name(spec)
    if len(longest) > MAX_NAME:
        problems.append(
            f"name {name!r} is too long: the operator names its pods and Services like "
            f"{longest!r} ({len(longest)} characters, at most {MAX_NAME}); "
            f"use at most {MAX_NAME - (len(longest) - len(name))} characters"
        )


def _longest_replica_name(spec: SpecFields) -> str:
    if not isinstance(spec.replicas, Mapping):
        return spec.name
    names = [spec.name]
    trainjob = spec.kind == "TrainJob"
    for role, count in spec.replicas.items():
        if isinstance(role, str) and _is_int(count) and count > 0:
            # A TrainJob's pods are named by JobSet: <job>-<replicatedJob>-<job index>-<pod index>.
            middle = f"{role.lower()}-0" if trainjob else role.lower()
            names.append(f"{spec.name}-{middle}-{count - 1}")
    return max(names, key=len)


def _check_replicas(spec: SpecFields, info: KindInfo, problems: list[str]) -> None:
    if not isinstance(spec.replicas, Mapping) or not spec.replicas:
        problems.append(f"replicas must map roles to counts, e.g. {{'{info.worker_role}': 2}}")
        return
    counts: dict[str, int] = {}
    for role, count in spec.replicas.items():
        canonical = canonical_role(info, role) if isinstance(role, str) else None
        if canonical is None:
            problems.append(
                f"{info.kind} has no role {role!r}; its roles are {', '.join(info.roles)}"
            )
            continue
        if not _is_int(count) or count < 0:
            problems.append(f"replicas of {canonical} must be a whole number >= 0, not {count!r}")
            continue
        counts[canonical] = count
    for role in info.required_roles:
        if counts.get(role, 0) < 1:
            if role == "Master" and info.kind == "PyTorchJob":
                problems.append(
                    "a PyTorchJob needs exactly one Master: without it the operator injects no "
                    "RANK, WORLD_SIZE or MASTER_ADDR"
                )
            else:
                problems.append(f"a {info.kind} needs a {role} replica")
    for role in info.single_roles:
        if counts.get(role, 0) > 1:
            problems.append(f"a {info.kind} has at most one {role}, not {counts[role]}")
    if counts.get(info.worker_role, 0) < info.min_worker_replicas():
        problems.append(
            f"an {info.kind} needs at least one {info.worker_role} for its "
            f"{info.default_leader} to start ranks on"
        )
    present = [role for role in info.leaders if counts.get(role, 0)]
    if len(present) > 1:
        problems.append(f"a {info.kind} has a {' or a '.join(present)}, not both")
    if counts and sum(counts.values()) < 1:
        problems.append("the job has no replicas: ask for at least one worker")


def _check_kind_options(spec: SpecFields, info: KindInfo, problems: list[str]) -> None:
    for option in ("elastic_policy", "nproc_per_node", "slots_per_worker", "runtime"):
        if getattr(spec, option) is not None and option not in info.options:
            problems.append(f"{option} is for {kinds_with(option)} only, not {info.kind}")
    if spec.runtime_kind is not None and "runtime" not in info.options:
        problems.append(f"runtime_kind is for {kinds_with('runtime')} only, not {info.kind}")
    if spec.elastic_policy is not None:
        e = spec.elastic_policy
        if "elastic_policy" in info.options:
            workers = spec.replicas.get("Worker") if isinstance(spec.replicas, Mapping) else None
            if not workers:
                problems.append(
                    "elastic_policy needs Worker replicas (the operator refuses it otherwise)"
                )
            for label, value in (
                ("min_replicas", e.min_replicas),
                ("max_replicas", e.max_replicas),
            ):
                if value is not None and (not _is_int(value) or value < 1):
                    problems.append(
                        f"elastic_policy.{label} must be a whole number >= 1, not {value!r}"
                    )
            lo = e.min_replicas if _is_int(e.min_replicas) else None
            hi = e.max_replicas if _is_int(e.max_replicas) else None
            if lo is not None and hi is not None and lo > hi:
                problems.append(f"elastic_policy.min_replicas ({lo}) is above max_replicas ({hi})")
            if _is_int(workers) and workers:
                if (lo is not None and workers < lo) or (hi is not None and workers > hi):
                    problems.append(
                        f"{workers} Worker replicas is outside elastic_policy's "
                        f"[{lo if lo is not None else hi}, {hi if hi is not None else lo}]"
                    )
            if e.rdzv_backend not in RDZV_BACKENDS:
                problems.append(
                    f"elastic_policy.rdzv_backend must be one of {', '.join(RDZV_BACKENDS)}"
                )
            if e.max_restarts is not None and (not _is_int(e.max_restarts) or e.max_restarts < 0):
                problems.append("elastic_policy.max_restarts must be a whole number >= 0")
    if spec.nproc_per_node is not None and info.kind == "PyTorchJob":
        if not (
            spec.nproc_per_node in NPROC_WORDS
            or str(spec.nproc_per_node).isdigit()
            and int(spec.nproc_per_node) >= 1
        ):
            problems.append(
                f"nproc_per_node must be a whole number >= 1 or one of {', '.join(NPROC_WORDS)}, "
                f"not {spec.nproc_per_node!r}"
            )
    if spec.slots_per_worker is not None and "slots_per_worker" in info.options:
        if not _is_int(spec.slots_per_worker) or spec.slots_per_worker < 1:
            problems.append(
                f"slots_per_worker must be a whole number >= 1, not {spec.slots_per_worker!r}"
            )


def _check_trainjob(spec: SpecFields, problems: list[str]) -> None:
    """What a TrainJob has instead of the v1 kinds' policies: a runtime; its retries, restart
    policy and pod clean-up are the runtime's (the TrainJob has no field for them)."""
    if not isinstance(spec.runtime, str) or not spec.runtime:
        problems.append(
            "a TrainJob needs a runtime, e.g. runtime='torch-distributed' "
            "(client.runtimes() lists what the cluster has)"
        )
    elif not DNS1123_SUBDOMAIN.match(spec.runtime) or len(spec.runtime) > 253:
        problems.append(
            f"runtime {spec.runtime!r} is not a runtime name such as 'torch-distributed'"
        )
    if spec.runtime_kind is not None and spec.runtime_kind not in RUNTIME_KINDS:
        problems.append(
            f"runtime_kind must be {' or '.join(RUNTIME_KINDS)}, not {spec.runtime_kind!r}"
        )
    if spec.restart_policy is not None:
        problems.append(
            "a TrainJob's restart policy is its runtime's (the pod template of the runtime's "
            "Job): leave restart_policy unset, or use a runtime with the policy you want"
        )
    rp = spec.run_policy
    if isinstance(rp, RunPolicy):
        if rp.backoff_limit is not None:
            problems.append(
                "a TrainJob's retries are its runtime's (the backoffLimit of the runtime's Job "
                "template): leave backoff_limit unset, or use a runtime with the limit you want"
            )
        for label, value in (
            ("clean_pod_policy", rp.clean_pod_policy),
            ("ttl_seconds_after_finished", rp.ttl_seconds_after_finished),
        ):
            if value is not None:
                problems.append(f"{label} is for the v1 kinds only; a TrainJob has no such field")
    npp = spec.nproc_per_node
    if npp is not None and npp != "auto" and not (str(npp).isdigit() and int(npp) >= 1):
        problems.append(
            f"a TrainJob's nproc_per_node (numProcPerNode) is a whole number >= 1 or 'auto', "
            f"not {npp!r}"
        )
    counts = spec.replicas if isinstance(spec.replicas, Mapping) else {}
    if any(canonical_role(kind_info("TrainJob"), r) is None for r in counts if isinstance(r, str)):
        return  # _check_replicas named it
    nodes = counts.get("Node")
    if isinstance(nodes, int) and not isinstance(nodes, bool) and nodes < 1:
        problems.append("a TrainJob needs at least one node")


def _check_code(spec: SpecFields, problems: list[str]) -> None:
    code = spec.code
    if code is None and not spec.command:
        problems.append("nothing to run: give code (a cell, a script or a function) or a command")
    if spec.command and not all(isinstance(c, str) and c for c in spec.command):
        problems.append("command must be a list of non-empty strings")
    if code is None:
        return
    if not isinstance(code.source, str) or not code.source.strip():
        problems.append("the code is empty")
    if (
        not isinstance(code.filename, str)
        or "/" in code.filename
        or not FILE_PATH.match(code.filename)
    ):
        problems.append(
            f"code filename {code.filename!r} must be a plain file name such as 'train.py'"
        )
    if code.origin not in ("cell", "file", "function"):
        problems.append(f"code origin must be cell, file or function, not {code.origin!r}")
    for path, text in code.files.items():
        if not isinstance(path, str) or not FILE_PATH.match(path) or ".." in path.split("/"):
            problems.append(
                f"shipped file {path!r} must be a relative path inside the job's folder"
            )
        elif not isinstance(text, str):
            problems.append(f"shipped file {path!r} must be text")


def _check_env(spec: SpecFields, problems: list[str]) -> None:
    if not isinstance(spec.env, Mapping):
        problems.append("env must map names to values")
        return
    for key, value in spec.env.items():
        if not isinstance(key, str) or not ENV_NAME.match(key):
            problems.append(
                f"env name {key!r} is not allowed: use letters, digits, '_', '-' and '.'"
            )
        elif key.startswith(RESERVED_PREFIX):
            problems.append(
                f"env {key}: names starting with {RESERVED_PREFIX} are set by jupyter-kf "
                "(outputs dir, volumes, dist backend); choose another name"
            )
        elif key in RESERVED_ENV:
            problems.append(
                f"env {key} is set by the training operator for every replica; "
                "jupyter-kf sets it the same way locally, so do not set it yourself"
            )
        if not isinstance(value, str):
            problems.append(f"env {key} must be a string, not {type(value).__name__}")


def _check_storage(spec: SpecFields, problems: list[str]) -> None:
    if not isinstance(spec.volumes, tuple):
        problems.append("volumes must be a list of Volume(claim=..., mount=...)")
    else:
        for v in spec.volumes:
            if isinstance(v, str):  # a string that parse_volume refused: say why
                try:
                    parse_volume(v)
                except ValueError as exc:
                    problems.append(str(exc))
        problems.extend(volume_problems([v for v in spec.volumes if not isinstance(v, str)]))
    if not isinstance(spec.home, bool):
        problems.append("home must be true or false")
    problems.extend(shm_problems(spec.shm))
    problems.extend(secret_env_problems(spec.secret_env))
    if isinstance(spec.secret_env, Mapping):
        for key in spec.secret_env:
            if not isinstance(key, str) or not ENV_NAME.match(key):
                problems.append(f"secret_env name {key!r} is not a valid variable name")
            elif key.startswith(RESERVED_PREFIX) or key in RESERVED_ENV:
                problems.append(f"secret_env {key}: that name is set by jupyter-kf or the operator")
            elif isinstance(spec.env, Mapping) and key in spec.env:
                problems.append(f"{key} is in both env and secret_env: keep one")


def _check_resources(spec: SpecFields, problems: list[str]) -> None:
    r = spec.resources
    if not isinstance(r, Resources):
        problems.append(
            "resources must be a jupyter_kf.jobs.Resources, e.g. "
            f"Resources(cpu='2', memory='4Gi', gpu=1), not {type(r).__name__} {r!r}"
        )
        return
    for label, value in (("cpu", r.cpu), ("memory", r.memory)):
        if value is None:
            continue
        try:
            amount = parse_quantity(value)
        except ValueError as exc:
            problems.append(f"{label}: {exc}")
            continue
        if amount <= 0:
            problems.append(f"{label} must be more than zero, not {value!r}")
    if not _is_int(r.gpu) or r.gpu < 0:
        problems.append(f"gpu must be a whole number >= 0, not {r.gpu!r}")
    if spec.image is not None and (
        not isinstance(spec.image, str)
        or not spec.image.strip()
        or any(ch.isspace() for ch in spec.image)
    ):
        problems.append(f"image {spec.image!r} is not an image reference such as 'python:3.11'")


def _check_policies(spec: SpecFields, problems: list[str]) -> None:
    if spec.restart_policy is not None and spec.restart_policy not in RESTART_POLICIES:
        problems.append(
            f"restart_policy must be one of {', '.join(RESTART_POLICIES)}, not {spec.restart_policy!r}"
        )
    rp = spec.run_policy
    if not isinstance(rp, RunPolicy):
        problems.append(
            "run_policy must be a jupyter_kf.jobs.RunPolicy, e.g. "
            f"RunPolicy(backoff_limit=3, suspend=True), not {type(rp).__name__} {rp!r}"
        )
        return
    if rp.clean_pod_policy is not None and rp.clean_pod_policy not in CLEAN_POD_POLICIES:
        problems.append(f"clean_pod_policy must be one of {', '.join(CLEAN_POD_POLICIES)}")
    for label, value, least in (
        ("ttl_seconds_after_finished", rp.ttl_seconds_after_finished, 0),
        ("active_deadline_seconds", rp.active_deadline_seconds, 1),
        ("backoff_limit", rp.backoff_limit, 0),
    ):
        if value is not None and (not _is_int(value) or value < least):
            none = " (None: no limit)" if label == "backoff_limit" else ""
            problems.append(f"{label} must be a whole number >= {least}{none}, not {value!r}")
    if not isinstance(rp.suspend, bool):
        problems.append("suspend must be true or false")


def _check_metadata(spec: SpecFields, problems: list[str]) -> None:
    for label, mapping in (
        ("labels", spec.labels),
        ("annotations", spec.annotations),
        ("pod_labels", spec.pod_labels),
        ("pod_annotations", spec.pod_annotations),
    ):
        if not isinstance(mapping, Mapping):
            problems.append(f"{label} must map names to strings")
            continue
        for key, value in mapping.items():
            if (
                not isinstance(key, str)
                or not QUALIFIED_NAME.match(key)
                or len(key.split("/")[-1]) > 63
            ):
                problems.append(f"{label[:-1]} name {key!r} is not a valid Kubernetes key")
            elif label == "pod_annotations" and key.startswith(CODE_ANNOTATION_PREFIX):
                problems.append(
                    f"pod_annotation {key!r}: names under {CODE_ANNOTATION_PREFIX} carry the "
                    "job's code and are set by jupyter-kf; choose another prefix"
                )
            if not isinstance(value, str):
                problems.append(f"{label[:-1]} {key!r} must have a string value")
            elif label.endswith("labels") and (len(value) > 63 or not LABEL_VALUE.match(value)):
                problems.append(
                    f"label {key!r} has a value that is not a valid label value: {value!r}"
                )


# -- the policies as users type them (magics, CLI) ------------------------------------------
NO_LIMIT_WORDS = ("none", "unlimited")


def parse_restart_policy(text: str) -> str:
    """``--restart-policy``: one of ``RESTART_POLICIES``, in any letter case."""
    for policy in RESTART_POLICIES:
        if isinstance(text, str) and text.strip().lower() == policy.lower():
            return policy
    raise ValueError(f"restart policy must be one of {', '.join(RESTART_POLICIES)}, not {text!r}")


def parse_backoff_limit(text: str) -> int | None:
    """``--backoff-limit``: a whole number >= 0, or 'none' (no limit, as None)."""
    word = text.strip().lower() if isinstance(text, str) else ""
    if word in NO_LIMIT_WORDS:
        return None
    if re.fullmatch(r"[0-9]{1,9}", word):
        return int(word)
    raise ValueError(
        f"backoff limit must be a whole number >= 0 (restarts before the job fails) or "
        f"'none' for no limit, not {text!r}"
    )
