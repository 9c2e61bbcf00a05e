"""What the cluster serves, as the Kubernetes backend needs it when a job is submitted.

A cluster runs the Training Operator v1 (PyTorchJob, TFJob, ...), Kubeflow Trainer v2
(TrainJob on a runtime), or both. ``Apis.resolve`` turns the job a user asked for into the
one the cluster can run, or says in one sentence what to ask for instead: a job whose kind
was not asked for (``JobSpec.kind_auto``) becomes a TrainJob on the matching runtime where
the v1 kind is not served; an explicit v1 kind on a Trainer-only cluster, or a TrainJob on a
v1-only one, is refused with the name to use.

The notebook's environment may name the APIs to use (``JUPYTER_KF_TRAINING_APIS``, set by
the hub: jobs/apis.py); then discovery is skipped and a kind of another API is refused,
saying so, even where the cluster serves it.
"""

from __future__ import annotations

import threading
import time

from ...errors import InvalidSpecError, JupyterKFError
from ...jobs import JobSpec
from ...jobs.apis import ENV, V1, V2, describe
from ...jobs.kinds import KINDS, TRAINJOB, kind_info
from ...jobs.runtimes import CLUSTER_SCOPE, Runtime
from ...jobs.trainjob import PLUGIN_OF_KIND, as_trainjob
from ...k8s import ApiClient
from ...k8s.discovery import RuntimeList, ServedApis, list_runtimes, served_apis

RUNTIMES_TTL = 30.0  # seconds a namespace's runtime list is reused for submits


class Apis:
    """``allowed``: the APIs the notebook's environment lists (None: discover them)."""

    def __init__(self, api_client: ApiClient, allowed: frozenset[str] | None = None):
        self.api = api_client
        self.allowed = allowed
        self._lock = threading.Lock()
        self._served: ServedApis | None = None
        self._stated = (
            None
            if allowed is None
            else ServedApis(
                v1_kinds=frozenset(KINDS) if V1 in allowed else frozenset(),
                trainjob=V2 in allowed,
                jobset=V2 in allowed,
            )
        )
        self._runtimes: dict[str, tuple[float, RuntimeList]] = {}

    def served(self, fresh: bool = False) -> ServedApis:
        if self._stated is not None:
            return self._stated  # the administrator's word: nothing to discover
        with self._lock:
            if self._served is not None and not fresh:
                return self._served
        served = served_apis(self.api)
        with self._lock:
            self._served = served
        return served

    def runtimes(self, namespace: str, fresh: bool = True) -> RuntimeList:
        if not fresh:
            with self._lock:
                hit = self._runtimes.get(namespace)
            if hit is not None and time.monotonic() - hit[0] < RUNTIMES_TTL:
                return hit[1]
        if not self.served().trainjob:
            return RuntimeList([])
        found = list_runtimes(self.api, namespace)
        with self._lock:
            self._runtimes[namespace] = (time.monotonic(), found)
        return found

    def backoff_limit(self, namespace: str, name: str, scope: str) -> int | None:
        """The Job backoffLimit of runtime ``name`` (``scope``), for a failed TrainJob's
        reason: from the runtimes last listed for ``namespace`` (at any age: a runtime's limit
        is an administrator's setting), listed once if never; None when it is not there or
        cannot be read (the reason then names no number)."""
        with self._lock:
            hit = self._runtimes.get(namespace)
        try:
            found = hit[1] if hit is not None else self.runtimes(namespace)
        except JupyterKFError:
            return None
        for runtime in found:
            if runtime.name == name and runtime.scope == scope:
                return runtime.backoff_limit
        return None

    def runtime(self, spec: JobSpec, namespace: str) -> Runtime:
        """The runtime ``spec`` names; an unknown name gets the list of the cluster's."""
        scope = spec.runtime_kind or CLUSTER_SCOPE
        for fresh in (False, True):
            found = self.runtimes(namespace, fresh=fresh)
            for runtime in found:
                if runtime.name == spec.runtime and runtime.scope == scope:
                    return runtime
        names = ", ".join(f"{r.name}" for r in found if r.scope == scope) or "none"
        where = "" if scope == CLUSTER_SCOPE else f" in namespace {namespace!r}"
        refused = f" ({found.refused[0]})" if getattr(found, "refused", ()) else ""
        raise InvalidSpecError(
            f"there is no {scope} named {spec.runtime!r}{where}; the cluster has: {names}{refused}"
        )

    def resolve(self, spec: JobSpec, namespace: str) -> tuple[JobSpec, Runtime | None, str]:
        """The spec to submit, its runtime (for a TrainJob) and a notice for the user ('' when
        the job is submitted as asked)."""
        served = self.served()
        if spec.kind == TRAINJOB.kind:
            if not served.trainjob:
                served = self.served(fresh=True)  # installed since we last looked?
            if not served.trainjob:
                instead = (
                    f"; it runs the Training Operator v1: submit a "
                    f"{' or '.join(sorted(served.v1_kinds))} instead (e.g. framework='pytorch')"
                    if served.v1_kinds
                    else "; nor does it serve the Training Operator v1's kinds"
                )
                raise InvalidSpecError(
                    f"{self._not_served('TrainJob', 'Kubeflow Trainer v2')}{instead}"
                )
            return spec, self.runtime(spec, namespace), ""
        if spec.kind in served.v1_kinds:
            return spec, None, ""
        served = self.served(fresh=True)
        if spec.kind in served.v1_kinds:
            return spec, None, ""
        plugin = PLUGIN_OF_KIND.get(spec.kind)
        runtime = self._runtime_for(plugin, namespace) if served.trainjob and plugin else None
        if spec.kind_auto and runtime is not None:
            converted = as_trainjob(spec, runtime.name, runtime.scope)
            return (
                converted,
                runtime,
                f"this cluster runs Kubeflow Trainer v2, not the Training Operator v1: "
                f"submitted as a TrainJob on runtime {runtime.name} "
                f"({converted.workers} nodes)",
            )
        info = kind_info(spec.kind)
        if runtime is not None:
            instead = (
                f"; it runs Kubeflow Trainer v2: submit a TrainJob on runtime "
                f"{runtime.name!r} (runtime='{runtime.name}', or %%kftrain --runtime "
                f"{runtime.name})"
            )
        elif served.trainjob:
            instead = (
                f"; it runs Kubeflow Trainer v2, which has no runtime for {info.framework}: "
                "client.runtimes() lists the runtimes it has"
            )
        else:
            instead = ""
        raise InvalidSpecError(
            f"{self._not_served(spec.kind, 'the Kubeflow Training Operator v1')}{instead}"
        )

    def _not_served(self, kind: str, api: str) -> str:
        """Why ``kind`` cannot be submitted: the cluster lacks it, or the notebook's
        environment leaves its API out."""
        if self.allowed is None:
            return f"this cluster does not serve {kind} ({api} is not installed)"
        listed = ",".join(sorted(self.allowed))
        return (
            f"this notebook uses {describe(self.allowed)} ({ENV}={listed}, set by the hub's "
            f"training_apis), so {kind} ({api}) is not offered"
        )

    def _runtime_for(self, plugin: str, namespace: str) -> Runtime | None:
        """The runtime that runs what a v1 kind ran: ``<framework>-distributed`` first."""
        found = [r for r in self.runtimes(namespace, fresh=False) if r.ml_policy == plugin]
        stock = {"torch": "torch-distributed", "jax": "jax-distributed"}.get(plugin, "")
        stock = stock or f"{plugin}-distributed"
        preferred = [r for r in found if r.name == stock] + [
            r for r in found if r.framework == plugin
        ]
        chosen = preferred or found
        return chosen[0] if chosen else None
