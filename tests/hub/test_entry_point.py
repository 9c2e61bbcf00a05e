"""How a hub finds the spawner: the ``kubeflow`` entry point and ``jupyter_kf.hub``, with
the old top-level ``spawner`` package kept as a deprecated alias for one release; and
that the notebook side (``import jupyter_kf``) never pays for JupyterHub."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

import pytest

from jupyter_kf.hub import KubeflowSpawner


def test_the_kubeflow_entry_point_loads_jupyter_kf_hub():
    (entry,) = [e for e in entry_points(group="jupyterhub.spawners") if e.name == "kubeflow"]
    assert entry.value == "jupyter_kf.hub:KubeflowSpawner"
    assert entry.load() is KubeflowSpawner


@pytest.mark.parametrize("name", ["kubeflow", "jupyter_kf.hub.KubeflowSpawner"])
def test_jupyterhub_resolves_the_names_a_config_may_give(name):
    from jupyterhub.app import JupyterHub

    assert JupyterHub(spawner_class=name).spawner_class is KubeflowSpawner


def test_the_old_spawner_package_is_an_alias_that_warns():
    import spawner

    with pytest.warns(DeprecationWarning, match=r"jupyter_kf\.hub\.KubeflowSpawner"):
        assert spawner.KubeflowSpawner is KubeflowSpawner
    with pytest.raises(AttributeError):
        spawner.objects  # noqa: B018 - only the class is kept, not the old modules


def test_a_config_naming_the_old_path_still_gets_the_spawner():
    from jupyterhub.app import JupyterHub

    with pytest.warns(DeprecationWarning, match=r"jupyter_kf\.hub\.KubeflowSpawner"):
        assert JupyterHub(spawner_class="spawner.KubeflowSpawner").spawner_class is KubeflowSpawner


def test_importing_jupyter_kf_does_not_import_jupyterhub():
    # a fresh interpreter: this one imported JupyterHub above
    code = "import sys, jupyter_kf; print(sorted(m for m in sys.modules if m.startswith('jupyterhub')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
