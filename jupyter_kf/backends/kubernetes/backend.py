"""The Kubernetes backend: Training Operator CRs (``kubeflow.org/v1``) and Kubeflow Trainer
v2 TrainJobs (``trainer.kubeflow.org/v1alpha1``) on a real cluster.

Reads are served from one list+watch cache per namespace (every job kind the cluster
serves, the jobs' pods, the namespace's events: cache.py); writes go to the API server. It acts with whatever identity it
was given (in a notebook pod, the pod's ServiceAccount), and an API error reaches the user
as one of jupyter_kf.errors, translated in ``jupyter_kf.k8s.errors``.
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
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
from ...jobs.apis import ENV as TRAINING_APIS_ENV
from ...jobs.apis import kinds_of, parse_training_apis
from ...jobs.kinds import kind_info
from ...jobs.readback import code_files_of, spec_from_cr
from ...jobs.render import render_code_configmap, render_job
from ...jobs.runtimes import Runtime
from ...jobs.trainjob import SCRIPT_POLICIES, render_trainjob
from ...k8s import (
    ApiClient,
    ClusterConfig,
    call,
    core_api,
    custom_api,
    load_api_client,
    own_retries,
)
from ...outputs import Outputs
from ..base import Backend
from .apis import Apis
from .cache import Namespace
from .convert import events_of, replica_counts
from .owned import create_owned_configmap
from .replace import replace_trainjob
from .storage import ClusterStorage
from .stream import qualified, read_log, updates
from .trainjob import is_trainjob

STOP_TICK = 0.25  # how soon a watch notices its stop event
IMAGE_ENV = ("JUPYTER_KF_IMAGE", "JUPYTER_IMAGE")  # the notebook's image, set by the spawner
METRICS_LOG_LIMIT = 8 * 1024 * 1024  # bytes of rank 0's log read for metric points


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
        home_claim: str | None = None,
        home_mount: str | None = None,
    ):
        if api_client is None:
            api_client, found = load_api_client(config)
        else:
            found = "default"
            own_retries(api_client)
        self.api = api_client
        self.default_namespace = namespace or found
        self.image = image
        self._namespaces: dict[str, Namespace] = {}
        self._starting: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._custom = custom_api(api_client)
        self._core = core_api(api_client)
        # The APIs the hub says this notebook uses (JUPYTER_KF_TRAINING_APIS), else discovered.
        allowed = parse_training_apis(os.environ.get(TRAINING_APIS_ENV))
        self.apis = Apis(api_client, allowed)
        self._kinds = None if allowed is None else kinds_of(allowed)
        self._specs: dict[str, tuple[tuple, JobSpec | None]] = {}
        # home_claim/home_mount: the notebook's home volume (storage.py finds it otherwise).
        self._storage = ClusterStorage(self._core, self.default_namespace, home_claim, home_mount)

    # -- helpers --------------------------------------------------------------------------
    def _ns(self, namespace: str | None) -> Namespace:
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
            ns = Namespace(
                self.api, namespace, self._kinds
            )  # lists synchronously: a 403 surfaces here
            ns.runtime_limit = self.apis.backoff_limit
            with self._lock:
                self._namespaces[namespace] = ns
            return ns

    def _cr(self, name: str, namespace: str | None) -> tuple[Namespace, dict]:
        ns = self._ns(namespace)
        cr = ns.find(name)
        if cr is None:
            raise NotFoundError(f"no training job named {name!r} in namespace {ns.namespace!r}")
        return ns, cr

    def _image(self, spec: JobSpec, required: bool = True) -> str | None:
        """The job's image: its own, the backend's, or the notebook's (the spawner sets it).
        A TrainJob without one keeps its runtime's (``required=False``)."""
        if spec.image:
            return spec.image
        if self.image:
            return self.image
        for var in IMAGE_ENV:
            if os.environ.get(var):
                return os.environ[var]
        if not required:
            return None
        raise InvalidSpecError(
            "no image to run the job in: pass image=..., or set JUPYTER_KF_IMAGE (in a "
            "notebook started by the jupyter-kf spawner it is the notebook's own image)"
        )

    def _until(
        self,
        ns: Namespace,
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

    def _patch(self, ns: Namespace, cr: dict, body: dict, verb: str) -> None:
        info = kind_info(cr["kind"])
        name = cr["metadata"]["name"]
        # A merge patch of absolute values: repeating it is harmless, so it is retried.
        call(
            self._custom.patch_namespaced_custom_object,
            *(info.group, info.version, ns.namespace, info.plural, name, body),
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
        if ns.candidates(spec.name):
            raise ConflictError(
                f"a training job named {spec.name!r} already exists in namespace "
                f"{ns.namespace!r}; choose another name or delete it first"
            )
        spec, runtime, notice = self.apis.resolve(spec, ns.namespace)
        home = self._storage.check(spec, ns.namespace)
        info = kind_info(spec.kind)
        if runtime is not None:
            if spec.code is not None and runtime.ml_policy not in SCRIPT_POLICIES:
                raise InvalidSpecError(
                    f"runtime {runtime.name} starts its nodes through {runtime.ml_policy} in "
                    "its own image; jupyter-kf ships code to runtimes of "
                    f"{', '.join(SCRIPT_POLICIES)}: give a command instead of code"
                )
            manifest = render_trainjob(
                spec,
                namespace=ns.namespace,
                image=self._image(spec, required=False),
                ml_policy=runtime.ml_policy,
                node_jobs=runtime.node_jobs,
                home=home,
            )
        else:
            image = self._image(spec)
            assert image is not None  # required: _image raises instead
            manifest = render_job(spec, namespace=ns.namespace, image=image, home=home)
        created = call(
            self._custom.create_namespaced_custom_object,
            *(info.group, info.version, ns.namespace, info.plural, manifest),
            verb="create",
            resource=info.plural,
            namespace=ns.namespace,
            name=spec.name,
            raw=True,
        )
        # The answer is the job as stored: the cache holds it now, not a watch event later.
        informer = ns.jobs.get(info.kind)
        if informer is not None:
            informer.learn(created)
        configmap = render_code_configmap(spec, namespace=ns.namespace)
        if configmap is not None:
            try:
                create_owned_configmap(self._core, ns.namespace, configmap, created)
            except JupyterKFError:
                self._delete_quietly(ns.namespace, spec.kind, spec.name)
                raise
        job = self._until(ns, f"{spec.kind}/{spec.name}", lambda cr: cr is not None, "creating it")
        assert job is not None  # waited until it is there
        if notice:
            job = dataclasses.replace(job, extra={**job.extra, "notice": notice})
        return job

    def _delete_quietly(self, namespace: str, kind: str, name: str) -> None:
        """Undo a half-made submit; the error the user sees is the one that caused it."""
        info = kind_info(kind)
        with contextlib.suppress(JupyterKFError):
            call(
                self._custom.delete_namespaced_custom_object,
                *(info.group, info.version, namespace, info.plural, name),
                verb="delete",
                resource=info.plural,
                namespace=namespace,
                name=name,
                raw=True,
                ok=(404,),
            )

    def get(self, name: str, namespace: str | None = None) -> Job:
        ns, cr = self._cr(name, namespace)
        job = ns.job(cr)
        spec = self._spec_of(ns, cr)
        return dataclasses.replace(job, spec=spec) if spec is not None else job

    def _spec_of(self, ns: Namespace, cr: dict) -> JobSpec | None:
        """The job's spec read back from its CR and its code ConfigMap (read once: jupyter-kf
        never changes it), so any job can be cloned; remembered until its spec changes (its
        generation: status updates leave it alone)."""
        meta = cr["metadata"]
        key = (qualified(cr), meta.get("uid"), meta.get("generation"), str(meta.get("labels")))
        hit = self._specs.get(key[0])
        if hit is not None and hit[0] == key:
            return hit[1]
        code = code_files_of(cr)  # None for code carried inline: spec_from_cr reads that
        files: dict[str, str] | None = None
        if code is not None:
            cm_name, items = code
            configmap = call(
                self._core.read_namespaced_config_map,
                *(cm_name, ns.namespace),
                verb="get",
                resource="configmaps",
                namespace=ns.namespace,
                name=cm_name,
                raw=True,
                ok=(404,),
            )
            if configmap is not None:
                data = configmap.get("data") or {}
                files = {path: data[k] for k, path in items if k in data}
        spec = spec_from_cr(cr, files)
        self._specs[key[0]] = (key, spec)
        return spec

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
            # By kind/name: a PyTorchJob and a TrainJob may share a name.
            known: dict[str, Job] = {}
            for job in ns.all_jobs():
                if name is None or job.name == name:
                    known[f"{job.kind}/{job.name}"] = job
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
                present = {qualified(cr): cr for cr in ns.candidates(job_name)}
                for key in [k for k in known if k.split("/", 1)[1] == job_name]:
                    if key not in present:
                        gone = known.pop(key)
                        yield Change(
                            "DELETED",
                            Job(
                                name=job_name,
                                namespace=ns.namespace,
                                kind=gone.kind,
                                status=parse_status(None),
                                backend=self.name,
                            ),
                        )
                for key, cr in present.items():
                    job = ns.job(cr)
                    if known.get(key) == job:
                        continue  # nothing a reader can see changed
                    change = "MODIFIED" if key in known else "ADDED"
                    known[key] = job
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
        attempt: int | None = None,
    ) -> Iterator[str]:
        ns, cr = self._cr(name, namespace)
        job = ns.job(cr)
        replica = replica or job.rank0
        names = [r.name for r in job.replicas]
        if replica not in names:
            raise NotFoundError(
                f"job {name} has no replica {replica!r}; its replicas are {', '.join(names)}"
            )
        previous = False
        if attempt is not None:
            latest = next(r.restarts for r in job.replicas if r.name == replica)
            kept = [latest - 1, latest] if latest else [latest]
            if attempt not in kept:
                raise NotFoundError(
                    f"replica {replica} of job {name} is at attempt {latest}; Kubernetes keeps "
                    "the log of a container's current attempt and of the previous one only "
                    f"(ask for {' or '.join(map(str, kept))})"
                )
            previous = attempt != latest
        # The previous attempt has ended: there is nothing to follow.
        return read_log(
            ns, qualified(cr), replica, follow and not previous, tail_lines, None, previous=previous
        )

    def events(self, name: str, namespace: str | None = None) -> builtins.list[Event]:
        ns, cr = self._cr(name, namespace)
        return events_of(cr["kind"], cr["metadata"]["name"], ns.events.items(), ns.arrivals)

    def outputs(self, name: str, namespace: str | None = None) -> Outputs:
        _, cr = self._cr(name, namespace)
        return self._storage.outputs(name, cr)

    def runtimes(self, namespace: str | None = None) -> builtins.list[Runtime]:
        """The Trainer v2 runtimes a TrainJob here can name (none where it is not served)."""
        return list(self.apis.runtimes(namespace or self.default_namespace))

    def metrics(self, name: str, namespace: str | None = None) -> builtins.list[dict]:
        ns, cr = self._cr(name, namespace)
        replica = ns.job(cr).rank0
        follower = ns.followers.find(cr["metadata"]["name"], replica)
        if (
            follower is not None
            and follower.uid == cr["metadata"].get("uid")
            and follower.done
            and follower.points_first == 0
        ):
            return list(follower.points)  # a finished job's points, already read
        points = []
        for line in read_log(ns, qualified(cr), replica, False, None, METRICS_LOG_LIMIT):
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
            return self._until(ns, f"{job.kind}/{job.name}", seen, timeout=timeout)
        except NotAcknowledgedError:
            return None

    def _request_scale(self, job: Job, workers: int) -> str:
        name = job.name
        ns, cr = self._cr(f"{job.kind}/{name}", job.namespace)
        if is_trainjob(cr):
            return replace_trainjob(self._until, ns, cr, workers)
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
                *(info.group, info.version, ns.namespace, info.plural, name),
                {"spec": {"replicas": target}},
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
        ns, cr = self._cr(f"{job.kind}/{job.name}", job.namespace)
        spec = cr.get("spec") or {}
        # A TrainJob suspends through spec.suspend, the v1 kinds through their runPolicy.
        holder = spec if is_trainjob(cr) else spec.get("runPolicy") or {}
        if bool(holder.get("suspend")) == suspend:
            return False
        body = {"suspend": suspend} if is_trainjob(cr) else {"runPolicy": {"suspend": suspend}}
        self._patch(ns, cr, {"spec": body}, "suspend" if suspend else "resume")
        return True

    def delete(self, name: str, namespace: str | None = None) -> None:
        ns, cr = self._cr(name, namespace)
        info, key, name = kind_info(cr["kind"]), qualified(cr), cr["metadata"]["name"]
        call(
            self._custom.delete_namespaced_custom_object,
            *(info.group, info.version, ns.namespace, info.plural, name),
            verb="delete",
            resource=info.plural,
            namespace=ns.namespace,
            name=name,
            raw=True,
            body={"propagationPolicy": "Background"},
        )
        self._until(ns, key, lambda c: c is None, "deleting it")

    def close(self) -> None:
        with self._lock:
            namespaces, self._namespaces = list(self._namespaces.values()), {}
        for ns in namespaces:
            ns.close()
