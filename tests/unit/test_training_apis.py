"""JUPYTER_KF_TRAINING_APIS as the hub writes it and the Kubernetes backend reads it
(jobs/apis.py). The spawner's side: tests/hub/test_training_apis_env.py."""

from __future__ import annotations

import pytest

from jupyter_kf.errors import InvalidSpecError
from jupyter_kf.jobs.apis import api_of, describe, kinds_of, parse_training_apis
from jupyter_kf.jobs.kinds import ALL_KINDS, KINDS


@pytest.mark.parametrize(
    ("text", "apis"),
    [
        (None, None),
        ("", None),
        ("auto", None),
        (" AUTO ", None),
        ("v1", {"v1"}),
        ("v2", {"v2"}),
        ("v1,v2", {"v1", "v2"}),
        ("V2, v1", {"v1", "v2"}),
        ("v2 v1", {"v1", "v2"}),
        ("v2,,", {"v2"}),
    ],
)
def test_parse(text, apis):
    assert parse_training_apis(text) == (None if apis is None else frozenset(apis))


@pytest.mark.parametrize("text", ["v3", "trainer", "auto,v2", "v1;v2", "kubeflow.org/v1"])
def test_parse_refuses_with_the_choices(text):
    with pytest.raises(InvalidSpecError) as info:
        parse_training_apis(text)
    (problem,) = info.value.problems
    assert problem.startswith(f"JUPYTER_KF_TRAINING_APIS={text!r} is not understood: use 'auto'")
    assert "v1: the Training Operator v1" in problem and "v2: Kubeflow Trainer v2" in problem


def test_every_kind_belongs_to_one_api():
    assert kinds_of(frozenset({"v1"})) == frozenset(KINDS)
    assert kinds_of(frozenset({"v2"})) == {"TrainJob"}
    assert kinds_of(frozenset({"v1", "v2"})) == frozenset(ALL_KINDS)
    assert {api_of(k) for k in KINDS} == {"v1"} and api_of("TrainJob") == "v2"
    assert describe(frozenset({"v2"})) == "v2 only"
    assert describe(frozenset({"v2", "v1"})) == "v1 and v2"


def test_the_launch_form_offers_the_listed_apis_v1_kinds():
    from jupyter_kf.server.payloads import frameworks

    assert [f["kind"] for f in frameworks()] == list(KINDS)
    assert [f["kind"] for f in frameworks(kinds_of(frozenset({"v1", "v2"})))] == list(KINDS)
    assert frameworks(kinds_of(frozenset({"v2"}))) == []
