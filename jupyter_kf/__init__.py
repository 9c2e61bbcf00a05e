"""jupyter-kf: Kubeflow training jobs from Jupyter."""

from .client import Client
from .errors import (BackendUnavailableError, ConflictError, ForbiddenError, InvalidSpecError,
                     JobFailedError, JobTimeoutError, JupyterKFError, NotFoundError)
from .jobs import Code, ElasticPolicy, Job, JobSpec, Resources, RunPolicy
from .report import report

__version__ = "0.1.0"

__all__ = [
    "BackendUnavailableError", "Client", "Code", "ConflictError", "ElasticPolicy",
    "ForbiddenError", "InvalidSpecError", "Job", "JobFailedError", "JobSpec",
    "JobTimeoutError", "JupyterKFError", "NotFoundError", "Resources", "RunPolicy", "report",
]
