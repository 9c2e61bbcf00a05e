"""One error tree for every front end.

Backends raise these; the REST API maps them to HTTP statuses, magics and widgets show
``str(error)``. ``ApiException`` from the Kubernetes client is translated into this tree in
exactly one place (``jupyter_kf.k8s.errors``), never here: this module imports nothing.
"""

from __future__ import annotations


class JupyterKFError(Exception):
    """Base of every error jupyter-kf raises on purpose. Its message is for the user."""

    http_status = 500


class InvalidSpecError(JupyterKFError, ValueError):
    """The job as given cannot run. ``problems`` lists every problem, one sentence each."""

    http_status = 422

    def __init__(self, problems: list[str] | str, *, subject: str = "job"):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        noun = "problem" if len(self.problems) == 1 else "problems"
        super().__init__(f"The {subject} is not valid ({len(self.problems)} {noun}):\n{lines}")


class NotFoundError(JupyterKFError, LookupError):
    http_status = 404


class ConflictError(JupyterKFError):
    """The name is taken, or the job is in a state that does not allow the request."""

    http_status = 409


class AmbiguousNameError(JupyterKFError, LookupError):
    """More than one job has the name (the API allows a PyTorchJob and a TrainJob of one
    name in a namespace): the message lists them and says how to name one (``kind/name``)."""

    http_status = 409


class ForbiddenError(JupyterKFError, PermissionError):
    http_status = 403


class BackendUnavailableError(JupyterKFError):
    """The backend cannot be reached (API server down, job folder unreadable, ...)."""

    http_status = 503


class JobTimeoutError(JupyterKFError, TimeoutError):
    http_status = 504


class NotAcknowledgedError(JupyterKFError, TimeoutError):
    """A change was requested but whoever carries it out did not act on it in time.

    The same on every backend: the job's supervisor process locally, the Training Operator
    (or the API server's watch) on a cluster.
    """

    http_status = 504

    def __init__(self, name: str, change: str, timeout: float, actor: str):
        self.name, self.change, self.timeout, self.actor = name, change, timeout, actor
        super().__init__(
            f"job {name}: {change} was requested but {actor} did not carry it out within "
            f"{timeout:g} s. The request stays in place and may still take effect: look at "
            f"the job's events and status, then try again or delete the job."
        )


class JobFailedError(JupyterKFError):
    """``wait`` saw the job fail while waiting for something else."""

    http_status = 409
