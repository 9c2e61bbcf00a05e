"""The Kubernetes backend: Training Operator CRs on a real cluster."""

from .backend import KubernetesBackend

__all__ = ["KubernetesBackend"]
