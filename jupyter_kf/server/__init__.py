"""The jupyter-server extension behind the JupyterLab panel (REST under /kf/api/, events).

Enabled on install by jupyter-config/server-config/jupyter_kf.json; configured as
``c.JupyterKF.<trait>`` (see ``app.py``).
"""

from .app import JupyterKF

__all__ = ["JupyterKF"]
