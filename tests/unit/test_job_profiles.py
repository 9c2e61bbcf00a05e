"""Job profiles (jobs/profiles.py): parsing the admin's list, choosing, applying to a spec,
refusing what exceeds or bypasses it, and where the placement lands in each manifest."""

import dataclasses

import pytest

from jupyter_kf.errors import InvalidSpecError
from jupyter_kf.jobs import Code, JobSpec, Resources
from jupyter_kf.jobs.profiles import (
    ANNOTATION_NODE_SELECTOR,
    ANNOTATION_PRIORITY_CLASSES,
    ANNOTATION_TOLERATIONS,
    JobProfiles,
    apply_profile,
    namespace_annotations,
    offered,
    parse_job_profiles,
)
from jupyter_kf.jobs.readback import spec_from_cr
from jupyter_kf.jobs.render import render_job
from jupyter_kf.jobs.trainjob import as_trainjob, render_trainjob

GPU_TAINT = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
CONFIG = [
    {"name": "small", "display_name": "Small CPU", "cpu": "2", "memory": "4Gi", "default": True},
    {
        "name": "a100",
        "display_name": "1 x A100",
        "image": "registry.example/torch:2.4",
        "cpu": "8",
        "memory": "64Gi",
        "gpu": 1,
        "node_selector": {"gpu": "a100"},
        "tolerations": [GPU_TAINT],
        "priority_class_name": "training-high",
        "allowed_groups": ["ml"],
    },
    {"name": "alice-only", "allowed_users": ["alice"]},
]


def spec(**kw):
    return JobSpec.create("pytorch", name="j", workers=2, code=Code("pass"), **kw)


def profiles(required=False):
    return JobProfiles(tuple(parse_job_profiles(CONFIG)), required)


def test_offered_by_user_and_group():
    parsed = parse_job_profiles(CONFIG)
    assert offered(parsed, "bob", [], required=False).names == ["small"]
    assert offered(parsed, "bob", ["ml"], required=False).names == ["small", "a100"]
    assert offered(parsed, "alice", [], required=True).names == ["small", "alice-only"]


def test_env_round_trip_keeps_what_the_notebook_needs_and_not_who_may():
    mine = offered(parse_job_profiles(CONFIG), "bob", ["ml"], required=True)
    back = JobProfiles.from_env(mine.to_env())
    assert back.required and back.names == ["small", "a100"]
    assert back.profiles[1].tolerations == (GPU_TAINT,)
    assert "allowed_groups" not in mine.to_env()
    assert JobProfiles.from_env(None) == JobProfiles() and not JobProfiles()


def test_bad_env_is_a_clear_error():
    with pytest.raises(InvalidSpecError, match="JUPYTER_KF_JOB_PROFILES is not"):
        JobProfiles.from_env("{not json")


@pytest.mark.parametrize(
    "entry, message",
    [
        ({"display_name": "x"}, "name None must be lower-case"),
        ({"name": "x", "cpu": "lots"}, "x.*cpu"),
        ({"name": "x", "gpu": -1}, "gpu must be a whole number"),
        ({"name": "x", "tolerations": [{"key": "a", "operator": "Maybe"}]}, "operator 'Maybe'"),
        ({"name": "x", "node_selector": {"a": 1}}, "is not a node label"),
        ({"name": "x", "allowed_users": "alice"}, "allowed_users must be a list"),
        ({"name": "x", "colour": "red"}, "unknown keys \\['colour'\\]"),
    ],
)
def test_bad_configuration_is_refused_at_start_up(entry, message):
    with pytest.raises(ValueError, match=message):
        parse_job_profiles([entry])


def test_two_defaults_and_two_names_are_refused():
    with pytest.raises(ValueError, match="two job profiles are named 'a'.*more than one"):
        parse_job_profiles(
            [{"name": "a", "default": True}, {"name": "a"}, {"name": "b", "default": True}]
        )


def test_a_profile_fills_image_resources_and_placement():
    out = apply_profile(spec(profile="a100"), profiles())
    assert out.profile == "a100"
    assert out.image == "registry.example/torch:2.4"
    assert out.resources == Resources(cpu="8", memory="64Gi", gpu=1)
    assert dict(out.node_selector) == {"gpu": "a100"}
    assert [dict(t) for t in out.tolerations] == [GPU_TAINT]
    assert out.priority_class == "training-high"


def test_what_the_job_asks_within_the_profile_is_kept():
    out = apply_profile(spec(profile="a100", resources=Resources(cpu="500m")), profiles())
    assert out.resources == Resources(cpu="500m", memory="64Gi", gpu=1)


def test_no_profile_gets_the_default():
    assert apply_profile(spec(), profiles()).profile == "small"


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"resources": Resources(cpu="16")}, "cpu 16 per replica is more than .* allows \\(8\\)"),
        ({"resources": Resources(memory="65Gi")}, "memory 65Gi per replica is more than"),
        ({"resources": Resources(gpu=2)}, "2 GPU\\(s\\) per replica is more than"),
        ({"node_selector": {"gpu": "h100"}}, "node selector gpu=h100 is not part of"),
        (
            {"tolerations": [{"key": "spot", "operator": "Exists"}]},
            "toleration .*spot.* is not part of job profile 'a100'",
        ),
        ({"priority_class": "system-cluster-critical"}, "priority class 'system-cluster"),
    ],
)
def test_exceeding_or_bypassing_a_profile_is_refused(kw, message):
    with pytest.raises(InvalidSpecError, match=message):
        apply_profile(spec(profile="a100", **kw), profiles())


def test_unknown_profile_names_the_offered_ones():
    with pytest.raises(InvalidSpecError, match="unknown profile 'huge'; job profiles: small, a100"):
        apply_profile(spec(profile="huge"), profiles())


def test_required_profile_without_default():
    p = JobProfiles(tuple(parse_job_profiles(CONFIG[1:])), required=True)
    with pytest.raises(InvalidSpecError, match="requires a job profile: choose one with --profile"):
        apply_profile(spec(), p)


def test_without_a_profile_no_placement_of_ones_own():
    p = JobProfiles(tuple(parse_job_profiles(CONFIG[1:])), required=False)
    assert apply_profile(spec(), p).profile is None
    with pytest.raises(InvalidSpecError, match="come from a job profile here"):
        apply_profile(spec(tolerations=[GPU_TAINT]), p)


def test_no_profiles_configured_leaves_the_spec_alone():
    s = spec(tolerations=[GPU_TAINT])
    assert apply_profile(s, JobProfiles()) is s
    with pytest.raises(InvalidSpecError, match="no job profiles are configured"):
        apply_profile(spec(profile="a100"), JobProfiles())


def test_namespace_annotations_are_the_union_the_policy_reads():
    assert namespace_annotations(profiles()) == {
        ANNOTATION_TOLERATIONS: "nvidia.com/gpu|Exists||NoSchedule",
        ANNOTATION_NODE_SELECTOR: "gpu=a100",
        ANNOTATION_PRIORITY_CLASSES: "training-high",
    }
    assert set(namespace_annotations(JobProfiles()).values()) == {""}


def test_v1_pod_templates_carry_the_placement():
    job = render_job(apply_profile(spec(profile="a100"), profiles()), namespace="ns", image="i")
    for role in ("Master", "Worker"):
        pod = job["spec"]["pytorchReplicaSpecs"][role]["template"]["spec"]
        assert pod["nodeSelector"] == {"gpu": "a100"}
        assert pod["tolerations"] == [GPU_TAINT]
        assert pod["priorityClassName"] == "training-high"
    assert (
        "nodeSelector"
        not in render_job(spec(), namespace="ns", image="i")["spec"]["pytorchReplicaSpecs"][
            "Master"
        ]["template"]["spec"]
    )


def test_trainjob_gets_placement_through_its_runtime_patch_and_no_priority():
    s = JobSpec.create(
        name="t", runtime="torch-distributed", workers=2, code=Code("pass"), profile="a100"
    )
    tj = render_trainjob(apply_profile(s, profiles()), namespace="ns", image=None)
    (job,) = tj["spec"]["runtimePatches"][0]["trainingRuntimeSpec"]["template"]["spec"][
        "replicatedJobs"
    ]
    pod = job["template"]["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"gpu": "a100"}
    assert pod["tolerations"] == [GPU_TAINT]
    assert "priorityClassName" not in pod
    with pytest.raises(InvalidSpecError, match="runtime's priority class"):
        JobSpec.create(name="t", runtime="torch-distributed", priority_class="high")


def test_spec_round_trips_its_placement():
    s = apply_profile(spec(profile="a100"), profiles())
    assert JobSpec.from_dict(s.to_dict()) == s


@pytest.mark.parametrize("runtime", [None, "torch-distributed"], ids=["PyTorchJob", "TrainJob"])
def test_the_cr_reads_back_with_its_profile_and_placement(runtime):
    kind = None if runtime is None else "TrainJob"
    s = JobSpec.create(kind, name="j", runtime=runtime, command=("python", "-c", "1"))
    s = apply_profile(dataclasses.replace(s, profile="a100"), profiles())
    render = render_job if runtime is None else render_trainjob
    cr = render(s, namespace="ns", image="i")
    assert cr["metadata"]["annotations"] == {"jupyter-kf.io/profile": "a100"}
    back = spec_from_cr(cr)
    assert (back.profile, dict(back.node_selector), back.priority_class) == (
        s.profile,
        dict(s.node_selector),
        s.priority_class,
    )
    assert back.tolerations == s.tolerations and not back.annotations


def test_a_v1_job_run_as_a_trainjob_keeps_its_placement_and_leaves_priority_to_the_runtime():
    s = apply_profile(spec(profile="a100"), profiles())
    tj = as_trainjob(s, "torch-distributed")
    assert tj.priority_class is None and tj.tolerations == s.tolerations
    assert dict(tj.node_selector) == {"gpu": "a100"} and tj.profile == "a100"
