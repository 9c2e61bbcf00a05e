"""The one place (with backends/kubernetes and spawner/) that talks to the Kubernetes API:
client configuration, error translation and the list+watch cache."""

from .config import ClusterConfig, load_api_client
from .errors import translate
from .informer import Informer

__all__ = ["ClusterConfig", "Informer", "load_api_client", "translate"]
