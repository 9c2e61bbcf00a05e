"""The local backend, the embedded default: jobs as real processes on this machine."""

from .backend import LocalBackend

__all__ = ["LocalBackend"]
