"""The spawner's training_apis puts JUPYTER_KF_TRAINING_APIS on the notebook pod it
builds (the pod spec the spawn creates; no hub needed), in the form the notebook's
jupyter-kf reads back; a setting it cannot read stops the hub at start-up."""

from __future__ import annotations

import pytest
from traitlets.config import Config

from jupyter_kf.jobs.apis import parse_training_apis
from tests.deploy.test_spawner_e2e import make_spawner


def spawner(**settings):
    cfg = Config()
    for key, value in settings.items():
        setattr(cfg.KubeflowSpawner, key, value)
    return make_spawner(cfg, "alice")


def pod_env(sp) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in sp.build_pod()["spec"]["containers"][0]["env"]}


@pytest.mark.parametrize(
    ("setting", "env"), [(None, "auto"), ("v2", "v2"), (" V2 ,v1", "v1,v2"), ("AUTO", "auto")]
)
def test_the_spawner_puts_its_training_apis_on_the_pod(setting, env):
    sp = spawner() if setting is None else spawner(training_apis=setting)
    assert pod_env(sp)["JUPYTER_KF_TRAINING_APIS"] == env
    assert parse_training_apis(env) == parse_training_apis(setting)


def test_the_spawner_refuses_an_unknown_api_at_start_up():
    with pytest.raises(ValueError, match=r"^KubeflowSpawner.training_apis='v3' is not understood"):
        spawner(training_apis="v3")
