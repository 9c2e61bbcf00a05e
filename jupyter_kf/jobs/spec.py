"""The job a user asks for: one ``JobSpec`` for every Training Operator kind.

A ``JobSpec`` is frozen and checks itself when made: a bad one raises ``InvalidSpecError``
listing every problem at once (see ``validation.py``). It round-trips through plain JSON
(``to_dict``/``from_dict``) so the local backend, the REST API and the CLI share it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidSpecError
from .kinds import KindInfo, canonical_role, kind_info
from .parts import DEFAULT_BACKOFF_LIMIT, Code, ElasticPolicy, Resources, RunPolicy, frozen_map
from .storage import Volume, parse_volume
from .validation import problems_of

__all__ = [
    "CODE_MOUNT",
    "Code",
    "ElasticPolicy",
    "JobSpec",
    "Resources",
    "RunPolicy",
    "Volume",
    "default_replicas",
]

CODE_MOUNT = "/opt/jupyter-kf/code"  # where a job's code is mounted in its pods
# The spec's mapping fields: frozen when made, left out of to_dict when empty.
MAPPING_FIELDS = (
    "env",
    "labels",
    "annotations",
    "pod_labels",
    "pod_annotations",
    "secret_env",
    "node_selector",
)


@dataclass(frozen=True)
class JobSpec:
    """A distributed training job, the same on the local backend and on a cluster.

    ``replicas`` maps the kind's roles to counts (``{"Master": 1, "Worker": 3}``); use
    ``JobSpec.create(framework, workers=N, ...)`` to get the conventional layout.
    """

    name: str
    kind: str
    replicas: Mapping[str, int]
    code: Code | None = None
    command: tuple[str, ...] = ()  # the container command when there is no code
    image: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    resources: Resources = field(default_factory=Resources)
    restart_policy: str | None = None  # default: the kind's (see kinds.py)
    run_policy: RunPolicy = field(default_factory=RunPolicy)
    elastic_policy: ElasticPolicy | None = None
    nproc_per_node: str | None = None  # PyTorch: an integer or "auto"
    slots_per_worker: int | None = None  # MPI
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    # On every replica's pod, e.g. {"sidecar.istio.io/inject": "false"} (cluster only).
    pod_labels: Mapping[str, str] = field(default_factory=dict)
    pod_annotations: Mapping[str, str] = field(default_factory=dict)
    # TrainJob only: the runtime it runs on (``runtimeRef``), a ClusterTrainingRuntime unless
    # ``runtime_kind`` is "TrainingRuntime" (one in the job's namespace).
    runtime: str | None = None
    runtime_kind: str | None = None
    # The kind was not asked for (no framework, kind or runtime given): a cluster that does
    # not serve it may run the job as a TrainJob on the matching runtime instead.
    kind_auto: bool = False
    # Storage (jobs/storage.py): PVCs of the user's namespace, the notebook's home volume,
    # /dev/shm's size, and env from Secrets of the namespace ({"VAR": "secret:key"}: the
    # spec names a Secret, never holds a value).
    volumes: tuple[Volume, ...] = ()
    home: bool = False
    shm: str | None = None
    secret_env: Mapping[str, str] = field(default_factory=dict)
    # Where the pods may run (jobs/scheduling.py), usually filled from a job profile
    # (jobs/profiles.py), whose name ``profile`` keeps. Cluster only: the local backend
    # runs every worker on the notebook's machine.
    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: tuple[Mapping[str, Any], ...] = ()
    priority_class: str | None = None
    profile: str | None = None

    def __post_init__(self) -> None:
        # Normalise what is unambiguous, then let validation report everything else.
        try:
            object.__setattr__(self, "kind", kind_info(self.kind).kind)
        except (KeyError, AttributeError):
            pass  # validation names the problem
        if isinstance(self.replicas, Mapping):
            object.__setattr__(self, "replicas", frozen_map(self._canonical_roles()))
        object.__setattr__(self, "command", tuple(str(c) for c in self.command or ()))
        object.__setattr__(self, "volumes", _volumes(self.volumes))
        if isinstance(self.tolerations, (list, tuple)):
            object.__setattr__(
                self,
                "tolerations",
                tuple(frozen_map(t) if isinstance(t, Mapping) else t for t in self.tolerations),
            )
        for name in MAPPING_FIELDS:
            value = getattr(self, name)
            if isinstance(value, Mapping):
                object.__setattr__(self, name, frozen_map(value))
        if isinstance(self.nproc_per_node, int) and not isinstance(self.nproc_per_node, bool):
            object.__setattr__(self, "nproc_per_node", str(self.nproc_per_node))
        if (
            self.kind == "TrainJob"
            and isinstance(self.run_policy, RunPolicy)
            and self.run_policy.backoff_limit == DEFAULT_BACKOFF_LIMIT
        ):
            # A TrainJob's retries are its runtime's (the backoffLimit of the Job template
            # its nodes run in): the TrainJob has no field for them.
            object.__setattr__(
                self, "run_policy", dataclasses.replace(self.run_policy, backoff_limit=None)
            )
        problems = problems_of(self)
        if problems:
            raise InvalidSpecError(problems)

    def _canonical_roles(self) -> dict[Any, Any]:
        """Role names match case-insensitively, as the operator's defaulting does."""
        try:
            info = kind_info(self.kind)
        except (KeyError, AttributeError):
            return dict(self.replicas)
        out: dict[Any, Any] = {}
        for role, count in self.replicas.items():
            canonical = canonical_role(info, role) if isinstance(role, str) else None
            key = canonical or role
            out[key] = count + out[key] if key in out and isinstance(count, int) else count
        return out

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def create(
        cls, framework: str | None = None, *, name: str, workers: int = 1, **kwargs: Any
    ) -> JobSpec:
        """The conventional layout for ``workers`` training processes of a framework.

        The kind's ``replicas_for`` decides: PyTorch and XGBoost get a Master plus
        ``workers - 1`` Workers (the operator injects RANK and WORLD_SIZE only when a Master
        exists); MPI a Launcher plus ``workers`` Workers; TensorFlow, JAX and Paddle
        ``workers`` Workers; a TrainJob ``workers`` nodes. Without a framework, a job that
        names a ``runtime`` is a TrainJob and any other a PyTorchJob.
        """
        if framework is None:
            if kwargs.get("runtime") is not None:
                framework = "TrainJob"
            else:
                framework = "pytorch"
                kwargs.setdefault("kind_auto", True)
        try:
            info = kind_info(framework)
        except KeyError as exc:
            raise InvalidSpecError(str(exc.args[0])) from None
        bad_workers = not isinstance(workers, int) or isinstance(workers, bool) or workers < 1
        problems: list[str] = []
        if bad_workers:
            problems.append(f"workers must be a whole number >= 1, not {workers!r}")
        try:
            spec = cls(
                name=name,
                kind=info.kind,
                replicas=default_replicas(info.kind, 1 if bad_workers else workers),
                **kwargs,
            )
        except InvalidSpecError as exc:
            problems.extend(exc.problems)
        if problems:
            raise InvalidSpecError(problems)
        return spec

    @property
    def info(self) -> KindInfo:
        return kind_info(self.kind)

    @property
    def framework(self) -> str:
        return self.info.framework

    @property
    def total_replicas(self) -> int:
        return sum(self.replicas.values())

    @property
    def workers(self) -> int:
        """Training processes, as ``--workers`` counts them (see ``JobSpec.create``)."""
        return self.info.workers_of(self.replicas)

    def with_workers(self, workers: int) -> JobSpec:
        """The same job resized to ``workers`` training processes (the inverse of ``workers``).

        Only the kind's worker role changes; a leader that is a worker (a PyTorch Master)
        counts as one of the ``workers``, as in ``JobSpec.create``.
        """
        replicas = dict(self.replicas)
        replicas[self.info.worker_role] = self.info.worker_replicas_for(self.replicas, workers)
        return dataclasses.replace(self, replicas=replicas)

    # -- serialisation ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "replicas": dict(self.replicas),
        }
        if self.code is not None:
            out["code"] = self.code.to_dict()
        if self.command:
            out["command"] = list(self.command)
        for key in (
            "image",
            "restart_policy",
            "nproc_per_node",
            "slots_per_worker",
            "runtime",
            "runtime_kind",
            "shm",
            "priority_class",
            "profile",
        ):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        for key in MAPPING_FIELDS:
            if getattr(self, key):
                out[key] = dict(getattr(self, key))
        if self.tolerations:
            out["tolerations"] = [dict(t) for t in self.tolerations]
        if self.kind_auto:
            out["kind_auto"] = True
        if self.volumes:
            out["volumes"] = [v.to_dict() for v in self.volumes]
        if self.home:
            out["home"] = True
        for key in ("resources", "run_policy", "elastic_policy"):
            value = getattr(self, key)
            if value is not None and value.to_dict():
                out[key] = value.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobSpec:
        """Build from JSON-like data (REST bodies, spec.json). Unknown keys are refused."""
        if not isinstance(data, Mapping):
            raise InvalidSpecError("the job must be a JSON object")
        problems: list[str] = []
        known = {f.name for f in dataclasses.fields(cls)} | {"framework", "workers"}
        for key in data:
            if key not in known:
                problems.append(f"unknown field {key!r}; known fields: {', '.join(sorted(known))}")
        kwargs = {k: v for k, v in data.items() if k in known}
        nested = {
            "code": Code,
            "resources": Resources,
            "run_policy": RunPolicy,
            "elastic_policy": ElasticPolicy,
        }
        for key, typ in nested.items():
            value = kwargs.get(key)
            if value is None or isinstance(value, typ):
                continue
            if not isinstance(value, Mapping):
                problems.append(f"{key} must be an object")
                kwargs.pop(key)
                continue
            names = {f.name for f in dataclasses.fields(typ)}
            unknown = sorted(set(value) - names)
            if unknown:
                problems.append(f"{key} has unknown fields {unknown}; known: {sorted(names)}")
            try:
                kwargs[key] = typ(**{k: v for k, v in value.items() if k in names})
            except (TypeError, ValueError) as exc:
                problems.append(f"{key}: {exc}")
                kwargs.pop(key)
        if problems:
            raise InvalidSpecError(problems)
        framework = kwargs.pop("framework", None)
        workers = kwargs.pop("workers", None)
        if "replicas" not in kwargs:
            if not isinstance(workers, int) or isinstance(workers, bool):
                workers = 1 if workers is None else workers
            kind = kwargs.pop("kind", None) or framework
            if kind is None and kwargs.get("runtime") is None:
                kwargs.setdefault("kind_auto", True)
            if kind is None:
                kind = "TrainJob" if kwargs.get("runtime") is not None else "pytorch"
            if not isinstance(kind, str):
                raise InvalidSpecError(f"kind must be a string, not {kind!r}")
            if not isinstance(workers, int):
                raise InvalidSpecError(f"workers must be a whole number, not {workers!r}")
            return cls.create(kind, workers=workers, **kwargs)
        if "kind" not in kwargs:
            if framework is None and not kwargs.get("runtime"):
                kwargs.setdefault("kind_auto", True)
            kwargs["kind"] = framework or ("TrainJob" if kwargs.get("runtime") else "pytorch")
        try:
            return cls(**kwargs)
        except TypeError as exc:
            raise InvalidSpecError(str(exc)) from None


def _volumes(value: Any) -> Any:
    """Volumes as a tuple of ``Volume``: from JSON objects or ``claim:/path[:ro]`` strings.
    What cannot be read is kept as given, for validation to name."""
    if value is None:
        return ()
    if isinstance(value, (str, Mapping)) or not isinstance(value, (list, tuple)):
        return value  # validation: "volumes must be a list"
    out: list[Any] = []
    names = {f.name for f in dataclasses.fields(Volume)}
    for item in value:
        if isinstance(item, str):
            try:
                item = parse_volume(item)
            except ValueError:
                pass  # kept as the string; validation names it
        elif isinstance(item, Mapping) and set(item) <= names and {"claim", "mount"} <= set(item):
            item = Volume(**item)
        out.append(item)
    return tuple(out)


def default_replicas(kind: str, workers: int) -> dict[str, int]:
    """Roles and counts for ``workers`` training processes (see ``JobSpec.create``)."""
    return kind_info(kind).replicas_for(workers)
