"""Profiles through a real hub: the options form offers only what a user may have, the
hub refuses tampered values with a message, GPU limits merge into the real pod, and a
GPU request no node can satisfy ends with the scheduler's own reason."""

from __future__ import annotations

import re

import pytest
from kubernetes import client

from tests.support.waiting import wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.hub, pytest.mark.timeout(300)]

PROFILES = [
    {
        "display_name": "Small CPU",
        "slug": "cpu",
        "default": True,
        "overrides": {"cpu_limit": 1, "mem_limit": "1G"},
    },
    {
        "display_name": "GPU",
        "slug": "gpu",
        "description": "for the ML group",
        "allowed_groups": ["ml"],
        "overrides": {
            "extra_resource_limits": {"nvidia.com/gpu": "1"},
            "mem_limit": "2G",
            "node_selector": {"nvidia.com/gpu.present": "true"},
        },
        "profile_options": {
            "size": {
                "display_name": "GPUs",
                "choices": {
                    "one": {"display_name": "1 GPU", "default": True, "overrides": {}},
                    "many": {
                        "display_name": "8 GPUs (no such node)",
                        "overrides": {"extra_resource_limits": {"nvidia.com/gpu": "8"}},
                    },
                },
            },
            "image": {
                "display_name": "Image",
                "choices": {
                    "torch": {
                        "display_name": "PyTorch",
                        "default": True,
                        "overrides": {"image": "example.org/torch:1"},
                    }
                },
                "unlisted_choice": {
                    "enabled": True,
                    "display_name": "Other image",
                    "validation_regex": r"^example\.org/[a-z0-9./:-]+$",
                    "validation_message": "images come from example.org",
                    "overrides": {"image": "{value}"},
                },
            },
        },
    },
]


@pytest.fixture
def phub(hub_factory):
    hub = hub_factory(spawner={"profile_list": PROFILES, "unschedulable_timeout": 15})
    hub.add_user("carol")
    hub.add_user("dave", groups=["ml"])
    return hub


def page(hub, user: str, method: str = "GET", data=None):
    browser = hub.login(user)
    if data is not None:
        data = {**data, "_xsrf": browser.cookies.get("_xsrf", "")}
    return browser.request(
        method, f"{hub.url}/hub/spawn/{user}", data=data, timeout=60, allow_redirects=False
    )


def test_form_offers_only_allowed_profiles_and_refuses_tampering(phub):
    form = page(phub, "carol").text
    assert 'value="cpu"' in form and 'value="gpu"' not in form
    assert 'value="gpu"' in page(phub, "dave").text

    # carol posts the withheld profile by hand: refused, with the reason, form shown again
    r = page(phub, "carol", "POST", {"profile": ["gpu"]})
    assert r.status_code == 400
    assert (
        "no profile &#39;gpu&#39; offered to you" in r.text or "no profile 'gpu' offered" in r.text
    )
    assert phub.server("carol") is None

    # dave tampers with a choice and with the free-text image
    r = page(phub, "dave", "POST", {"profile": ["gpu"], "profile-option-gpu--size": ["all"]})
    assert r.status_code == 400 and "is not a choice of" in r.text
    r = page(
        phub,
        "dave",
        "POST",
        {
            "profile": ["gpu"],
            "profile-option-gpu--image": ["unlisted-choice"],
            "profile-option-gpu--image--unlisted-choice": ["evil.io/miner"],
        },
    )
    assert r.status_code == 400 and "images come from example.org" in r.text

    # the REST API is checked the same way
    r = phub.spawn("carol", options={"profile": "gpu"})
    assert r.status_code == 400 and "offered to you" in r.json()["message"]
    r = phub.spawn("carol", options={"profile": "cpu", "sneaky": "1"})
    assert r.status_code == 400 and "has no option" in r.json()["message"]
    assert phub.server("carol") is None


def test_gpu_profile_limits_merge_into_the_pod(phub, node_side):
    r = phub.spawn("dave", options={"profile": "gpu", "image": "example.org/custom:2"})
    assert r.status_code in (201, 202), r.text
    phub.wait_ready("dave", timeout=150)
    core = client.CoreV1Api(node_side["api"])
    pod = core.read_namespaced_pod("jupyter-dave", f"{phub.settings['prefix']}dave")
    c = pod.spec.containers[0]
    assert c.image == "example.org/custom:2"
    assert c.resources.limits == {"nvidia.com/gpu": "1", "memory": str(2 * 1024**3)}  # "2G"
    assert c.resources.requests["nvidia.com/gpu"] == "1"
    assert pod.spec.node_name == "kwok-gpu-0"


def test_unschedulable_gpu_profile_shows_the_schedulers_reason(phub, node_side):
    r = phub.spawn("dave", options={"profile": "gpu", "size": "many"})
    assert r.status_code in (201, 202), r.text
    events = phub.progress("dave")
    messages = [e.get("message", "") for e in events]
    text = "\n".join(messages)
    assert "Namespace" in text and "ServiceAccount" in text and "Home volume" in text
    assert "FailedScheduling" in text and "Insufficient nvidia.com/gpu" in text
    final = events[-1]
    assert final.get("failed") is True
    assert "cannot be scheduled" in final["message"]
    assert re.search(r"0/\d+ nodes are available", final["message"]), final["message"]
    assert "Insufficient nvidia.com/gpu" in final["message"]
    # the failed spawn leaves no pod behind
    core = client.CoreV1Api(node_side["api"])
    ns = f"{phub.settings['prefix']}dave"
    wait_for(lambda: not core.list_namespaced_pod(ns).items, 60, what="pod deleted")
