"""``KubeflowSpawner``: a Jupyter pod per user (and named server), allowed to launch
Kubeflow training jobs in the user's own namespace.

Per user: a namespace (or one shared namespace) labelled for Pod Security admission, a
ServiceAccount, the jupyter-kf user Role (``jupyter_kf.k8s.rbac``) and a RoleBinding.
Per server: a home PVC (kept across stops) and the pod. This module is the spawn
lifecycle (start, progress, poll, stop, state). Its settings are in ``traits``; reads
come from one shared list+watch (``watch``); writes go to the API server from a small
thread pool (``calls``) so the hub's event loop never blocks. Object shapes are in
``objects`` (pure), names in ``slugs``, profiles in ``profiles`` (and the options form
in ``options``), progress in ``progress``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from jupyterhub.spawner import Spawner
from kubernetes import client
from traitlets import default, observe

from jupyter_kf.errors import BackendUnavailableError, JupyterKFError
from jupyter_kf.jobs.apis import ENV as TRAINING_APIS_ENV
from jupyter_kf.k8s.rbac import user_role, user_role_binding

from . import objects
from .calls import ApiCalls, _Unknown
from .job_profiles import JobProfileSettings
from .options import ProfileOptions, fail
from .progress import PodView, describe_event, view_pod
from .slugs import label_value, safe_slug, server_slug
from .traits import SLUG_BUDGET, KubeflowSpawnerConfig
from .watch import PodWatch, shared_watch

SECRET_ENV = ("JUPYTERHUB_API_TOKEN", "JPY_API_TOKEN")
PROGRESS_IDLE = 10.0  # seconds a progress stream waits with no news before looking again


class KubeflowSpawner(ProfileOptions, ApiCalls, JobProfileSettings, KubeflowSpawnerConfig, Spawner):
    """Spawn each user's server as a pod in the user's own namespace (see docs/spawner.md)."""

    # -- the options form is the profiles' (options.py) --------------------------------
    @default("options_form")
    def _default_options_form(self):
        return KubeflowSpawner._render_options_form

    @default("options_from_form")
    def _default_options_from_form(self):
        def options_from_form(form_data, spawner):
            return spawner._checked_options_from_form(form_data)

        return options_from_form

    @default("apply_user_options")
    def _default_apply_user_options(self):
        return KubeflowSpawner._check_user_options

    @observe("profile_list")
    def _profiles_changed(self, change):
        self._parsed_profiles = None

    # -- state -------------------------------------------------------------------------
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._parsed_profiles: list | None = None
        self._base_values: dict[str, Any] = {}
        self._names: dict[str, str] = {}
        self._progress_log: list[dict] = []
        self._pod_uid: str | None = None
        self._stopped_exit_code: int | None = None  # of a pod poll() deleted

    def load_state(self, state):
        super().load_state(state)
        if state.get("pod_name"):
            self._names = {
                k: state[k]
                for k in ("namespace", "pod_name", "pvc_name", "service_account", "secret_name")
                if k in state
            }

    def get_state(self):
        state = super().get_state()
        state.update(self.names)
        state["spawner"] = "jupyter-kf/1"
        return state

    # clear_state (base: the API token) keeps the names: a later start finds the same PVC
    # even if the templates changed meanwhile.

    @property
    def names(self) -> dict[str, str]:
        """Every name of this server's objects (remembered in the hub's database)."""
        if not self._names:
            user_slug = safe_slug(self.user.name, SLUG_BUDGET)
            slug = server_slug(self.user.name, self.name, SLUG_BUDGET)
            namespace = (
                f"{self.namespace_prefix}{user_slug}"
                if self.namespace_mode == "per-user"
                else self._shared_namespace()
            )
            pod = f"{self.pod_name_prefix}{slug}"
            self._names = {
                "namespace": namespace,
                "pod_name": pod,
                "pvc_name": f"{self.pvc_name_prefix}{slug}" if self.storage_enabled else "",
                "service_account": f"{self.service_account_prefix}{user_slug}",
                "secret_name": pod if self.namespace_mode == "shared" else "",
            }
        return self._names

    def _shared_namespace(self) -> str:
        return self.namespace or self._api()[1]

    @property
    def watch(self) -> PodWatch:
        api, _ = self._api()
        shared_ns = None if self.namespace_mode == "per-user" else self._shared_namespace()
        selector = objects.selector(self.hub_id)
        key = (api.configuration.host, selector, shared_ns, self.pod_name_prefix)
        watch = shared_watch(
            key,
            lambda: PodWatch(
                api,
                label_selector=selector,
                pod_prefix=self.pod_name_prefix,
                namespace=shared_ns,
                stall_seconds=self.watch_stall_seconds,
            ),
        )
        watch.ensure_started()
        return watch

    # -- building ----------------------------------------------------------------------
    def _labels(self) -> dict[str, str]:
        return objects.common_labels(
            self.hub_id, label_value(self.user.name), label_value(self.name)
        )

    def _annotations(self) -> dict[str, str]:
        return {objects.ANNOTATION_USER: self.user.name, objects.ANNOTATION_SERVER: self.name}

    def get_env(self) -> dict[str, str]:
        env = super().get_env()
        env["JUPYTER_IMAGE"] = self.image
        env["JUPYTER_KF_IMAGE"] = self.image
        env["JUPYTER_KF_NAMESPACE"] = self.names["namespace"]
        env.update(self.job_profile_env(self.user.name, self._groups()))
        env[TRAINING_APIS_ENV] = self.training_apis
        return env

    def build_pod(self) -> dict:
        names = self.names
        env = {k: v for k, v in self.get_env().items() if v is not None}
        secret_env = {}
        if names["secret_name"]:
            # shared namespace: whoever may read pods there must not read this token
            for key in SECRET_ENV:
                if key in env:
                    env.pop(key)
                    secret_env[key] = key
        limits = dict(self.extra_resource_limits)
        if self.gpu_limit:
            limits[self.gpu_resource] = str(self.gpu_limit)
        res = objects.resources(
            cpu_limit=self.cpu_limit,
            cpu_guarantee=self.cpu_guarantee,
            mem_limit=self.mem_limit,
            mem_guarantee=self.mem_guarantee,
            extra_limits=limits,
            extra_guarantees=self.extra_resource_guarantees,
        )
        labels = {**self.extra_labels, **self._labels(), objects.LABEL_COMPONENT: objects.COMPONENT}
        return objects.make_pod(
            names["pod_name"],
            names["namespace"],
            image=self.image,
            command=[*self.cmd, *self.get_args()],
            port=self.port,
            env=env,
            secret_env=secret_env,
            secret_name=names["secret_name"] or None,
            service_account=names["service_account"],
            resources_=res,
            pvc_name=names["pvc_name"] or None,
            home_mount_path=self.home_mount_path,
            image_pull_policy=self.image_pull_policy,
            image_pull_secrets=self.image_pull_secrets,
            node_selector=self.node_selector,
            tolerations=self.tolerations,
            volumes=self.volumes,
            volume_mounts=self.volume_mounts,
            uid=self.uid,
            gid=self.gid,
            fs_gid=self.fs_gid,
            working_dir=self.working_dir,
            labels=labels,
            annotations={**self.extra_annotations, **self._annotations()},
            priority_class_name=self.priority_class_name,
            extra_pod_spec=self.extra_pod_spec,
        )

    # -- progress ----------------------------------------------------------------------
    def _step(self, progress: int, message: str) -> None:
        self._progress_log.append({"progress": progress, "message": message})
        self.log.info("%s: %s", self._log_name, message)
        self.watch.poke(self.names["namespace"], self.names["pod_name"])

    async def progress(self) -> AsyncIterator[dict]:
        """Our own steps and the pod's events (scheduled, pulling, started, failed
        scheduling...), each as soon as it happens."""
        sent = 0
        seen: dict[str, str] = {}
        value = 10
        names = self.names
        while True:
            if sent > len(self._progress_log):  # a new start began a new log
                sent = 0
            while sent < len(self._progress_log):
                entry = self._progress_log[sent]
                sent += 1
                value = max(value, entry["progress"])
                yield dict(entry)
            for event in self.watch.pod_events(
                names["namespace"], names["pod_name"], self._pod_uid
            ):
                ident = event["metadata"]["name"]
                stamp = f"{event.get('count')}/{event['metadata'].get('resourceVersion')}"
                if seen.get(ident) == stamp:
                    continue
                seen[ident] = stamp
                value = min(90, value + (90 - value) // 3)
                yield {
                    "progress": value,
                    "message": describe_event(event),
                    "raw_event": {k: event.get(k) for k in ("reason", "message", "type", "count")},
                }
            if not self._spawn_pending:
                return
            # Woken by the pod's changes and events (the shared watch) and by our own steps
            # (``_step`` pokes): no timer per open progress page. A page per user of a
            # 200-user herd waking twice a second would be 400 loop wake-ups a second for
            # nothing; the timeout only notices a spawn that ended without a last step.
            await self.watch.wait_change(names["namespace"], names["pod_name"], PROGRESS_IDLE)

    # -- start -------------------------------------------------------------------------
    async def start(self):
        self._progress_log = []
        self._pod_uid = None
        self._stopped_exit_code = None
        chosen = self._apply_profile()
        names = self.names
        watch = self.watch  # starts the shared caches if this is the first spawn; no wait
        api = self._api()[0]
        core, rbac = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
        ns = names["namespace"]
        if chosen:
            self._step(5, f"Profile: {chosen}")
        try:
            await self._ensure_user_objects(core, rbac, ns)
            await self._ensure_server_objects(core, ns)
            pod = await self._create_pod(core, ns)
            self._pod_uid = (pod or {}).get("metadata", {}).get("uid")
            self._step(
                40, f"Pod {names['pod_name']} created; waiting for it to be scheduled and start"
            )
            url = await self._wait_ready(watch, ns, names["pod_name"])
        except JupyterKFError as exc:
            raise fail(getattr(exc, "http_status", 500), str(exc)) from exc
        self._step(95, f"Server running at {url}; waiting for it to answer")
        return url

    async def _ensure_user_objects(self, core, rbac, ns: str) -> None:
        names = self.names
        user_labels = objects.common_labels(self.hub_id, label_value(self.user.name))
        per_user = self.namespace_mode == "per-user"
        # What the user's job profiles allow, read by deploy/rbac/job-profiles-policy.yaml.
        allowed = self.job_profile_annotations(self.user.name, self._groups(), shared=not per_user)
        if per_user:
            body = objects.make_namespace(
                ns,
                pod_security=self.pod_security_level,
                labels={**self.namespace_labels, **user_labels},
                annotations={
                    **self.namespace_annotations,
                    **allowed,
                    objects.ANNOTATION_USER: self.user.name,
                },
            )
        else:
            body = objects.make_namespace(
                ns,
                pod_security=self.pod_security_level,
                labels={**self.namespace_labels, objects.LABEL_MANAGED_BY: objects.MANAGED_BY},
                annotations={**self.namespace_annotations, **allowed},
            )
        created = await self._create(core.create_namespace, None, body, resource="namespace")
        if not created and per_user:
            await self.annotate_namespace(core, ns, allowed)  # profiles may have changed
        self._step(
            10,
            f"Namespace {ns} {'created' if created else 'ready'} "
            f"(Pod Security: {self.pod_security_level})",
        )
        sa = objects.make_service_account(
            names["service_account"],
            ns,
            labels=user_labels,
            annotations={objects.ANNOTATION_USER: self.user.name},
        )
        work = [
            self._create(core.create_namespaced_service_account, ns, sa, resource="serviceaccount")
        ]
        if self.user_cluster_role:
            binding = user_role_binding(ns, names["service_account"], role=self.user_cluster_role)
            binding["roleRef"]["kind"] = "ClusterRole"
            bound_to = f"ClusterRole {self.user_cluster_role} (in {ns} only)"
        else:
            role = user_role(ns)
            binding = user_role_binding(ns, names["service_account"])
            work.append(self._create(rbac.create_namespaced_role, ns, role, resource="role"))
            bound_to = f"Role {role['metadata']['name']}"
        binding["metadata"]["labels"] = {**binding["metadata"].get("labels", {}), **user_labels}
        work.append(
            self._create(rbac.create_namespaced_role_binding, ns, binding, resource="rolebinding")
        )
        await asyncio.gather(*work)
        self._step(20, f"ServiceAccount {names['service_account']} bound to {bound_to}")

    async def _ensure_server_objects(self, core, ns: str) -> None:
        names = self.names
        work = []
        if names["pvc_name"]:
            pvc = objects.make_pvc(
                names["pvc_name"],
                ns,
                capacity=self.storage_capacity,
                storage_class=self.storage_class,
                access_modes=self.storage_access_modes,
                labels=self._labels(),
                annotations=self._annotations(),
            )
            work.append(
                self._create(
                    core.create_namespaced_persistent_volume_claim,
                    ns,
                    pvc,
                    resource="persistentvolumeclaim",
                )
            )
        if names["secret_name"]:
            secret = objects.make_secret(
                names["secret_name"],
                ns,
                {k: self.api_token for k in SECRET_ENV},
                labels=self._labels(),
            )
            work.append(self._put_secret(core, ns, secret))
        results = await asyncio.gather(*work)
        if names["pvc_name"]:
            state = "created" if results[0] else "kept from before"
            self._step(30, f"Home volume {names['pvc_name']} {state} ({self.storage_capacity})")

    async def _put_secret(self, core, ns: str, secret: dict):
        made = await self._create(core.create_namespaced_secret, ns, secret, resource="secret")
        if not made:  # left by a start that did not finish: this start's token wins
            await self._call(
                core.replace_namespaced_secret,
                secret["metadata"]["name"],
                ns,
                secret,
                verb="replace",
                resource="secret",
                namespace=ns,
                name=secret["metadata"]["name"],
            )
        return made

    async def _create_pod(self, core, ns: str) -> dict:
        body = self.build_pod()
        name = body["metadata"]["name"]
        for _attempt in range(3):
            made = await self._call(
                core.create_namespaced_pod,
                ns,
                body,
                verb="create",
                resource="pod",
                namespace=ns,
                name=name,
                ok=(409,),
                parse=True,
            )
            if made is not None:
                return made
            # A pod of that name is still there (a stop the hub did not see finish, or a
            # hub killed mid-spawn): delete it now and create ours.
            self._step(35, f"An old pod {name} is still there; deleting it first")
            await self._delete_pod(core, ns, name, grace=0)
            await self._wait_gone(ns, name, self.stop_timeout)
        raise BackendUnavailableError(f"pod {name!r} in namespace {ns!r} could not be replaced")

    async def _read_pod(self, ns: str, name: str, *, sync_wait: float = 0.0):
        """The pod from the cache; from one GET if the cache is not in step (never a
        stale answer); ``UNKNOWN`` if the API server cannot be asked."""
        watch = self.watch
        deadline = time.monotonic() + sync_wait
        while not watch.synced and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        try:
            return watch.pod(ns, name)
        except BackendUnavailableError:
            pass
        core = client.CoreV1Api(self._api()[0])
        return await self._read_now(core.read_namespaced_pod, name, ns)

    async def _wait_ready(self, watch: PodWatch, ns: str, name: str) -> str:
        started = time.monotonic()
        deadline = started + max(5.0, self.start_timeout - 2)
        unschedulable_since: float | None = None
        reported: set[str] = set()
        last: PodView | None = None
        while True:
            pod = await self._read_pod(ns, name)
            if isinstance(pod, _Unknown):
                pod = None if last is None else last.raw
            view = view_pod(pod, watch.pod_events(ns, name, self._pod_uid)) if pod else None
            if view is not None and self._pod_uid and view.uid and view.uid != self._pod_uid:
                view = None  # an older incarnation still in the cache
            if view is not None:
                last = view
                for key, progress, message in view.milestones():
                    if key not in reported:
                        reported.add(key)
                        self._step(progress, message)
                if view.ready and view.ip:
                    return f"http://{view.ip}:{self.port}"
                if view.failure:
                    raise fail(500, f"The server's pod failed: {view.failure}")
                if view.unschedulable:
                    unschedulable_since = unschedulable_since or time.monotonic()
                    if (
                        self.unschedulable_timeout
                        and time.monotonic() - unschedulable_since >= self.unschedulable_timeout
                    ):
                        raise fail(
                            500, f"The server's pod cannot be scheduled: {view.unschedulable}"
                        )
                else:
                    unschedulable_since = None
            if time.monotonic() >= deadline:
                why = "it never appeared"
                if last is not None:
                    why = (
                        f"the scheduler cannot place it: {last.unschedulable}"
                        if last.unschedulable
                        else last.summary()
                    )
                raise fail(
                    500,
                    f"The server's pod was not ready after "
                    f"{time.monotonic() - started:.0f} s: {why}",
                )
            await watch.wait_change(ns, name, self._next_look(watch, deadline, unschedulable_since))

    def _next_look(
        self, watch: PodWatch, deadline: float, unschedulable_since: float | None
    ) -> float:
        """How long ``_wait_ready`` may wait for a change before looking again: while the
        cache is in step every change wakes it, so only its own deadlines count (hundreds
        of spawns waking every second for nothing is loop work); otherwise it reads the
        pod with a GET every 2 s."""
        if not watch.synced:
            return 2.0
        wait = min(5.0, deadline - time.monotonic())
        if unschedulable_since is not None and self.unschedulable_timeout:
            wait = min(wait, unschedulable_since + self.unschedulable_timeout - time.monotonic())
        return max(0.05, wait)

    # -- poll, url, stop ---------------------------------------------------------------
    async def poll(self):
        names = self.names
        pod = await self._read_pod(names["namespace"], names["pod_name"], sync_wait=5.0)
        if isinstance(pod, _Unknown):
            return None  # cannot tell: never report a server dead because the API is away
        if pod is None:
            return 1 if self._stopped_exit_code is None else self._stopped_exit_code
        view = view_pod(pod, [])
        if view.exit_code is not None:
            if self.delete_stopped_pods:
                # JupyterHub calls stop() only for a server that poll() says is running:
                # without this, a server that ended by itself (culled for idleness, or shut
                # down from its File menu) would leave its pod behind, Succeeded. Its exit
                # code is kept for the hub's next poll, which finds the pod gone.
                self._stopped_exit_code = view.exit_code
                await self.stop(now=True)
            return view.exit_code
        return None

    async def get_url(self):
        """After a hub restart: where the pod really is, waiting (up to start_timeout)
        for a pod that was still starting when the hub went away."""
        names = self.names
        deadline = time.monotonic() + self.start_timeout
        while True:
            pod = await self._read_pod(names["namespace"], names["pod_name"], sync_wait=5.0)
            if isinstance(pod, dict):
                view = view_pod(pod, [])
                if view.ready and view.ip:
                    return f"http://{view.ip}:{self.port}"
                if view.failure or view.exit_code is not None:
                    break
            elif pod is None:
                break
            if time.monotonic() > deadline:
                break
            await self.watch.wait_change(names["namespace"], names["pod_name"], 1.0)
        return self.server.url if self.server else ""

    async def _delete_pod(self, core, ns: str, name: str, grace: int) -> None:
        await self._call(
            core.delete_namespaced_pod,
            name,
            ns,
            verb="delete",
            resource="pod",
            namespace=ns,
            name=name,
            ok=(404,),
            grace_period_seconds=grace,
        )

    async def _wait_gone(self, ns: str, name: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pod = await self._read_pod(ns, name)
            if pod is None:
                return True
            await self.watch.wait_change(ns, name, 1.0)
        return False

    async def stop(self, now=False):
        names = self.names
        ns, name = names["namespace"], names["pod_name"]
        core = client.CoreV1Api(self._api()[0])
        await self._delete_pod(core, ns, name, 0 if now else self.delete_grace_period)
        if names["secret_name"]:
            await self._call(
                core.delete_namespaced_secret,
                names["secret_name"],
                ns,
                verb="delete",
                resource="secret",
                namespace=ns,
                name=names["secret_name"],
                ok=(404,),
            )
        if not await self._wait_gone(ns, name, self.stop_timeout):
            self.log.warning(
                "%s: pod %s/%s still there after %s s; deleting it without grace",
                self._log_name,
                ns,
                name,
                self.stop_timeout,
            )
            await self._delete_pod(core, ns, name, 0)
        self.watch.forget_events(ns, name)

    async def delete_forever(self):
        """The server (or its user) is deleted for good: its home PVC goes too."""
        names = self.names
        if self.delete_pvc and names["pvc_name"]:
            core = client.CoreV1Api(self._api()[0])
            await self._call(
                core.delete_namespaced_persistent_volume_claim,
                names["pvc_name"],
                names["namespace"],
                verb="delete",
                resource="persistentvolumeclaim",
                namespace=names["namespace"],
                name=names["pvc_name"],
                ok=(404,),
            )
