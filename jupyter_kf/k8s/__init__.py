"""The one door to the Kubernetes API (with backends/kubernetes and hub/ its only users):
client configuration, calls with retries and raw JSON (``call``, ``acall``, ``open_stream``),
error translation into jupyter_kf.errors, the list+watch cache, and discovery of the
training APIs and runtimes the cluster serves."""

from .api import (
    ONCE,
    ApiClient,
    RetryPolicy,
    acall,
    call,
    core_api,
    custom_api,
    iter_lines,
    open_stream,
    own_retries,
)
from .config import ClusterConfig, load_api_client
from .discovery import RuntimeList, ServedApis, list_runtimes, served_apis
from .errors import translate
from .informer import Informer

__all__ = [
    "ONCE",
    "ApiClient",
    "ClusterConfig",
    "Informer",
    "RetryPolicy",
    "RuntimeList",
    "ServedApis",
    "acall",
    "call",
    "core_api",
    "custom_api",
    "iter_lines",
    "list_runtimes",
    "load_api_client",
    "open_stream",
    "own_retries",
    "served_apis",
    "translate",
]
