"""jupyter-kf: Kubeflow training jobs from Jupyter."""

from ._version import __version__
from .client import Client
from .errors import (
    AmbiguousNameError,
    BackendUnavailableError,
    ConflictError,
    ForbiddenError,
    InvalidSpecError,
    JobFailedError,
    JobTimeoutError,
    JupyterKFError,
    NotAcknowledgedError,
    NotFoundError,
)
from .jobs import Code, ElasticPolicy, Job, JobSpec, Resources, RunPolicy
from .report import report

__all__ = [
    "__version__",
    "AmbiguousNameError",
    "BackendUnavailableError",
    "Client",
    "Code",
    "ConflictError",
    "ElasticPolicy",
    "ForbiddenError",
    "InvalidSpecError",
    "Job",
    "JobFailedError",
    "JobSpec",
    "JobTimeoutError",
    "JupyterKFError",
    "NotAcknowledgedError",
    "NotFoundError",
    "Resources",
    "RunPolicy",
    "report",
]


def _jupyter_server_extension_points() -> list[dict]:
    """jupyter-server finds the extension here (enabled by jupyter-config on install)."""
    from .server import JupyterKF

    return [{"module": "jupyter_kf", "app": JupyterKF}]


def _jupyter_labextension_paths() -> list[dict]:
    """The prebuilt JupyterLab panel (built from labextension/ into jupyter_kf/labextension)."""
    return [{"src": "labextension", "dest": "jupyter-kf-labextension"}]


def load_ipython_extension(ipython) -> None:
    """``%load_ext jupyter_kf``: the ``%kftrain`` magics, and jobs that display themselves."""
    from .magics import load_ipython_extension as load  # IPython only when asked for

    load(ipython)


def unload_ipython_extension(ipython) -> None:
    from .magics import unload_ipython_extension as unload

    unload(ipython)
