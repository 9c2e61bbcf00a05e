"""Which training APIs a notebook uses, as its environment states them.

The hub's ``KubeflowSpawner.training_apis`` puts ``JUPYTER_KF_TRAINING_APIS`` on the
notebook pod: ``v1`` (the Training Operator v1's kinds, ``kubeflow.org/v1``), ``v2``
(Kubeflow Trainer v2's TrainJob, ``trainer.kubeflow.org``), both (``v1,v2``), or ``auto``.
With a list, the Kubernetes backend takes the administrator's word for what the cluster
runs: it asks no discovery, watches only those kinds, and refuses the others by name.
With ``auto`` (or no variable) it discovers what the cluster serves.
"""

from __future__ import annotations

from ..errors import InvalidSpecError
from .kinds import KINDS, TRAINJOB

ENV = "JUPYTER_KF_TRAINING_APIS"
AUTO = "auto"
V1, V2 = "v1", "v2"
DESCRIPTIONS = {
    V1: "the Training Operator v1 (kubeflow.org/v1: PyTorchJob, TFJob, MPIJob, ...)",
    V2: "Kubeflow Trainer v2 (trainer.kubeflow.org: TrainJob on a runtime)",
}


def parse_training_apis(text: str | None, source: str = ENV) -> frozenset[str] | None:
    """The APIs ``text`` lists (``"v1"``, ``"v2"`` or ``"v1,v2"``, any case and spacing),
    or None for ``auto``/empty: discover them. ``source`` names where the text came from,
    for the error."""
    words = [w.strip().lower() for w in (text or "").replace(" ", ",").split(",")]
    words = [w for w in words if w]
    if not words or words == [AUTO]:
        return None
    unknown = [w for w in words if w not in DESCRIPTIONS]
    if unknown or AUTO in words:
        choices = "; ".join(f"{k}: {v}" for k, v in DESCRIPTIONS.items())
        raise InvalidSpecError(
            f"{source}={text!r} is not understood: use 'auto' (ask the cluster), or 'v1', "
            f"'v2' or 'v1,v2' ({choices})",
            subject="setting",
        )
    return frozenset(words)


def kinds_of(apis: frozenset[str]) -> frozenset[str]:
    """The job kinds the listed APIs serve."""
    kinds: set[str] = set()
    if V1 in apis:
        kinds |= set(KINDS)
    if V2 in apis:
        kinds.add(TRAINJOB.kind)
    return frozenset(kinds)


def api_of(kind: str) -> str:
    """``v1`` or ``v2``: the API a job kind belongs to."""
    return V2 if kind == TRAINJOB.kind else V1


def describe(apis: frozenset[str]) -> str:
    """``"v2 only"``, ``"v1 and v2"``: how a message names the listed APIs."""
    names = sorted(apis)
    return f"{names[0]} only" if len(names) == 1 else " and ".join(names)
