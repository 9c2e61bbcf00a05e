"""Profiles: parsing, who is offered what, validation of what a user sends, and merging
(pure, no cluster)."""

from __future__ import annotations

import pytest

from jupyter_kf.hub import profiles as P

PROFILES = [
    {"display_name": "CPU", "slug": "cpu", "default": True, "overrides": {"cpu_limit": 1}},
    {
        "display_name": "GPU",
        "slug": "gpu",
        "allowed_groups": ["ml"],
        "allowed_users": ["root"],
        "kubespawner_override": {
            "extra_resource_limits": {"nvidia.com/gpu": "1", "example.com/nic": "1"}
        },
        "profile_options": {
            "gpus": {
                "display_name": "GPUs",
                "choices": {
                    "1": {"display_name": "one", "default": True},
                    "2": {
                        "display_name": "two",
                        "overrides": {"extra_resource_limits": {"nvidia.com/gpu": "2"}},
                    },
                },
            },
            "image": {
                "display_name": "Image",
                "choices": {"t": {"display_name": "Torch", "overrides": {"image": "torch"}}},
                "unlisted_choice": {
                    "enabled": True,
                    "validation_regex": r"^[a-z]+:[0-9]+$",
                    "overrides": {"image": "registry/{value}"},
                },
            },
        },
    },
]


@pytest.fixture
def parsed():
    return P.parse_profiles(PROFILES)


@pytest.mark.parametrize(
    "user,groups,offered",
    [
        ("anna", [], ["cpu"]),
        ("anna", ["ml"], ["cpu", "gpu"]),
        ("root", [], ["cpu", "gpu"]),
        ("anna", ["other"], ["cpu"]),
    ],
)
def test_offered_by_user_and_group(parsed, user, groups, offered):
    assert [p.slug for p in P.offered(parsed, user, groups)] == offered


@pytest.mark.parametrize(
    "options,groups,error",
    [
        ({"profile": "gpu"}, [], "no profile 'gpu' offered to you"),
        ({"profile": "nope"}, ["ml"], "no profile 'nope'"),
        ({"profile": "cpu", "x": "1"}, [], "has no option 'x'"),
        ({"profile": "gpu", "gpus": "3"}, ["ml"], "'3' is not a choice of 'GPUs'"),
        ({"profile": "gpu", "image": "Evil Image"}, ["ml"], "is not accepted"),
        ({"profile": "gpu", "image": "a:1" * 1000}, ["ml"], "is not accepted"),
        ({"profile": ["gpu"]}, ["ml"], "by its name"),
        ({"profile": "gpu", "gpus": 2}, ["ml"], "must be text"),
    ],
)
def test_tampered_options_are_refused(parsed, options, groups, error):
    with pytest.raises(P.OptionsError, match=error.replace("(", r"\(")):
        P.resolve(parsed, options, user="anna", groups=groups)


def test_defaults_and_overrides_in_order(parsed):
    profile, chosen, overrides = P.resolve(parsed, {}, user="anna", groups=[])
    assert profile.slug == "cpu" and overrides == [{"cpu_limit": 1}]
    profile, chosen, overrides = P.resolve(
        parsed, {"profile": "gpu", "gpus": "2", "image": "x:1"}, user="anna", groups=["ml"]
    )
    assert chosen == {"gpus": "2", "image": "x:1"}
    assert overrides[-1] == {"image": "registry/x:1"}


def test_gpu_limits_merge_key_by_key(parsed):
    """An option's GPU count must not drop the profile's other limits."""
    _, _, overrides = P.resolve(parsed, {"profile": "gpu", "gpus": "2"}, user="anna", groups=["ml"])
    value = {"example.com/other": "3"}  # the spawner's configured value
    for o in overrides:
        if "extra_resource_limits" in o:
            value = P.merge(value, o["extra_resource_limits"])
    assert value == {"example.com/other": "3", "nvidia.com/gpu": "2", "example.com/nic": "1"}


def test_merge_never_mutates():
    base = {"a": {"b": 1}}
    update = {"a": {"c": 2}}
    out = P.merge(base, update)
    assert out == {"a": {"b": 1, "c": 2}} and base == {"a": {"b": 1}} and update == {"a": {"c": 2}}
    assert P.merge([1], [2]) == [2]


def test_no_profiles_means_no_options():
    assert P.resolve([], {}, user="u", groups=[]) == (None, {}, [])
    with pytest.raises(P.OptionsError):
        P.resolve([], {"profile": "x"}, user="u", groups=[])


@pytest.mark.parametrize(
    "bad,error",
    [
        ([{"slug": "x"}], "display_name"),
        ([{"display_name": "A", "slug": "a"}, {"display_name": "B", "slug": "a"}], "used twice"),
        ([{"display_name": "A", "typo_override": {}}], "unknown keys"),
        ([{"display_name": "A", "profile_options": {"o": {"choices": {}}}}], "offers no choice"),
        ([{"display_name": "A", "overrides": {}, "kubespawner_override": {}}], "not both"),
    ],
)
def test_bad_configuration_is_refused(bad, error):
    with pytest.raises(ValueError, match=error):
        P.parse_profiles(bad)


def test_form_round_trip_and_escaping(parsed):
    html = P.render_form(P.offered(parsed, "anna", ["ml"]), {"profile": "gpu", "image": "x:1"})
    assert 'name="profile" id="profile-item-gpu" value="gpu" checked' in html
    assert 'value="unlisted-choice" selected' in html and 'value="x:1"' in html
    form = {
        "profile": ["gpu"],
        "profile-option-gpu--gpus": ["2"],
        "profile-option-gpu--image": ["unlisted-choice"],
        "profile-option-gpu--image--unlisted-choice": ["y:2"],
        "profile-option-cpu--ignored": ["z"],
    }
    assert P.options_from_form(form) == {"profile": "gpu", "gpus": "2", "image": "y:2"}
    evil = P.parse_profiles([{"display_name": "<script>x</script>", "slug": "s"}])
    assert "<script>" not in P.render_form(evil)
