"""Where a job's pods may run: node selector, tolerations, priority class.

Pure. A job gets these from a job profile (jobs/profiles.py); render.py puts them in every
v1 replica's pod template and trainjob.py in the TrainJob's runtime patch. The local backend
ignores them: its workers run on the notebook's machine.

A toleration is kept as the Kubernetes JSON object (``key``, ``operator``, ``value``,
``effect``, ``tolerationSeconds``). ``toleration_token`` writes one as the string the
admission policy (deploy/rbac/job-profiles-policy.yaml) compares, so what the spawner
allows and what the cluster checks are spelled by one function.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .storage import DNS1123_SUBDOMAIN

# On the job's CR: the job profile it was launched with, so reading it back names it.
ANNOTATION_PROFILE = "jupyter-kf.io/profile"
TOLERATION_KEYS = ("key", "operator", "value", "effect", "tolerationSeconds")
OPERATORS = ("Equal", "Exists")
EFFECTS = ("", "NoSchedule", "PreferNoSchedule", "NoExecute")


def toleration_token(t: Mapping[str, Any]) -> str:
    """``key|operator|value|effect``: a toleration as the admission policy compares it
    (operator defaults to Equal, as Kubernetes does; tolerationSeconds only shortens a
    toleration, so it is not part of what must be allowed)."""
    return "|".join(
        (
            str(t.get("key") or ""),
            str(t.get("operator") or "Equal"),
            str(t.get("value") or ""),
            str(t.get("effect") or ""),
        )
    )


def selector_token(key: str, value: str) -> str:
    return f"{key}={value}"


def toleration_problems(tolerations: Any, where: str = "tolerations") -> list[str]:
    if not isinstance(tolerations, (list, tuple)):
        return [f"{where} must be a list of Kubernetes tolerations"]
    problems = []
    for t in tolerations:
        if not isinstance(t, Mapping):
            problems.append(f"{where}: {t!r} is not a toleration object")
            continue
        unknown = sorted(set(t) - set(TOLERATION_KEYS))
        if unknown:
            problems.append(f"{where}: {dict(t)!r} has unknown fields {unknown}")
        op = t.get("operator", "Equal")
        if op not in OPERATORS:
            problems.append(f"{where}: operator {op!r} is not one of {', '.join(OPERATORS)}")
        if t.get("effect", "") not in EFFECTS:
            problems.append(f"{where}: effect {t.get('effect')!r} is not one of {EFFECTS[1:]}")
        if op == "Exists" and t.get("value"):
            problems.append(f"{where}: a toleration with operator Exists takes no value")
        if not t.get("key") and op != "Exists":
            problems.append(f"{where}: a toleration without a key needs operator Exists")
        for field in ("key", "value"):
            text = t.get(field)
            if text is not None and (not isinstance(text, str) or "|" in text or "," in text):
                problems.append(f"{where}: {field} {text!r} must be a string without '|' or ','")
    return problems


def node_selector_problems(selector: Any, where: str = "node_selector") -> list[str]:
    if not isinstance(selector, Mapping):
        return [f"{where} must map node label keys to values"]
    return [
        f"{where}: {k!r}={v!r} is not a node label (strings without ',' or '=')"
        for k, v in selector.items()
        if not isinstance(k, str)
        or not isinstance(v, str)
        or not k
        or any(c in k + v for c in ",=")
    ]


def priority_class_problems(name: Any, where: str = "priority_class") -> list[str]:
    if name is None:
        return []
    if not isinstance(name, str) or not DNS1123_SUBDOMAIN.match(name) or "," in name:
        return [f"{where}: {name!r} is not a PriorityClass name"]
    return []


def cr_annotations(annotations: Mapping[str, str], profile: str | None) -> dict[str, str]:
    """The CR's annotations: the spec's, and the profile it was launched with."""
    return {**annotations, ANNOTATION_PROFILE: profile} if profile else dict(annotations)


def placement_of(pod: Mapping[str, Any], annotations: Mapping[str, Any]) -> dict[str, Any]:
    """The ``JobSpec`` fields of a pod spec's placement and the CR's profile (readback)."""
    return {
        "node_selector": dict(pod.get("nodeSelector") or {}),
        "tolerations": tuple(dict(t) for t in pod.get("tolerations") or ()),
        "priority_class": pod.get("priorityClassName") or None,
        "profile": annotations.get(ANNOTATION_PROFILE) or None,
    }


def pod_scheduling(
    node_selector: Mapping[str, str],
    tolerations: Sequence[Mapping[str, Any]],
    priority_class: str | None,
) -> dict[str, Any]:
    """The pod spec fields, only those that are set."""
    out: dict[str, Any] = {}
    if node_selector:
        out["nodeSelector"] = dict(node_selector)
    if tolerations:
        out["tolerations"] = [dict(t) for t in tolerations]
    if priority_class:
        out["priorityClassName"] = priority_class
    return out
