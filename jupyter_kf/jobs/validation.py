"""Every check a ``JobSpec`` must pass, each failing one as a sentence a user can act on.

``problems_of`` collects all problems instead of stopping at the first, so a user fixes a
spec in one round. The rules follow the operator's webhooks (kubeflow/trainer release-1.9,
``pkg/webhooks``) and Kubernetes' own name and quantity rules, so a job refused by the API
server is refused here first, with a better message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from .envcontract import RESERVED_ENV
from .kinds import KINDS, RESTART_POLICIES, canonical_role, kind_info
from .quantities import parse_quantity

if TYPE_CHECKING:
    from .spec import JobSpec

DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
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


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def problems_of(spec: JobSpec) -> list[str]:
    """Every problem with ``spec``; empty when it is valid."""
    problems: list[str] = []
    info = None
    if not isinstance(spec.kind, str):
        problems.append(f"kind must be a string such as 'PyTorchJob', not {spec.kind!r}")
    else:
        try:
            info = kind_info(spec.kind)
        except KeyError:
            problems.append(f"unknown kind {spec.kind!r}; use one of {', '.join(KINDS)}")
    _check_name(spec, problems)
    if info is not None:
        _check_replicas(spec, info, problems)
        _check_kind_options(spec, info, problems)
    _check_code(spec, problems)
    _check_env(spec, problems)
    _check_resources(spec, problems)
    _check_policies(spec, problems)
    _check_metadata(spec, problems)
    return problems


def _check_name(spec: JobSpec, problems: list[str]) -> None:
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


def _longest_replica_name(spec: JobSpec) -> str:
    if not isinstance(spec.replicas, Mapping):
        return spec.name
    names = [spec.name]
    for role, count in spec.replicas.items():
        if isinstance(role, str) and _is_int(count) and count > 0:
            names.append(f"{spec.name}-{role.lower()}-{count - 1}")
    return max(names, key=len)


def _check_replicas(spec: JobSpec, info, problems: list[str]) -> None:
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
    if info.kind == "MPIJob" and counts.get("Worker", 0) < 1:
        problems.append("an MPIJob needs at least one Worker for mpirun to start ranks on")
    if info.kind == "TFJob" and counts.get("Chief", 0) and counts.get("Master", 0):
        problems.append("a TFJob has a Chief or a Master, not both")
    if counts and sum(counts.values()) < 1:
        problems.append("the job has no replicas: ask for at least one worker")


def _check_kind_options(spec: JobSpec, info, problems: list[str]) -> None:
    if spec.elastic_policy is not None:
        e = spec.elastic_policy
        if info.kind != "PyTorchJob":
            problems.append(f"elastic_policy is for PyTorchJob only, not {info.kind}")
        else:
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
            lo, hi = e.min_replicas, e.max_replicas
            if _is_int(lo) and _is_int(hi) and lo > hi:
                problems.append(f"elastic_policy.min_replicas ({lo}) is above max_replicas ({hi})")
            if _is_int(workers) and workers:
                if _is_int(lo) and workers < lo or _is_int(hi) and workers > hi:
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
    if spec.nproc_per_node is not None:
        if info.kind != "PyTorchJob":
            problems.append(f"nproc_per_node is for PyTorchJob only, not {info.kind}")
        elif not (
            spec.nproc_per_node in NPROC_WORDS
            or str(spec.nproc_per_node).isdigit()
            and int(spec.nproc_per_node) >= 1
        ):
            problems.append(
                f"nproc_per_node must be a whole number >= 1 or one of {', '.join(NPROC_WORDS)}, "
                f"not {spec.nproc_per_node!r}"
            )
    if spec.slots_per_worker is not None:
        if info.kind != "MPIJob":
            problems.append(f"slots_per_worker is for MPIJob only, not {info.kind}")
        elif not _is_int(spec.slots_per_worker) or spec.slots_per_worker < 1:
            problems.append(
                f"slots_per_worker must be a whole number >= 1, not {spec.slots_per_worker!r}"
            )


def _check_code(spec: JobSpec, problems: list[str]) -> None:
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


def _check_env(spec: JobSpec, problems: list[str]) -> None:
    if not isinstance(spec.env, Mapping):
        problems.append("env must map names to values")
        return
    for key, value in spec.env.items():
        if not isinstance(key, str) or not ENV_NAME.match(key):
            problems.append(
                f"env name {key!r} is not allowed: use letters, digits, '_', '-' and '.'"
            )
        elif key in RESERVED_ENV:
            problems.append(
                f"env {key} is set by the training operator for every replica; "
                "jupyter-kf sets it the same way locally, so do not set it yourself"
            )
        if not isinstance(value, str):
            problems.append(f"env {key} must be a string, not {type(value).__name__}")


def _check_resources(spec: JobSpec, problems: list[str]) -> None:
    r = spec.resources
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


def _check_policies(spec: JobSpec, problems: list[str]) -> None:
    if spec.restart_policy is not None and spec.restart_policy not in RESTART_POLICIES:
        problems.append(
            f"restart_policy must be one of {', '.join(RESTART_POLICIES)}, not {spec.restart_policy!r}"
        )
    rp = spec.run_policy
    if rp.clean_pod_policy is not None and rp.clean_pod_policy not in CLEAN_POD_POLICIES:
        problems.append(f"clean_pod_policy must be one of {', '.join(CLEAN_POD_POLICIES)}")
    for label, value, least in (
        ("ttl_seconds_after_finished", rp.ttl_seconds_after_finished, 0),
        ("active_deadline_seconds", rp.active_deadline_seconds, 1),
        ("backoff_limit", rp.backoff_limit, 0),
    ):
        if value is not None and (not _is_int(value) or value < least):
            problems.append(f"{label} must be a whole number >= {least}, not {value!r}")
    if not isinstance(rp.suspend, bool):
        problems.append("suspend must be true or false")


def _check_metadata(spec: JobSpec, problems: list[str]) -> None:
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
            if not isinstance(value, str):
                problems.append(f"{label[:-1]} {key!r} must have a string value")
            elif label.endswith("labels") and (len(value) > 63 or not LABEL_VALUE.match(value)):
                problems.append(
                    f"label {key!r} has a value that is not a valid label value: {value!r}"
                )
