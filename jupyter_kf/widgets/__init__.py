"""Notebook widgets: ``JobMonitor`` (a live view of one job with controls) and its parts.

Imported only in a notebook (``%load_ext jupyter_kf`` or directly), never by workers.
"""

from .logview import LogView
from .monitor import JobMonitor
from .plot import MetricsPlot

__all__ = ["JobMonitor", "LogView", "MetricsPlot"]
