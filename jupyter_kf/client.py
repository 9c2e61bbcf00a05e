"""``Client``: the one facade every front end calls (magics, widgets, REST, CLI).

It only delegates to a backend (``backends/base.py``). Method names follow the kubeflow
training SDK's ``TrainingClient`` where one exists (``create_job``, ``get_job``,
``list_jobs``, ``get_job_logs``, ``wait_for_job_conditions``, ``delete_job``), so its users
find their way; the short names (``submit``, ``get``, ``logs``...) are the same methods.
"""

from __future__ import annotations

import builtins
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from .backends.base import Backend
from .errors import InvalidSpecError
from .jobs import Change, Code, Cursor, Event, Job, JobSpec, Resources, Update
from .jobs.profiles import ENV_JOB_PROFILES, JobProfile, JobProfiles, apply_profile
from .jobs.runtimes import Runtime
from .outputs import Outputs
from .packaging import code_from_cell, code_from_file, code_from_function

BACKENDS = ("local", "kubernetes")
# The one default of every front end (Client, %kftrain, the CLI, the server): in a notebook
# pod a job goes to the cluster, on a laptop without a kubeconfig it runs locally.
DEFAULT_BACKEND = "auto"


def detect_backend() -> str:
    """``kubernetes`` when a cluster is configured (in a pod, or a kubeconfig), else ``local``."""
    from .k8s.config import cluster_configured

    return "kubernetes" if cluster_configured() else "local"


def resolve_backend(name: str = DEFAULT_BACKEND) -> str:
    """The backend ``name`` stands for: ``auto`` is ``detect_backend()``, others themselves."""
    return detect_backend() if name == "auto" else name


def make_backend(name: str = DEFAULT_BACKEND, **options: Any) -> Backend:
    """A backend by name: ``local``, ``kubernetes``, or ``auto`` (see ``detect_backend``)."""
    name = resolve_backend(name)
    if name == "local":
        from .backends.local import LocalBackend

        return LocalBackend(**options)
    if name == "kubernetes":
        from .backends.kubernetes import KubernetesBackend

        return KubernetesBackend(**options)
    raise InvalidSpecError(f"unknown backend {name!r}; use one of: auto, {', '.join(BACKENDS)}")


# The kubeflow SDK's default runtime for a CustomTrainer (its DEFAULT_TRAINING_RUNTIME).
SDK_DEFAULT_RUNTIME = "torch-distributed"
# resources_per_node keys as the SDK reads them, and the Resources field each one fills.
SDK_RESOURCE_KEYS = {"cpu": "cpu", "memory": "memory", "gpu": "gpu", "nvidia.com/gpu": "gpu"}


def custom_trainer_fields(trainer: Any) -> tuple[Callable[..., Any], Any, dict[str, Any]]:
    """The function, its keyword arguments and the job's fields of a kubeflow SDK
    ``CustomTrainer`` (read by attribute name: the SDK lives in its own environment)."""
    if getattr(trainer, "packages_to_install", None):
        raise InvalidSpecError(
            "CustomTrainer.packages_to_install is not supported: jupyter-kf runs the function "
            "in the job's image (the notebook's own by default), with no pip install; use an "
            "image that has the packages (CustomTrainer(image=...) or image=...)"
        )
    fields: dict[str, Any] = {"runtime": SDK_DEFAULT_RUNTIME}
    if getattr(trainer, "num_nodes", None):
        fields["workers"] = trainer.num_nodes
    if getattr(trainer, "image", None):
        fields["image"] = trainer.image
    if getattr(trainer, "env", None):
        fields["env"] = dict(trainer.env)
    per_node = getattr(trainer, "resources_per_node", None) or {}
    unknown = sorted(set(per_node) - set(SDK_RESOURCE_KEYS))
    if unknown:
        raise InvalidSpecError(
            f"CustomTrainer.resources_per_node: {', '.join(map(repr, unknown))} not supported; "
            f"use {', '.join(SDK_RESOURCE_KEYS)}"
        )
    if per_node:
        values = {SDK_RESOURCE_KEYS[k]: v for k, v in per_node.items()}
        fields["resources"] = Resources(
            cpu=None if values.get("cpu") is None else str(values["cpu"]),
            memory=None if values.get("memory") is None else str(values["memory"]),
            gpu=int(values.get("gpu") or 0),
        )
    return trainer.func, getattr(trainer, "func_args", None), fields


class Client:
    """Launch, watch, scale and delete training jobs on one backend.

    >>> client = Client()          # the cluster when one is configured, else this machine
    >>> job = client.submit(name="mnist", framework="pytorch", workers=2, script="train.py")
    >>> client.wait(job.name)
    """

    def __init__(
        self,
        backend: str | Backend = DEFAULT_BACKEND,
        *,
        namespace: str | None = None,
        job_profiles: JobProfiles | None = None,
        **backend_options: Any,
    ):
        self.backend = (
            backend if isinstance(backend, Backend) else make_backend(backend, **backend_options)
        )
        self.namespace = namespace
        # Default: the ones the spawner gave this notebook pod (jobs/profiles.py).
        self._job_profiles = job_profiles

    def _ns(self, namespace: str | None) -> str | None:
        return namespace or self.namespace

    # -- launching ------------------------------------------------------------------------
    def submit(
        self,
        spec: JobSpec | Mapping[str, Any] | None = None,
        *,
        namespace: str | None = None,
        script: str | Path | None = None,
        cell: str | None = None,
        args: Sequence[str] = (),
        **fields: Any,
    ) -> Job:
        """Start a job, from a ``JobSpec``, a dict, or keyword fields.

        ``script`` (a file) or ``cell`` (source text) become the job's code; other keywords
        are ``JobSpec`` fields, plus ``framework`` and ``workers`` (see ``JobSpec.create``).
        """
        if spec is None:
            spec = self._spec_from_fields(script=script, cell=cell, args=args, **fields)
        elif isinstance(spec, Mapping):
            spec = JobSpec.from_dict(spec)
        elif not isinstance(spec, JobSpec):
            raise InvalidSpecError(f"submit() takes a JobSpec or a dict, not {type(spec).__name__}")
        return self.backend.submit(apply_profile(spec, self.job_profiles), self._ns(namespace))

    create_job = submit

    def train(
        self,
        func: Callable[..., Any] | Any,
        *,
        name: str,
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        framework: str | None = None,
        workers: int | None = None,
        namespace: str | None = None,
        **fields: Any,
    ) -> Job:
        """Run ``func(*args, **kwargs)`` on every worker of a new job (every node of a TrainJob
        when ``runtime`` is given).

        ``func`` may also be the kubeflow SDK's ``CustomTrainer`` (or any object with its
        fields): the TrainJob ``TrainerClient.train(trainer=...)`` would make, on
        torch-distributed unless ``runtime`` says otherwise, plus the function's local
        modules shipped with it. Keywords given here win over the trainer's fields.
        """
        if not callable(func) and callable(getattr(func, "func", None)):
            func, trainer_kwargs, trainer_fields = custom_trainer_fields(func)
            kwargs = trainer_kwargs if kwargs is None else kwargs
            workers = trainer_fields.pop("workers", None) if workers is None else workers
            fields = {**trainer_fields, **fields}
        code = code_from_function(func, args=args, kwargs=kwargs)
        spec = JobSpec.create(framework, name=name, workers=workers or 1, code=code, **fields)
        return self.backend.submit(apply_profile(spec, self.job_profiles), self._ns(namespace))

    @staticmethod
    def _spec_from_fields(*, script, cell, args, **fields: Any) -> JobSpec:
        if "name" not in fields:
            raise InvalidSpecError("a job needs a name, e.g. name='mnist'")
        if script is not None and cell is not None:
            raise InvalidSpecError("give script or cell, not both")
        problems: list[str] = []
        try:
            if script is not None:
                fields["code"] = code_from_file(script, args=args)
            elif cell is not None:
                fields["code"] = code_from_cell(cell, folder=os.getcwd(), args=args)
        except InvalidSpecError as exc:  # reported with the spec's own problems below
            problems.extend(exc.problems)
            fields["code"] = Code("pass")
        # None: a TrainJob when a runtime is named, else a PyTorchJob that a cluster serving
        # only Trainer v2 may run as a TrainJob (JobSpec.create, kind_auto).
        framework = fields.pop("framework", None) or fields.pop("kind", None)
        workers = fields.pop("workers", 1)
        try:
            if "replicas" in fields:
                kind = framework or ("TrainJob" if fields.get("runtime") else "pytorch")
                spec = JobSpec(kind=kind, **fields)
            else:
                spec = JobSpec.create(framework, workers=workers, **fields)
        except InvalidSpecError as exc:
            problems.extend(exc.problems)
        if problems:
            raise InvalidSpecError(problems)
        return spec

    # -- reading --------------------------------------------------------------------------
    def get(self, name: str, namespace: str | None = None) -> Job:
        return self.backend.get(name, self._ns(namespace))

    get_job = get

    def list(self, namespace: str | None = None) -> list[Job]:
        return self.backend.list(self._ns(namespace))

    list_jobs = list

    def watch(
        self,
        namespace: str | None = None,
        *,
        name: str | None = None,
        timeout: float | None = None,
        stop: threading.Event | None = None,
    ) -> Iterator[Change]:
        return self.backend.watch(self._ns(namespace), name=name, timeout=timeout, stop=stop)

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
        """Follow one job live: its state changes, new events, metric points and log lines.

        The first ``Update`` carries the job's state and everything after ``since`` (from
        the start when None); each later one what changed. ``replicas`` names the logs to
        follow (default: rank 0's). It ends once the job has finished and all is read, when
        the job is deleted (an update with ``deleted`` set), after ``timeout`` seconds, or
        soon after ``stop`` is set. Hand an update's ``cursor`` back as ``since`` to go on
        after a reconnect with nothing lost or repeated::

            for update in client.updates("mnist"):
                for replica, line in update.logs:
                    print(line)
        """
        return self.backend.updates(
            name, self._ns(namespace), since=since, replicas=replicas, timeout=timeout, stop=stop
        )

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
        return self.backend.logs(
            name,
            self._ns(namespace),
            replica=replica,
            follow=follow,
            tail_lines=tail_lines,
            attempt=attempt,
        )

    def get_job_logs(
        self,
        name: str,
        namespace: str | None = None,
        *,
        replica: str | None = None,
        follow: bool = False,
        tail_lines: int | None = None,
        attempt: int | None = None,
    ) -> Iterator[str]:
        return self.logs(
            name,
            namespace,
            replica=replica,
            follow=follow,
            tail_lines=tail_lines,
            attempt=attempt,
        )

    # ``builtins.list``: in this class ``list`` is the method.
    def events(self, name: str, namespace: str | None = None) -> builtins.list[Event]:
        return self.backend.events(name, self._ns(namespace))

    def metrics(self, name: str, namespace: str | None = None) -> builtins.list[dict]:
        return self.backend.metrics(name, self._ns(namespace))

    def outputs(self, name: str, namespace: str | None = None) -> Outputs:
        """What job ``name`` wrote to its ``JKF_OUTPUT_DIR``: ``.files`` lists them,
        ``.read_bytes(path)``/``.path(path)`` fetch one; ``.note`` says why they cannot be
        read from here (a cluster job whose outputs are not on the notebook's home volume)."""
        return self.backend.outputs(name, self._ns(namespace))

    # -- changing -------------------------------------------------------------------------
    def scale(self, name: str, workers: int, namespace: str | None = None) -> Job:
        return self.backend.scale(name, workers, self._ns(namespace))

    def suspend(self, name: str, namespace: str | None = None) -> Job:
        return self.backend.suspend(name, self._ns(namespace))

    def resume(self, name: str, namespace: str | None = None) -> Job:
        return self.backend.resume(name, self._ns(namespace))

    def delete(self, name: str, namespace: str | None = None) -> None:
        self.backend.delete(name, self._ns(namespace))

    delete_job = delete

    def wait(
        self,
        name: str,
        namespace: str | None = None,
        *,
        conditions: Iterable[str] = ("Succeeded",),
        timeout: float = 600,
    ) -> Job:
        return self.backend.wait(name, self._ns(namespace), conditions=conditions, timeout=timeout)

    def wait_for_job_conditions(
        self,
        name: str,
        namespace: str | None = None,
        *,
        expected_conditions: Iterable[str] = ("Succeeded",),
        wait_timeout: float = 600,
    ) -> Job:
        return self.wait(name, namespace, conditions=expected_conditions, timeout=wait_timeout)

    def is_job_running(self, name: str, namespace: str | None = None) -> bool:
        return self.get(name, namespace).phase == "Running"

    def is_job_succeeded(self, name: str, namespace: str | None = None) -> bool:
        return self.get(name, namespace).phase == "Succeeded"

    def is_job_failed(self, name: str, namespace: str | None = None) -> bool:
        return self.get(name, namespace).phase == "Failed"

    def runtimes(self, namespace: str | None = None) -> builtins.list[Runtime]:
        """The Trainer v2 runtimes a TrainJob may name (``runtime=``): name, framework,
        default node count, image. Locally, the stock runtimes this machine can run."""
        return self.backend.runtimes(self._ns(namespace))

    @property
    def job_profiles(self) -> JobProfiles:
        """The job profiles this notebook may use, and whether a job must name one."""
        if self._job_profiles is None:
            self._job_profiles = JobProfiles.from_env(os.environ.get(ENV_JOB_PROFILES))
        return self._job_profiles

    def profiles(self) -> builtins.list[JobProfile]:
        """The job profiles the hub admin lets this user launch with (``profile=NAME``):
        image, resources per replica (defaults and the most a job may ask for), GPUs and
        where the pods run. Empty when none are configured."""
        return builtins.list(self.job_profiles.profiles)

    def close(self) -> None:
        self.backend.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
