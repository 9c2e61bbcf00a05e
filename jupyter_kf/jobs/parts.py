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


# Pod annotations under this prefix carry a job's code inline (jobs/render.py, code_inline):
# jupyter-kf's own, never a user's.
CODE_ANNOTATION_PREFIX = "code.jupyter-kf.org/"


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


# A job whose code crashes fails after this many restarts instead of restarting forever (the
# operator's own default is no limit). ``RunPolicy(backoff_limit=None)`` asks for no limit.
DEFAULT_BACKOFF_LIMIT = 3


@dataclass(frozen=True)
class RunPolicy:
    """The operator's ``runPolicy``.

    ``backoff_limit`` counts restarts of replicas, summed over the job, as the Training
    Operator does (see ``jupyter_kf.backends.local.policy.past_backoff_limit``): once they
    reach it the job is Failed. It defaults to ``DEFAULT_BACKOFF_LIMIT``; None means no limit.
    """

    clean_pod_policy: str | None = None  # All | Running | None
    ttl_seconds_after_finished: int | None = None
    active_deadline_seconds: int | None = None
    backoff_limit: int | None = DEFAULT_BACKOFF_LIMIT
    suspend: bool = False

    def to_dict(self) -> dict[str, Any]:
        out = {
            k: v
            for k, v in dataclasses.asdict(self).items()
            # ``is``, not ``in``: ttl_seconds_after_finished=0 (== False) is a real value.
            if v is not None and v is not False and k != "backoff_limit"
        }
        if self.backoff_limit != DEFAULT_BACKOFF_LIMIT:
            # Written only when not the default; null (no limit) must survive a round trip.
            out["backoff_limit"] = self.backoff_limit
        return out


@dataclass(frozen=True)
class ElasticPolicy:
    """PyTorch ``elasticPolicy``: workers may join and leave between min and max."""

    min_replicas: int | None = None
    max_replicas: int | None = None
    rdzv_backend: str = "c10d"
    max_restarts: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}
