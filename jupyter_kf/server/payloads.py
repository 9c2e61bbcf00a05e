"""What the REST API reads and writes, with no tornado in sight (so it is easy to test).

Request bodies are checked here at the edge: a malformed body is a ``BadRequest`` (HTTP 400),
a well-formed body that describes a job that cannot run is the job model's own
``InvalidSpecError`` (HTTP 422, listing every problem).
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..client import Client
from ..errors import InvalidSpecError
from ..jobs import KINDS, Job, JobSpec
from ..jobs.explain import reason
from ..packaging import code_from_cell, code_from_file

# Keys a create body may carry besides the JobSpec's own fields (see openapi.yaml, JobCreate).
LAUNCH_KEYS = ("script", "cell", "notebook", "args", "profile")
# The longest log line a reply carries whole; a worker that prints a 100 MB line must not
# make the server build (and the panel render) a 100 MB reply.
MAX_LINE_CHARS = 16 * 1024
# Events in one GET .../events reply: the newest, with a count of the older ones left out.
MAX_EVENTS = 1000
# The most lines one logs request may ask for: with MAX_LINE_CHARS this bounds a reply.
MAX_TAIL_LINES = 10_000
# What a reply tells of ``Job.extra``: a TrainJob's runtime, its Trainer progress, a notice
# (a scale that replaced the job, a job run as a TrainJob); the rest is backend bookkeeping.
PUBLIC_EXTRA = ("runtime", "progress", "notice")


def clip_line(line: str) -> str:
    """``line``, or its first ``MAX_LINE_CHARS`` characters and a marker saying how many more
    there were (the full line stays in the log: ``jupyter kf logs`` prints it)."""
    if len(line) <= MAX_LINE_CHARS:
        return line
    return f"{line[:MAX_LINE_CHARS]} [jupyter-kf: line cut, {len(line) - MAX_LINE_CHARS} more characters]"


class BadRequest(ValueError):
    """The request itself is malformed (not JSON, wrong types, missing keys): HTTP 400."""


def summary(job: Job) -> dict[str, Any]:
    """A job as the list and the event stream show it: everything but its spec.

    The spec carries the job's code (up to 900 KiB), which a list of 500 jobs must not
    repeat; GET /kf/api/jobs/{name} returns it.
    """
    data = job_payload(job)
    spec = job.spec
    data.pop("spec", None)
    data["image"] = spec.image if spec is not None else None
    data["resources"] = spec.resources.to_dict() if spec is not None else {}
    data["suspended"] = bool(spec is not None and spec.run_policy.suspend)
    return data


def job_payload(job: Job) -> dict[str, Any]:
    """A job as GET /kf/api/jobs/{name} returns it. Its ``status.message`` is the one-line
    reason (jobs/explain.py: the failed replica, its exit code and last log lines; what
    keeps it Pending; the replicas that failed in a job that succeeded), so the panel
    says why without asking again; each condition keeps the operator's own message."""
    data = job.to_dict()
    data["status"]["message"] = reason(job)
    data["extra"] = {k: job.extra[k] for k in PUBLIC_EXTRA if job.extra.get(k) is not None}
    return data


def frameworks(kinds: frozenset[str] | None = None) -> list[dict[str, Any]]:
    """The v1 kinds the launch form offers, in a stable order: all, or those of ``kinds``
    (what the notebook's JUPYTER_KF_TRAINING_APIS leaves it, jobs/apis.py)."""
    return [info.to_dict() for info in KINDS.values() if kinds is None or info.kind in kinds]


def object_body(data: Any) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise BadRequest("the request body must be a JSON object")
    return dict(data)


def workers_body(data: Any) -> int:
    """``{"workers": N}`` for scale."""
    body = object_body(data)
    extra = sorted(set(body) - {"workers"})
    if extra:
        raise BadRequest(f'unknown field(s) {extra}; a scale request is {{"workers": N}}')
    workers = body.get("workers")
    if not isinstance(workers, int) or isinstance(workers, bool):
        raise BadRequest(f"workers must be a whole number, not {workers!r}")
    return workers


def non_negative_int(name: str, value: str | None, maximum: int | None = None) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number, not {value!r}") from None
    if number < 0:
        raise BadRequest(f"{name} must be >= 0, not {number}")
    if maximum is not None and number > maximum:
        raise BadRequest(f"{name} must be at most {maximum}, not {value}")
    return number


def _inside(root: Path, relative: str, what: str) -> Path:
    """``relative`` (an API path, '/'-separated) resolved under ``root``, never outside it."""
    if not isinstance(relative, str) or not relative.strip():
        raise InvalidSpecError(f"{what} must be a path relative to the server's root folder")
    clean = posixpath.normpath(relative.strip().lstrip("/"))
    base = root.resolve()
    path = (base / clean).resolve()  # symlinks too: a link may not lead out
    if clean.startswith("..") or (path != base and base not in path.parents):
        raise InvalidSpecError(f"{what} {relative!r} is outside the server's root folder")
    return path


def spec_from_body(
    body: Mapping[str, Any],
    *,
    root_dir: str | Path,
    default_image: str | None = None,
    profiles: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The ``JobSpec`` dict a create body asks for (it reads the script file, if one is named).

    ``script`` is a file under the server's root folder; ``cell`` is source text, whose local
    imports are looked up next to ``notebook``; ``profile`` names a job profile, which the
    client applies (jobs/profiles.py: image, resources, placement, and their limits).
    """
    body = object_body(body)
    launch = {k: body.pop(k) for k in LAUNCH_KEYS if k in body}
    root = Path(root_dir)
    problems: list[str] = []

    args = launch.get("args", [])
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise BadRequest("args must be a list of strings")
    problems.extend(_unpassable(args, body.get("env")))
    script, cell = launch.get("script"), launch.get("cell")
    if script is not None and cell is not None:
        problems.append("give script or cell, not both")
    elif script is not None:
        if not isinstance(script, str):
            raise BadRequest("script must be a string (a path under the server's root folder)")
        path = _inside(root, script, "script")
        if not path.is_file():
            raise InvalidSpecError(f"no script {script!r} under the server's root folder")
        body["code"] = code_from_file(path, args=args).to_dict()
    elif cell is not None:
        if not isinstance(cell, str):
            raise BadRequest("cell must be a string (Python source)")
        notebook = launch.get("notebook")
        if notebook is not None and not isinstance(notebook, str):
            raise BadRequest("notebook must be a string (a path under the server's root folder)")
        folder = _inside(root, notebook, "notebook").parent if notebook else root
        body["code"] = code_from_cell(cell, folder=folder, args=args).to_dict()
    elif "args" in launch:
        problems.append("args only apply with script or cell")

    if "profile" in launch:
        body["profile"] = launch["profile"]
    # A profile's image wins over the server's default, as it did when the form applied it.
    chosen = next((p for p in profiles if p.get("name") == launch.get("profile")), {})
    if default_image and not body.get("image") and not chosen.get("image"):
        body["image"] = default_image
    if problems:
        raise InvalidSpecError(problems)
    return body


def _unpassable(args: list[str], env: Any) -> list[str]:
    """Arguments and environment values no process can be started with: a NUL byte ends a
    C string, so the worker would fail to start (on either backend) long after the 201."""
    problems = [
        f"argument {i + 1} contains a NUL character" for i, a in enumerate(args) if "\0" in a
    ]
    if isinstance(env, Mapping):
        problems.extend(
            f"env {str(k)[:64]!r} contains a NUL character"
            for k, v in env.items()
            if isinstance(v, str) and "\0" in v
        )
    return problems


def check_size(replicas: int, max_replicas: int | None) -> None:
    """The server's cap on one job's processes/pods (``JupyterKF.max_replicas``)."""
    if max_replicas is not None and replicas > max_replicas:
        raise InvalidSpecError(
            f"the job asks for {replicas} replicas; this server allows at most {max_replicas} "
            "per job (JupyterKF.max_replicas)"
        )


def submit_from_body(
    client: Client,
    body: Any,
    namespace: str | None,
    *,
    max_replicas: int | None = None,
    **options: Any,
) -> Job:
    """Validate a create body and submit it (blocking: run it off the event loop)."""
    spec = JobSpec.from_dict(spec_from_body(body, **options))
    check_size(spec.total_replicas, max_replicas)
    return client.submit(spec, namespace=namespace)


def scale(
    client: Client,
    name: str,
    workers: int,
    namespace: str | None,
    *,
    max_replicas: int | None = None,
) -> Job:
    """Resize a job, within the server's cap (blocking)."""
    if max_replicas is not None and workers > max_replicas:
        check_size(workers, max_replicas)
    return client.scale(name, workers, namespace)
