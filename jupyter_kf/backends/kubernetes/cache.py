"""One namespace's caches for the Kubernetes backend: a list+watch of every job kind the
cluster serves (the v1 kinds and the TrainJob), of the jobs' pods and of the namespace's
events, the listeners waiting on them, and the jobs converted from them."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

from ...errors import AmbiguousNameError, NotFoundError
from ...jobs import Job
from ...jobs.kinds import ALL_KINDS, kind_info
from ...jobs.runtimes import CLUSTER_SCOPE
from ...jobs.trainjob import NODE_CONTAINER
from ...k8s import Informer, core_api, custom_api, iter_lines, open_stream
from .convert import LABEL_JOB, Arrivals, job_from_cr, pod_name
from .stream import Followers
from .trainjob import (
    LABEL_JOBSET,
    TAIL_LINES,
    NodeFailures,
    is_trainjob,
    job_from_trainjob,
    pod_of_node,
)

LABEL_OPERATOR = "training.kubeflow.org/operator-name"
# Kinds whose events name the job (a TrainJob's JobSet and Jobs too: see trainjob.owns_event).
EVENT_KINDS = frozenset({*ALL_KINDS, "JobSet", "Job", "Pod"})


def job_of_pod(pod: dict) -> str | None:
    """The job a pod belongs to: the operator's job-name label, or a TrainJob's JobSet."""
    labels = (pod.get("metadata") or {}).get("labels") or {}
    return labels.get(LABEL_JOB) or labels.get(LABEL_JOBSET)


def split_name(name: str) -> tuple[str | None, str]:
    """``kind/name`` → (the Kind, name); a bare name → (None, name). The kind may be written
    as kubectl takes it (``pytorchjob``, ``pytorchjobs``, ``PyTorchJob``) or as a framework
    (``pytorch``); an unknown one raises ``NotFoundError``."""
    if "/" not in name:
        return None, name
    kind, _, bare = name.partition("/")
    try:
        return kind_info(kind).kind, bare
    except KeyError as exc:
        raise NotFoundError(str(exc.args[0])) from None


def _of_kind(pod: dict, cr: dict) -> bool:
    """Whether ``pod`` is one of ``cr``'s: a TrainJob's pods are its JobSet's, a v1 kind's
    carry its operator's name (two kinds' jobs of one name have pods of the same job name)."""
    labels = (pod.get("metadata") or {}).get("labels") or {}
    info = kind_info(cr["kind"])
    if info.is_trainjob:
        return LABEL_JOBSET in labels
    operator = labels.get(LABEL_OPERATOR)
    return LABEL_JOB in labels and (operator is None or operator == info.operator_name)


class Pods:
    """The pods of a namespace's jobs: the v1 operator's (by its job-name label) and JobSet's
    (a TrainJob's), two list+watches read as one."""

    def __init__(self, core: Any, namespace: str, on_change) -> None:
        self.informers = [
            Informer(
                functools.partial(core.list_namespaced_pod, namespace, label_selector=selector),
                resource="pods",
                namespace=namespace,
                on_change=on_change,
            )
            for selector in (LABEL_JOB, LABEL_JOBSET)
        ]

    def get(self, name: str) -> dict | None:
        for informer in self.informers:
            pod = informer.get(name)
            if pod is not None:
                return pod
        return None

    def items(self) -> list[dict]:
        return [pod for informer in self.informers for pod in informer.items()]

    def start(self) -> None:
        for informer in self.informers:
            informer.start()

    def stop(self) -> None:
        for informer in self.informers:
            informer.stop()


def _read_tail(core: Any, namespace: str, pod: str, previous: bool) -> list[str]:
    response = open_stream(
        core.read_namespaced_pod_log,
        *(pod, namespace),
        verb="read logs of",
        resource="pods",
        namespace=namespace,
        name=pod,
        container=NODE_CONTAINER,
        previous=previous,
        tail_lines=TAIL_LINES,
        _request_timeout=(5, 30),
    )
    try:
        return list(iter_lines(response))
    finally:
        response.close()


# (namespace, runtime name, runtime scope) -> that runtime's Job backoffLimit, or None.
RuntimeLimit = Callable[[str, str, str], "int | None"]


class Namespace:
    """The caches of one namespace and the listeners waiting on them."""

    # A runtime's Job backoffLimit, named in a failed TrainJob's reason as the local backend
    # names it (a TrainJob has no limit of its own); the backend sets it.
    runtime_limit: RuntimeLimit | None = None

    def __init__(
        self,
        api: Any,
        namespace: str,
        kinds: frozenset[str] | None = None,
    ):
        """``kinds``: the job kinds to watch (None: every kind whose CRD is installed)."""
        self.namespace = namespace
        self.listeners: list[queue.Queue] = []
        self.lock = threading.Lock()
        self.converted: dict[str, tuple[tuple, Job]] = {}
        self.custom = custom = custom_api(api)
        self.core = core = core_api(api)
        self.followers = Followers(self)  # before the caches: their changes poke it
        self.arrivals = Arrivals()
        self.jobs: dict[str, Informer] = {}
        informers = []
        for info in ALL_KINDS.values():
            if kinds is not None and info.kind not in kinds:
                continue
            fn = functools.partial(
                custom.list_namespaced_custom_object,
                *(info.group, info.version, namespace, info.plural),
            )
            informers.append(
                (
                    info.kind,
                    Informer(fn, resource=info.plural, namespace=namespace, on_change=self._on_job),
                )
            )
        # Before the pods' cache: its changes feed it.
        self.failures = NodeFailures(functools.partial(_read_tail, core, namespace))
        self.pods = Pods(core, namespace, self._on_pod)
        self.events = Informer(
            functools.partial(core.list_namespaced_event, namespace),
            resource="events",
            namespace=namespace,
            on_change=self._on_event,
        )
        started = []
        try:
            for kind, informer in informers:
                try:
                    informer.start()
                except NotFoundError:
                    continue  # that kind's CRD is not installed: jobs of it cannot exist
                self.jobs[kind] = informer
                started.append(informer)
            for pods in self.pods.informers:
                pods.start()
                started.append(pods)
            self.events.start()  # its list's events are seen "at once" (arrival 0)
            self.arrivals.listing = False
            started.append(self.events)
        except BaseException:
            for informer in started:
                informer.stop()
            raise

    def informers(self) -> list[Informer]:
        return [*self.jobs.values(), *self.pods.informers, self.events]

    def close(self) -> None:
        self.followers.close()
        for informer in self.informers():
            informer.stop()

    # -- change fan-out ---------------------------------------------------------------------
    @contextlib.contextmanager
    def listening(self) -> Iterator[queue.Queue]:
        """A queue that gets ``(what, job name)`` for every change while the block runs."""
        q: queue.Queue = queue.Queue()
        with self.lock:
            self.listeners.append(q)
        try:
            yield q
        finally:
            with self.lock:
                self.listeners.remove(q)

    def _emit(self, kind: str, name: str) -> None:
        with self.lock:
            listeners = list(self.listeners)
        for q in listeners:
            q.put((kind, name))

    def _on_job(self, kind: str, obj: dict) -> None:
        if kind in ("ADDED", "DELETED"):  # a namesake made since is another job
            self.failures.forget(obj["metadata"]["name"])
        self.followers.poke(obj["metadata"]["name"])
        self._emit("DELETED" if kind == "DELETED" else "JOB", obj["metadata"]["name"])

    def _on_pod(self, kind: str, obj: dict) -> None:
        job = job_of_pod(obj)
        if job and LABEL_JOBSET in ((obj.get("metadata") or {}).get("labels") or {}):
            self.failures.saw(job, obj)
        if job:
            self.followers.poke(job)
            self._emit("POD", job)

    def _on_event(self, kind: str, obj: dict) -> None:
        self.arrivals.saw(kind, obj)
        # Named by the job, or by one of its pods (a job's stream of updates shows both).
        involved = obj.get("involvedObject") or {}
        if involved.get("kind") in EVENT_KINDS:
            self._emit("EVENT", involved.get("name", ""))

    # -- reading ----------------------------------------------------------------------------
    def find(self, name: str) -> dict | None:
        """The job ``name`` names: a bare name, or ``kind/name`` (``pytorchjob/dup``,
        ``trainjobs/dup``, ``tensorflow/dup``) as kubectl takes it. A bare name more than
        one job has raises ``AmbiguousNameError`` listing them."""
        found = self.candidates(name)
        if len(found) > 1:
            bare = split_name(name)[1]
            listed = ", ".join(f"{cr['kind']} {bare}" for cr in found)
            example = f"{found[0]['kind'].lower()}/{bare}"
            raise AmbiguousNameError(
                f"{len(found)} jobs are named {bare!r} in namespace {self.namespace!r} "
                f"({listed}); name one as kind/name, e.g. {example!r}"
            )
        return found[0] if found else None

    def candidates(self, name: str) -> list[dict]:
        kind, bare = split_name(name)
        informers = [self.jobs[kind]] if kind in self.jobs else [] if kind else self.jobs.values()
        return [cr for informer in informers if (cr := informer.get(bare)) is not None]

    def job(self, cr: dict) -> Job:
        name = cr["metadata"]["name"]
        pods = [p for p in self.pods.items() if job_of_pod(p) == name and _of_kind(p, cr)]
        return self._converted(cr, pods)

    def pod_of(self, job: str, kind: str, replica: str) -> dict | None:
        """The current pod of ``replica`` (``worker-1``, ``node-0``) of ``job``, or None."""
        if kind_info(kind).is_trainjob:
            return pod_of_node([p for p in self.pods.items() if job_of_pod(p) == job], replica)
        info = kind_info(kind)
        role, _, index = replica.rpartition("-")
        known = next((r for r in info.roles if r.lower() == role), None)
        if known is None or not index.isdigit():
            return None
        return self.pods.get(pod_name(job, info.kind, known, int(index)))

    def all_jobs(self) -> list[Job]:
        crs = [cr for informer in self.jobs.values() for cr in informer.items()]
        pods_by_job: dict[str, list[dict]] = {}
        for pod in self.pods.items():
            pods_by_job.setdefault(job_of_pod(pod) or "", []).append(pod)
        jobs = [
            self._converted(
                cr, [p for p in pods_by_job.get(cr["metadata"]["name"], ()) if _of_kind(p, cr)]
            )
            for cr in crs
        ]
        keys = {f"{j.kind}/{j.name}" for j in jobs}
        for gone in [k for k in list(self.converted) if k not in keys]:
            self.converted.pop(gone, None)
        return sorted(jobs, key=lambda j: j.name)

    def _converted(self, cr: dict, pods) -> Job:
        """``job_from_cr``, remembered until the CR or one of its pods changes: a list of
        hundreds of jobs converts only what moved since the last one."""
        name = cr["metadata"]["name"]
        cache_key = f"{cr['kind']}/{name}"  # a PyTorchJob and a TrainJob may share a name
        failed = self.failures.of(name) if is_trainjob(cr) else {}
        key = (
            cr["metadata"].get("resourceVersion"),
            tuple(sorted(p["metadata"].get("resourceVersion", "") for p in pods)),
            tuple(sorted(failed)),
        )
        hit = self.converted.get(cache_key)
        if hit is not None and hit[0] == key:
            return hit[1]
        if is_trainjob(cr):
            job = job_from_trainjob(cr, pods, failed=failed)
            if job.phase == "Failed" and self.runtime_limit is not None:
                ref = (cr.get("spec") or {}).get("runtimeRef") or {}
                limit = self.runtime_limit(
                    self.namespace, str(ref.get("name")), str(ref.get("kind") or CLUSTER_SCOPE)
                )
                if limit is not None:
                    job = dataclasses.replace(job, extra={**job.extra, "backoff_limit": limit})
        else:
            job = job_from_cr(cr, pods)
        self.converted[cache_key] = (key, job)
        return job
