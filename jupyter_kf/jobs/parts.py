"""The parts of a ``JobSpec``: what each replica asks for, the code it runs, its policies.

They live apart from ``JobSpec`` so that validation can name their types without importing
the spec that calls it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


def frozen_map(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(value or {}))


@dataclass(frozen=True)
class Resources:
    """What each replica asks for. ``cpu`` and ``memory`` are Kubernetes quantities."""

    cpu: str | None = None
    memory: str | None = None
    gpu: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v not in (None, 0)}


@dataclass(frozen=True)
class Code:
    """Python source the workers run, shipped with the job (a cell, a file or a function).

    ``files`` holds more modules that travel with it (``{"utils.py": "..."}``), so a script
    that imports a helper from the notebook's folder works on a cluster too.
    """

    source: str
    filename: str = "train.py"
    args: tuple[str, ...] = ()
    origin: str = "cell"  # "cell" | "file" | "function"
    files: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "args", tuple(str(a) for a in self.args))
        object.__setattr__(self, "files", frozen_map(self.files))

    def all_files(self) -> dict[str, str]:
        """Every file to ship, the entry point included."""
        return {**self.files, self.filename: self.source}

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "filename": self.filename,
            "args": list(self.args),
            "origin": self.origin,
            "files": dict(self.files),
        }


@dataclass(frozen=True)
class RunPolicy:
    """The operator's ``runPolicy``."""

    clean_pod_policy: str | None = None  # All | Running | None
    ttl_seconds_after_finished: int | None = None
    active_deadline_seconds: int | None = None
    backoff_limit: int | None = None
    suspend: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v not in (None, False)}


@dataclass(frozen=True)
class ElasticPolicy:
    """PyTorch ``elasticPolicy``: workers may join and leave between min and max."""

    min_replicas: int | None = None
    max_replicas: int | None = None
    rdzv_backend: str = "c10d"
    max_restarts: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}
