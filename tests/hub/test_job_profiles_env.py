"""The spawner's job_profiles on the notebook pod it builds (no hub needed): each user gets
the profiles offered to them in JUPYTER_KF_JOB_PROFILES, in the form the notebook's
jupyter-kf reads back; a bad list stops the hub at start-up with its problems named."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from traitlets.config import Config

from jupyter_kf.jobs.profiles import ENV_JOB_PROFILES, JobProfiles
from tests.deploy.test_spawner_e2e import make_spawner

PROFILES = [
    {"name": "cpu", "cpu": "2", "default": True},
    {"name": "gpu", "gpu": 1, "allowed_groups": ["ml"]},
    {"name": "mine", "allowed_users": ["alice"]},
]


def spawner(user: str, groups=(), **settings):
    cfg = Config()
    for key, value in settings.items():
        setattr(cfg.KubeflowSpawner, key, value)
    sp = make_spawner(cfg, user)
    sp.user.groups = [SimpleNamespace(name=g) for g in groups]
    return sp


def profiles_on_the_pod(sp) -> JobProfiles:
    env = {e["name"]: e.get("value") for e in sp.build_pod()["spec"]["containers"][0]["env"]}
    return JobProfiles.from_env(env[ENV_JOB_PROFILES])


@pytest.mark.parametrize(
    ("user", "groups", "names"),
    [("bob", [], ["cpu"]), ("bob", ["ml"], ["cpu", "gpu"]), ("alice", [], ["cpu", "mine"])],
)
def test_each_user_gets_the_profiles_offered_to_them(user, groups, names):
    got = profiles_on_the_pod(
        spawner(user, groups, job_profiles=PROFILES, job_profile_required=True)
    )
    assert got.names == names and got.required


def test_no_job_profiles_means_an_empty_list():
    assert not profiles_on_the_pod(spawner("bob"))


def test_a_bad_list_is_refused_at_start_up():
    with pytest.raises(ValueError, match="job profile 'gpu': gpu must be a whole number"):
        spawner("bob", job_profiles=[{"name": "gpu", "gpu": "one"}])
