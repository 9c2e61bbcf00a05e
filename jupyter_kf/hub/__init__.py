"""jupyter-kf's JupyterHub spawner: a Jupyter pod per user (and named server) that may
launch Kubeflow training jobs in the user's own namespace.

Use it with ``c.JupyterHub.spawner_class = "kubeflow"`` (entry point
``jupyterhub.spawners: kubeflow``) or ``"jupyter_kf.hub.KubeflowSpawner"``; see
docs/spawner.md. Importing ``jupyter_kf`` does not import this package (nor JupyterHub).
"""

from .spawner import KubeflowSpawner

__all__ = ["KubeflowSpawner"]
