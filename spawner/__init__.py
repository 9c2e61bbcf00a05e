"""Deprecated: the spawner moved to ``jupyter_kf.hub``.

``spawner.KubeflowSpawner`` still works for this release, with a DeprecationWarning;
configurations should say ``c.JupyterHub.spawner_class = "kubeflow"`` (the entry point)
or ``"jupyter_kf.hub.KubeflowSpawner"``.
"""

from __future__ import annotations

import warnings
from typing import Any

__all__ = ["KubeflowSpawner"]


def __getattr__(name: str) -> Any:
    # On access rather than on import, so every configuration that names the old path
    # is told, not only the first import in a process.
    if name != "KubeflowSpawner":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn(
        "spawner.KubeflowSpawner is deprecated and goes in the next release: use "
        "jupyter_kf.hub.KubeflowSpawner (or spawner_class = 'kubeflow')",
        DeprecationWarning,
        stacklevel=2,
    )
    from jupyter_kf.hub import KubeflowSpawner

    return KubeflowSpawner
