"""The Kubernetes backend: Training Operator CRs (``kubeflow.org/v1``) on a real cluster.

Reads are served from one list+watch cache per namespace (every job kind, the jobs' pods,
the namespace's events); writes go to the API server. It acts with whatever identity it
was given (in a notebook pod, the pod's ServiceAccount), and an API error reaches the user
as one of jupyter_kf.errors, translated in ``jupyter_kf.k8s.errors``.
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence

from ...errors import (
    ConflictError,
    InvalidSpecError,
    JupyterKFError,
    NotAcknowledgedError,
    NotFoundError,
)
from ...jobs import (
    Change,
    Cursor,
    Event,
    Job,
    JobSpec,
    Update,
    parse_metric_line,
    parse_status,
)
from ...jobs.kinds import GROUP, KINDS, VERSION, kind_info
from ...jobs.render import render_code_configmap, render_job
from ...k8s import (
    ApiClient,
    ClusterConfig,
    Informer,
    call,
    core_api,
    custom_api,
    load_api_client,
    own_retries,
)
from ..base import Backend
from .convert import LABEL_JOB, Arrivals, events_of, job_from_cr, replica_counts
from .stream import Followers, read_log, updates

STOP_TICK = 0.25  # how soon a watch notices its stop event
IMAGE_ENV = ("JUPYTER_KF_IMAGE", "JUPYTER_IMAGE")  # the notebook's image, set by the spawner
METRICS_LOG_LIMIT = 8 * 1024 * 1024  # bytes of rank 0's log read for metric points


class _Namespace:
    """The caches of one namespace and the listeners waiting on them."""

    def __init__(self, backend: KubernetesBackend, namespace: str):
        self.namespace = namespace
        self.listeners: list[queue.Queue] = []
        self.lock = threading.Lock()
        self.converted: dict[str, tuple[tuple, Job]] = {}
        custom = custom_api(backend.api)
        self.core = core = core_api(backend.api)
        self.followers = Followers(self)  # before the caches: their changes poke it
        self.arrivals = Arrivals()
        self.jobs: dict[str, Informer] = {}
        informers = []
        for info in KINDS.values():
            fn = functools.partial(
                custom.list_namespaced_custom_object, GROUP, VERSION, namespace, info.plural
            )
            informers.append(
                (
                    info.kind,
                    Informer(fn, resource=info.plural, namespace=namespace, on_change=self._on_job),
                )
            )
        self.pods = Informer(
            functools.partial(core.list_namespaced_pod, namespace, label_selector=LABEL_JOB),
            resource="pods",
            namespace=namespace,
            on_change=self._on_pod,
        )
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
            self.pods.start()
            started.append(self.pods)
            self.events.start()  # its list's events are seen "at once" (arrival 0)
            self.arrivals.listing = False
            started.append(self.events)
        except BaseException:
            for informer in started:
                informer.stop()
            raise

    def informers(self) -> list[Informer]:
        return [*self.jobs.values(), self.pods, self.events]

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
        self.followers.poke(obj["metadata"]["name"])
        self._emit("DELETED" if kind == "DELETED" else "JOB", obj["metadata"]["name"])

    def _on_pod(self, kind: str, obj: dict) -> None:
        job = ((obj.get("metadata") or {}).get("labels") or {}).get(LABEL_JOB)
        if job:
            self.followers.poke(job)
            self._emit("POD", job)

    def _on_event(self, kind: str, obj: dict) -> None:
        self.arrivals.saw(kind, obj)
        # Named by the job, or by one of its pods (a job's stream of updates shows both).
        involved = obj.get("involvedObject") or {}
        if involved.get("kind") in KINDS or involved.get("kind") == "Pod":
            self._emit("EVENT", involved.get("name", ""))

    # -- reading ----------------------------------------------------------------------------
    def find(self, name: str) -> dict | None:
        for informer in self.jobs.values():
            cr = informer.get(name)
            if cr is not None:
                return cr
        return None

    def job(self, cr: dict) -> Job:
        pods = [
            p
            for p in self.pods.items()
            if p["metadata"].get("labels", {}).get(LABEL_JOB) == cr["metadata"]["name"]
        ]
        return self._converted(cr, pods)

    def all_jobs(self) -> list[Job]:
        crs = [cr for informer in self.jobs.values() for cr in informer.items()]
        pods_by_job: dict[str, list[dict]] = {}
        for pod in self.pods.items():
            pods_by_job.setdefault(pod["metadata"].get("labels", {}).get(LABEL_JOB, ""), []).append(
                pod
            )
        jobs = [self._converted(cr, pods_by_job.get(cr["metadata"]["name"], ())) for cr in crs]
        names = {j.name for j in jobs}
        for gone in [n for n in list(self.converted) if n not in names]:
            self.converted.pop(gone, None)
        return sorted(jobs, key=lambda j: j.name)

    def _converted(self, cr: dict, pods) -> Job:
        """``job_from_cr``, remembered until the CR or one of its pods changes: a list of
        hundreds of jobs converts only what moved since the last one."""
        name = cr["metadata"]["name"]
        key = (
            cr["metadata"].get("resourceVersion"),
            tuple(sorted(p["metadata"].get("resourceVersion", "") for p in pods)),
        )
        hit = self.converted.get(name)
        if hit is not None and hit[0] == key:
            return hit[1]
        job = job_from_cr(cr, pods)
        self.converted[name] = (key, job)
        return job


class KubernetesBackend(Backend):
    """Jobs as Training Operator CRs. ``namespace`` defaults to the identity's own."""

    name = "kubernetes"
    acknowledger = "the cluster (the Training Operator and the API server's watch)"

    def __init__(
        self,
        *,
        namespace: str | None = None,
        image: str | None = None,
        config: ClusterConfig | None = None,
        api_client: ApiClient | None = None,
    ):
        if api_client is None:
            api_client, found = load_api_client(config)
        else:
            found = "default"
            own_retries(api_client)
        self.api = api_client
        self.default_namespace = namespace or found
        self.image = image
        self._namespaces: dict[str, _Namespace] = {}
        self._starting: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._custom = custom_api(api_client)
        self._core = core_api(api_client)

    # -- helpers --------------------------------------------------------------------------
    def _ns(self, namespace: str | None) -> _Namespace:
        namespace = namespace or self.default_namespace
        with self._lock:
            cached = self._namespaces.get(namespace)
            if cached is not None:
                return cached
            starting = self._starting.setdefault(namespace, threading.Lock())
        # One cache per namespace even when many threads ask for it first at once: the
        # others wait for it instead of listing the whole namespace again.
        with starting:
            with self._lock:
                if namespace in self._namespaces:
                    return self._namespaces[namespace]
            ns = _Namespace(self, namespace)  # lists synchronously: a 403 surfaces here
            with self._lock:
                self._namespaces[namespace] = ns
            return ns

    def _cr(self, name: str, namespace: str | None) -> tuple[_Namespace, dict]:
        ns = self._ns(namespace)
        cr = ns.find(name)
        if cr is None:
            raise NotFoundError(f"no training job named {name!r} in namespace {ns.namespace!r}")
        return ns, cr

    def _image(self, spec: JobSpec) -> str:
        if spec.image:
            return spec.image
        if self.image:
            return self.image
        for var in IMAGE_ENV:
            if os.environ.get(var):
                return os.environ[var]
        raise InvalidSpecError(
            "no image to run the job in: pass image=..., or set JUPYTER_KF_IMAGE (in a "
            "notebook started by the jupyter-kf spawner it is the notebook's own image)"
        )

    def _until(
        self,
        ns: _Namespace,
        name: str,
        done: Callable[[dict | None], bool],
        change: str = "the change",
        timeout: float | None = None,
    ) -> Job | None:
        """Wait until ``done(cr_or_None)`` holds in the cache; return the job (None if gone).

        Woken by the namespace's change notifications (checked again at least every 0.5 s);
        ``NotAcknowledgedError`` after ``timeout`` (default: ``ack_timeout``) seconds.
        """
        timeout = self.ack_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        with ns.listening() as changes:
            while True:
                cr = ns.find(name)
                if done(cr):
                    return ns.job(cr) if cr is not None else None
                left = deadline - time.monotonic()
                if left <= 0:
                    raise NotAcknowledgedError(name, change, timeout, self.acknowledger)
                with contextlib.suppress(queue.Empty):
                    changes.get(timeout=min(left, 0.5))

    def _patch(self, ns: _Namespace, cr: dict, body: dict, verb: str) -> None:
        info = kind_info(cr["kind"])
        name = cr["metadata"]["name"]
        # A merge patch of absolute values: repeating it is harmless, so it is retried.
        call(
            self._custom.patch_namespaced_custom_object,
            *(GROUP, VERSION, ns.namespace, info.plural, name, body),
            verb=verb,
            resource=info.plural,
            namespace=ns.namespace,
            name=name,
            raw=True,
            idempotent=True,
        )

    # -- the contract ---------------------------------------------------------------------
    def submit(self, spec: JobSpec, namespace: str | None = None) -> Job:
        ns = self._ns(namespace)
        if ns.find(spec.name) is not None:
            raise ConflictError(
                f"a training job named {spec.name!r} already exists in namespace "
                f"{ns.namespace!r}; choose another name or delete it first"
            )
        info = kind_info(spec.kind)
        manifest = render_job(spec, namespace=ns.namespace, image=self._image(spec))
        created = call(
            self._custom.create_namespaced_custom_object,
            *(GROUP, VERSION, ns.namespace, info.plural, manifest),
            verb="create",
            resource=info.plural,
            namespace=ns.namespace,
            name=spec.name,
            raw=True,
        )
        configmap = render_code_configmap(spec, namespace=ns.namespace)
        if configmap is not None:
            configmap["metadata"]["ownerReferences"] = [
                {
                    "apiVersion": created["apiVersion"],
                    "kind": created["kind"],
                    "name": spec.name,
                    "uid": created["metadata"]["uid"],
                }
            ]
            try:
                call(
                    self._core.create_namespaced_config_map,
                    *(ns.namespace, configmap),
                    verb="create",
                    resource="configmaps",
                    namespace=ns.namespace,
                    name=configmap["metadata"]["name"],
                    raw=True,
                )
            except JupyterKFError:
                self._delete_quietly(ns.namespace, info.plural, spec.name)
                raise
        job = self._until(ns, spec.name, lambda cr: cr is not None, "creating it")
        assert job is not None  # waited until it is there
        return job

    def _delete_quietly(self, namespace: str, plural: str, name: str) -> None:
        """Undo a half-made submit; the error the user sees is the one that caused it."""
        with contextlib.suppress(JupyterKFError):
            call(
                self._custom.delete_namespaced_custom_object,
                *(GROUP, VERSION, namespace, plural, name),
                verb="delete",
                resource=plural,
                namespace=namespace,
                name=name,
                raw=True,
                ok=(404,),
            )

    def get(self, name: str, namespace: str | None = None) -> Job:
        ns, cr = self._cr(name, namespace)
        return ns.job(cr)

    def list(self, namespace: str | None = None) -> list[Job]:
        return self._ns(namespace).all_jobs()

    def watch(
        self,
        namespace: str | None = None,
        *,
        name: str | None = None,
        timeout: float | None = None,
        stop: threading.Event | None = None,
    ) -> Iterator[Change]:
        ns = self._ns(namespace)
        deadline = None if timeout is None else time.monotonic() + timeout
        with ns.listening() as q:
            known: dict[str, Job] = {}
            for job in ns.all_jobs():
                if name is None or job.name == name:
                    known[job.name] = job
                    yield Change("ADDED", job)
            while True:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return
                if stop is not None:
                    if stop.is_set():
                        return
                    left = STOP_TICK if left is None else min(left, STOP_TICK)
                try:
                    what, job_name = q.get(timeout=left)
                except queue.Empty:
                    if stop is not None:
                        continue  # the deadline and the stop are checked above
                    return
                if name is not None and job_name != name:
                    continue
                cr = ns.find(job_name)
                if cr is None:
                    if known.pop(job_name, None) is not None:
                        yield Change(
                            "DELETED",
                            Job(
                                name=job_name,
                                namespace=ns.namespace,
                                kind="",
                                status=parse_status(None),
                                backend=self.name,
                            ),
                        )
                    continue
                job = ns.job(cr)
                if known.get(job_name) == job:
                    continue  # nothing a reader can see changed
                change = "MODIFIED" if job_name in known else "ADDED"
                known[job_name] = job
                yield Change(change, job)

    def updates(
        self,
        name: str,
        namespace: str | None = None,
        *,
        since: Cursor | None = None,
        replicas: Sequence[str] | None = None,
        timeout: float | None = None,
        stop: threading.Event | None = None,
    ) -> Iterator[Update]:
        return updates(self._ns(namespace), name, since, replicas, timeout, stop)

    def logs(
        self,
        name: str,
        namespace: str | None = None,
        *,
        replica: str | None = None,
        follow: bool = False,
        tail_lines: int | None = None,
    ) -> Iterator[str]:
        ns, cr = self._cr(name, namespace)
        job = ns.job(cr)
        replica = replica or job.rank0
        names = [r.name for r in job.replicas]
        if replica not in names:
            raise NotFoundError(
                f"job {name} has no replica {replica!r}; its replicas are {', '.join(names)}"
            )
        return read_log(ns, name, replica, follow, tail_lines, None)

    def events(self, name: str, namespace: str | None = None) -> builtins.list[Event]:
        ns, cr = self._cr(name, namespace)
        return events_of(cr["kind"], name, ns.events.items(), ns.arrivals)

    def metrics(self, name: str, namespace: str | None = None) -> builtins.list[dict]:
        ns, cr = self._cr(name, namespace)
        replica = ns.job(cr).rank0
        follower = ns.followers.find(name, replica)
        if (
            follower is not None
            and follower.uid == cr["metadata"].get("uid")
            and follower.done
            and follower.points_first == 0
        ):
            return list(follower.points)  # a finished job's points, already read
        points = []
        for line in read_log(ns, name, replica, False, None, METRICS_LOG_LIMIT):
            point = parse_metric_line(line)
            if point:
                points.append({"replica": replica, **point})
        return points

    def _wait_for(self, job: Job, done: Callable[[Job], bool], timeout: float) -> Job | None:
        ns = self._ns(job.namespace)

        def seen(cr: dict | None) -> bool:
            if cr is None:
                raise NotFoundError(f"job {job.name} was deleted while waiting for it")
            return done(ns.job(cr))

        try:
            return self._until(ns, job.name, seen, timeout=timeout)
        except NotAcknowledgedError:
            return None

    def _request_scale(self, job: Job, workers: int) -> str:
        name = job.name
        ns, cr = self._cr(name, job.namespace)
        info = kind_info(cr["kind"])
        counts = replica_counts(cr)
        target = info.worker_replicas_for(counts, workers)
        if target < max(info.min_worker_replicas(), 0):
            raise InvalidSpecError(f"a {info.kind} needs more than {workers} workers")
        elastic = (cr.get("spec") or {}).get("elasticPolicy") or {}
        lo, hi = elastic.get("minReplicas"), elastic.get("maxReplicas")
        if (lo is not None and target < lo) or (hi is not None and target > hi):
            raise InvalidSpecError(
                f"{target} {info.worker_role} replicas is outside the job's "
                f"elasticPolicy [{lo}, {hi}]"
            )
        if info.scale_subresource:
            call(
                self._custom.patch_namespaced_custom_object_scale,
                *(GROUP, VERSION, ns.namespace, info.plural, name, {"spec": {"replicas": target}}),
                verb="scale",
                resource=f"{info.plural}/scale",
                namespace=ns.namespace,
                name=name,
                raw=True,
                idempotent=True,
            )
            return ""
        # Running pods keep the TF_CONFIG / WORLD_SIZE they started with, so the world
        # restarts: suspend (the operator deletes the pods), resize, resume.
        was_suspended = job.phase == "Suspended"
        if not was_suspended:
            self._patch(ns, cr, {"spec": {"runPolicy": {"suspend": True}}}, "suspend")
            self._acknowledged(job, "suspending to resize", lambda j: j.phase == "Suspended")
        spec: dict = {info.replica_specs_field: {info.worker_role: {"replicas": target}}}
        if not was_suspended:
            spec["runPolicy"] = {"suspend": False}
        self._patch(ns, cr, {"spec": spec}, "scale")
        return (
            f"{info.kind} has no scale subresource: the job was suspended, resized "
            "and resumed, so every replica restarted"
        )

    def _request_suspend(self, job: Job, suspend: bool) -> bool:
        ns, cr = self._cr(job.name, job.namespace)
        current = bool(((cr.get("spec") or {}).get("runPolicy") or {}).get("suspend"))
        if current == suspend:
            return False
        self._patch(
            ns,
            cr,
            {"spec": {"runPolicy": {"suspend": suspend}}},
            "suspend" if suspend else "resume",
        )
        return True

    def delete(self, name: str, namespace: str | None = None) -> None:
        ns, cr = self._cr(name, namespace)
        info = kind_info(cr["kind"])
        call(
            self._custom.delete_namespaced_custom_object,
            *(GROUP, VERSION, ns.namespace, info.plural, name),
            verb="delete",
            resource=info.plural,
            namespace=ns.namespace,
            name=name,
            raw=True,
            body={"propagationPolicy": "Background"},
        )
        self._until(ns, name, lambda c: c is None, "deleting it")

    def close(self) -> None:
        with self._lock:
            namespaces, self._namespaces = list(self._namespaces.values()), {}
        for ns in namespaces:
            ns.close()
