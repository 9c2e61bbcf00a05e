"""Job profiles: what a hub admin lets a user's training jobs ask for (docs/job-profiles.md).

The admin writes them in the spawner's configuration (``KubeflowSpawner.job_profiles``, like
KubeSpawner's ``profile_list`` but for jobs); the spawner hands the ones a user may use to
the notebook pod as JSON in ``JUPYTER_KF_JOB_PROFILES`` and writes what they allow on the
user's namespace (``namespace_annotations``), where an admission policy checks every job,
raw CRs included. Pure: parsing, choosing, applying to a ``JobSpec``.

A profile's ``cpu``, ``memory`` and ``gpu`` are per replica: what a job gets when it names
none, and the most it may ask for. Its node selector, tolerations and priority class are the
only ones a job may have: a job that names a profile gets them; one that names none (where
the admin does not require a profile) may have none of them.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidSpecError
from .parts import Resources, frozen_map
from .quantities import parse_quantity
from .scheduling import (
    node_selector_problems,
    priority_class_problems,
    selector_token,
    toleration_problems,
    toleration_token,
)
from .spec import JobSpec
from .storage import DNS1123_LABEL

ENV_JOB_PROFILES = "JUPYTER_KF_JOB_PROFILES"
# On each namespace the spawner manages: what any profile of its user allows, as
# comma-separated tokens (jobs/scheduling.py) the admission policy splits and compares.
ANNOTATION_TOLERATIONS = "jupyter-kf.io/allowed-tolerations"
ANNOTATION_NODE_SELECTOR = "jupyter-kf.io/allowed-node-selector"
ANNOTATION_PRIORITY_CLASSES = "jupyter-kf.io/allowed-priority-classes"
PROFILE_KEYS = (
    "name",
    "display_name",
    "description",
    "default",
    "image",
    "cpu",
    "memory",
    "gpu",
    "node_selector",
    "tolerations",
    "priority_class_name",
    "allowed_users",
    "allowed_groups",
)


def allowed_for(
    allowed_users: frozenset[str] | None,
    allowed_groups: frozenset[str] | None,
    user: str,
    groups: Iterable[str],
) -> bool:
    """Whether a profile limited to these users and groups (None: everyone) is for ``user``;
    the hub's notebook profiles and the job profiles share the rule."""
    if allowed_users is None and allowed_groups is None:
        return True
    if allowed_users and user in allowed_users:
        return True
    return bool(allowed_groups and allowed_groups & set(groups))


@dataclass(frozen=True)
class JobProfile:
    """One profile, as configured (``allowed_*`` None: offered to everyone)."""

    name: str
    display_name: str = ""
    description: str = ""
    default: bool = False
    image: str | None = None
    cpu: str | None = None
    memory: str | None = None
    gpu: int = 0
    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: tuple[Mapping[str, Any], ...] = ()
    priority_class_name: str | None = None
    allowed_users: frozenset[str] | None = None
    allowed_groups: frozenset[str] | None = None

    def offered_to(self, user: str, groups: Iterable[str]) -> bool:
        return allowed_for(self.allowed_users, self.allowed_groups, user, groups)

    def to_dict(self) -> dict[str, Any]:
        """What a notebook sees (who else may use it is the hub's business)."""
        out: dict[str, Any] = {"name": self.name, "display_name": self.display_name or self.name}
        for key in ("description", "image", "cpu", "memory", "priority_class_name"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        if self.default:
            out["default"] = True
        if self.gpu:
            out["gpu"] = self.gpu
        if self.node_selector:
            out["node_selector"] = dict(self.node_selector)
        if self.tolerations:
            out["tolerations"] = [dict(t) for t in self.tolerations]
        return out


@dataclass(frozen=True)
class JobProfiles:
    """The profiles a notebook may use, and whether a job must use one."""

    profiles: tuple[JobProfile, ...] = ()
    required: bool = False

    def __bool__(self) -> bool:
        return bool(self.profiles) or self.required

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.profiles]

    @property
    def default(self) -> JobProfile | None:
        return next((p for p in self.profiles if p.default), None)

    def get(self, name: str) -> JobProfile:
        for p in self.profiles:
            if p.name == name:
                return p
        offered = ", ".join(self.names) or "none are offered to you"
        raise InvalidSpecError(
            f"unknown profile {name!r}; job profiles: {offered} (`jupyter kf profiles` lists them)"
        )

    def to_env(self) -> str:
        return json.dumps(
            {"required": self.required, "profiles": [p.to_dict() for p in self.profiles]},
            separators=(",", ":"),
            sort_keys=True,
        )

    @classmethod
    def from_env(cls, text: str | None) -> JobProfiles:
        """``JUPYTER_KF_JOB_PROFILES`` as the spawner wrote it (absent or empty: none)."""
        if not text or not text.strip():
            return cls()
        try:
            data = json.loads(text)
            profiles = parse_job_profiles(data.get("profiles") or ())
            return cls(tuple(profiles), bool(data.get("required")))
        except (ValueError, AttributeError, TypeError) as exc:
            raise InvalidSpecError(
                f"{ENV_JOB_PROFILES} is not the spawner's job profiles ({exc}); ask your hub admin"
            ) from None


# -- configuration ---------------------------------------------------------------------------
def parse_job_profiles(items: Iterable[Mapping[str, Any]]) -> list[JobProfile]:
    """Configured profiles (``job_profiles``) as ``JobProfile``; ValueError lists every
    problem, so the hub refuses a bad configuration at start-up."""
    problems: list[str] = []
    out: list[JobProfile] = []
    seen: set[str] = set()
    if isinstance(items, (str, Mapping)):
        raise ValueError("job_profiles must be a list of profile objects")
    for i, entry in enumerate(items):
        before = len(problems)
        where = f"job profile {i + 1}"
        if not isinstance(entry, Mapping):
            problems.append(f"{where} must be an object with a 'name'")
            continue
        unknown = sorted(set(entry) - set(PROFILE_KEYS))
        if unknown:
            problems.append(f"{where} has unknown keys {unknown}; known: {list(PROFILE_KEYS)}")
        name = entry.get("name")
        if not isinstance(name, str) or not DNS1123_LABEL.match(name):
            problems.append(f"{where}: name {name!r} must be lower-case letters, digits and '-'")
            continue
        where = f"job profile {name!r}"
        if name in seen:
            problems.append(f"two job profiles are named {name!r}")
        seen.add(name)
        for key in ("cpu", "memory"):
            if entry.get(key) is not None:
                try:
                    parse_quantity(str(entry[key]))
                except ValueError as exc:
                    problems.append(f"{where}: {key}: {exc}")
        gpu = entry.get("gpu", 0)
        if not isinstance(gpu, int) or isinstance(gpu, bool) or gpu < 0:
            problems.append(f"{where}: gpu must be a whole number >= 0, not {gpu!r}")
        problems.extend(node_selector_problems(entry.get("node_selector", {}), where))
        problems.extend(toleration_problems(entry.get("tolerations", []), where))
        problems.extend(priority_class_problems(entry.get("priority_class_name"), where))
        for key in ("allowed_users", "allowed_groups"):
            value = entry.get(key)
            if value is not None and (
                isinstance(value, str) or not all(isinstance(v, str) for v in value)
            ):
                problems.append(f"{where}: {key} must be a list of names")
        if len(problems) > before:
            continue
        users, groups = entry.get("allowed_users"), entry.get("allowed_groups")
        out.append(
            JobProfile(
                name=name,
                display_name=str(entry.get("display_name") or name),
                description=str(entry.get("description") or ""),
                default=bool(entry.get("default", False)),
                image=entry.get("image") or None,
                cpu=None if entry.get("cpu") is None else str(entry["cpu"]),
                memory=None if entry.get("memory") is None else str(entry["memory"]),
                gpu=gpu,
                node_selector=frozen_map(entry.get("node_selector")),
                tolerations=tuple(frozen_map(t) for t in entry.get("tolerations") or ()),
                priority_class_name=entry.get("priority_class_name"),
                allowed_users=None if users is None else frozenset(users),
                allowed_groups=None if groups is None else frozenset(groups),
            )
        )
    if sum(1 for p in out if p.default) > 1:
        problems.append("more than one job profile has default: true")
    if problems:
        raise ValueError("; ".join(problems))
    return out


def offered(
    profiles: Sequence[JobProfile], user: str, groups: Iterable[str], *, required: bool
) -> JobProfiles:
    """The profiles ``user`` (in ``groups``) may use."""
    groups = list(groups)
    return JobProfiles(tuple(p for p in profiles if p.offered_to(user, groups)), required)


def namespace_annotations(profiles: JobProfiles) -> dict[str, str]:
    """What the admission policy reads on the user's namespace: every toleration, node label
    and priority class any of the user's profiles allows (empty: none allowed)."""
    tolerations: set[str] = set()
    selectors: set[str] = set()
    priorities: set[str] = set()
    for p in profiles.profiles:
        tolerations.update(toleration_token(t) for t in p.tolerations)
        selectors.update(selector_token(k, v) for k, v in p.node_selector.items())
        if p.priority_class_name:
            priorities.add(p.priority_class_name)
    return {
        ANNOTATION_TOLERATIONS: ",".join(sorted(tolerations)),
        ANNOTATION_NODE_SELECTOR: ",".join(sorted(selectors)),
        ANNOTATION_PRIORITY_CLASSES: ",".join(sorted(priorities)),
    }


# -- a job under a profile ------------------------------------------------------------------
def apply_profile(spec: JobSpec, profiles: JobProfiles) -> JobSpec:
    """``spec`` with its profile's image, resources and placement filled in; InvalidSpecError
    when it names an unknown profile, exceeds it, or sets placement no profile gives it.

    With no profiles configured (no hub, or an admin who defines none) the spec is returned
    as it is."""
    if not profiles:
        if spec.profile is not None:
            raise InvalidSpecError(
                f"job profile {spec.profile!r} was asked for, and no job profiles are "
                "configured here (they come from the JupyterHub admin)"
            )
        return spec
    name = spec.profile
    if name is None and profiles.default is not None:
        name = profiles.default.name
    if name is None:
        if profiles.required:
            offered_names = ", ".join(profiles.names) or "none are offered to you"
            raise InvalidSpecError(
                f"this hub requires a job profile: choose one with --profile NAME "
                f"(profile= in Python); profiles: {offered_names}"
            )
        _no_profile_placement(spec)
        return spec
    profile = profiles.get(name)
    problems = _placement_problems(spec, profile) + _resource_problems(spec, profile)
    if problems:
        raise InvalidSpecError(problems)
    r = spec.resources
    resources = Resources(
        cpu=r.cpu or profile.cpu, memory=r.memory or profile.memory, gpu=r.gpu or profile.gpu
    )
    return dataclasses.replace(
        spec,
        profile=profile.name,
        image=spec.image or profile.image,
        resources=resources,
        node_selector={**profile.node_selector},
        tolerations=tuple(profile.tolerations),
        # A TrainJob runs with its runtime's priority class (trainjob.py).
        priority_class=None if spec.kind == "TrainJob" else profile.priority_class_name,
    )


def _no_profile_placement(spec: JobSpec) -> None:
    if spec.node_selector or spec.tolerations or spec.priority_class:
        raise InvalidSpecError(
            "node selector, tolerations and priority class come from a job profile here: "
            "choose one with --profile NAME (`jupyter kf profiles` lists them)"
        )


def _placement_problems(spec: JobSpec, profile: JobProfile) -> list[str]:
    problems = []
    for key, value in spec.node_selector.items():
        if profile.node_selector.get(key) != value:
            problems.append(
                f"node selector {key}={value} is not part of job profile {profile.name!r} "
                f"({_selector_text(profile)}); leave it out: the profile places the job"
            )
    allowed = {toleration_token(t) for t in profile.tolerations}
    for t in spec.tolerations:
        if toleration_token(t) not in allowed:
            problems.append(
                f"toleration {dict(t)} is not part of job profile {profile.name!r}; leave it "
                "out: the profile's tolerations are applied, or choose another profile"
            )
    if spec.priority_class and spec.priority_class != profile.priority_class_name:
        problems.append(
            f"priority class {spec.priority_class!r} is not job profile {profile.name!r}'s "
            f"({profile.priority_class_name or 'none'})"
        )
    return problems


def _selector_text(profile: JobProfile) -> str:
    pairs = [selector_token(k, v) for k, v in sorted(profile.node_selector.items())]
    return "it selects " + ", ".join(pairs) if pairs else "it selects no nodes"


def _resource_problems(spec: JobSpec, profile: JobProfile) -> list[str]:
    problems = []
    r = spec.resources
    for key, asked, most in (("cpu", r.cpu, profile.cpu), ("memory", r.memory, profile.memory)):
        if asked is not None and most is not None and parse_quantity(asked) > parse_quantity(most):
            problems.append(
                f"{key} {asked} per replica is more than job profile {profile.name!r} allows "
                f"({most}); ask for at most {most}, or choose a bigger profile"
            )
    if r.gpu > profile.gpu:
        problems.append(
            f"{r.gpu} GPU(s) per replica is more than job profile {profile.name!r} allows "
            f"({profile.gpu}); ask for at most {profile.gpu}, or choose a GPU profile"
        )
    return problems
