"""Stop and start, hub restarts, named servers, odd user names, Pod Security: a real hub,
real single-user servers, the real control plane."""

from __future__ import annotations

import pytest
from kubernetes import client

from jupyter_kf.hub.slugs import multi_slug, safe_slug
from tests.support.waiting import wait_for

from .real_server import ACTIVITY_ENV, HUB_QUIET, assert_real_server
from .test_hub_spawn import pytorchjob

pytestmark = [pytest.mark.cluster, pytest.mark.hub, pytest.mark.timeout(400)]


def contents(hub, user: str, server: str = "", path: str = "hello.txt", put: str | None = None):
    token = hub.user_token(user)
    base = f"{hub.url}/user/{user}/{server + '/' if server else ''}api/contents/{path}"
    headers = {"Authorization": f"token {token}"}
    if put is not None:
        r = hub.session.put(
            base,
            json={"type": "file", "format": "text", "content": put},
            headers=headers,
            timeout=30,
        )
        assert r.status_code in (200, 201), r.text
        return None
    r = hub.session.get(base, headers=headers, timeout=30)
    json_reply = r.headers.get("Content-Type", "").startswith("application/json")
    if r.status_code == 404 and json_reply and path in r.json().get("message", ""):
        return None  # the server's own answer: no such file
    # Not the proxy's or the hub's page for a server it cannot reach.
    assert r.status_code == 200 and json_reply, (r.status_code, r.url, r.text[:500])
    return r.json()["content"]


def test_stop_start_keeps_home_and_a_hub_restart_keeps_every_server(hub_factory, node_side):
    hub = hub_factory(spawner={"environment": ACTIVITY_ENV}, hub=HUB_QUIET)
    core = client.CoreV1Api(node_side["api"])
    ns = f"{hub.settings['prefix']}erin"
    hub.add_user("erin")
    assert hub.spawn("erin").status_code in (201, 202)
    assert hub.spawn("erin", "dev").status_code in (201, 202)  # a named server
    hub.wait_ready("erin")
    hub.wait_ready("erin", "dev")
    for server in ("", "dev"):
        assert_real_server(hub, "erin", server)
    dev_pod = f"jupyter-{multi_slug('erin', 'dev', 48)}"
    assert {p.metadata.name for p in core.list_namespaced_pod(ns).items} == {
        "jupyter-erin",
        dev_pod,
    }
    assert {c.metadata.name for c in core.list_namespaced_persistent_volume_claim(ns).items} == {
        "claim-erin",
        f"claim-{multi_slug('erin', 'dev', 48)}",
    }

    contents(hub, "erin", put="kept")
    hub.stop_server("erin")
    wait_for(
        lambda: [p.metadata.name for p in core.list_namespaced_pod(ns).items] == [dev_pod],
        30,
        what="pod gone",
    )
    assert core.read_namespaced_persistent_volume_claim("claim-erin", ns).status.phase == "Bound"
    assert core.read_namespace(ns).status.phase == "Active"

    assert hub.spawn("erin").status_code in (201, 202)
    hub.wait_ready("erin")
    assert contents(hub, "erin") == "kept"  # the same volume came back

    # A hub restart in the middle: both servers are kept and reached again.
    uids = {p.metadata.name: p.metadata.uid for p in core.list_namespaced_pod(ns).items}
    hub.stop()
    hub.start()
    for server in ("", "dev"):
        assert hub.wait_ready("erin", server, timeout=60)
    assert {p.metadata.name: p.metadata.uid for p in core.list_namespaced_pod(ns).items} == uids
    assert contents(hub, "erin") == "kept"
    headers = {"Authorization": f"token {hub.user_token('erin')}"}
    # The named server answers through the proxy: a 404 for a file it does not have, not
    # the 503 of a server the proxy cannot reach (which contents() above would refuse too).
    r = hub.session.get(
        f"{hub.url}/user/erin/dev/api/contents/nothing.txt", headers=headers, timeout=30
    )
    assert r.status_code == 404, (r.status_code, r.url, r.text[:500])
    r = hub.session.get(f"{hub.url}/user/erin/dev/api/status", headers=headers, timeout=30)
    assert r.status_code == 200, r.text
    # The restarted hub still hears from both servers (their tokens survived the restart).
    for server in ("", "dev"):
        assert_real_server(hub, "erin", server, activity=True)


@pytest.mark.parametrize(
    "name", ["Ünïcødé.user@Example.com", "a" * 10_000 + "-ten-kb"], ids=["unicode", "10kb"]
)
def test_odd_user_names(hub_factory, node_side, name):
    hub = hub_factory()
    core = client.CoreV1Api(node_side["api"])
    hub.add_user(name)
    stored = hub.api("GET", "/users").json()
    hub_name = next(u["name"] for u in stored if u["name"].endswith(name[-6:].lower()))
    r = hub.spawn(hub_name)
    assert r.status_code in (201, 202), r.text
    hub.wait_ready(hub_name, timeout=150)
    slug = safe_slug(hub_name, 48)
    assert len(slug) <= 48 and slug != hub_name
    pod = core.read_namespaced_pod(f"jupyter-{slug}", f"{hub.settings['prefix']}{slug}")
    assert pod.metadata.annotations["hub.jupyter.org/username"] == hub_name
    assert_real_server(hub, hub_name)  # at a URL made of the odd name
    hub.stop_server(hub_name)


def test_pod_security_refuses_privileged_and_hostpath_jobs(hub_factory, node_side, cluster):
    hub = hub_factory()
    core = client.CoreV1Api(node_side["api"])
    hub.add_user("frank")
    assert hub.spawn("frank").status_code in (201, 202)
    hub.wait_ready("frank")
    ns = f"{hub.settings['prefix']}frank"
    request = client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(audiences=[]))
    token = core.create_namespaced_service_account_token("jupyter-frank", ns, request).status.token
    api = cluster.token_client(token)
    custom = client.CustomObjectsApi(api)
    privileged = pytorchjob("privileged", ns)
    privileged["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["containers"][0][
        "securityContext"
    ] = {"privileged": True}
    hostpath = pytorchjob("hostpath", ns)
    tpl = hostpath["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]
    tpl["volumes"] = [{"name": "host", "hostPath": {"path": "/etc"}}]
    tpl["containers"][0]["volumeMounts"] = [{"name": "host", "mountPath": "/host"}]
    for job in (privileged, hostpath):
        custom.create_namespaced_custom_object("kubeflow.org", "v1", ns, "pytorchjobs", job)

    # The operator tries to create the pods and the API server's Pod Security admission
    # refuses them (the operator records why on the job).
    def refusals():
        events = core.list_namespaced_event(
            ns, field_selector="involvedObject.kind=PyTorchJob"
        ).items
        found = {
            e.involved_object.name for e in events if "violates PodSecurity" in (e.message or "")
        }
        return found >= {"privileged", "hostpath"} and events

    events = wait_for(refusals, 90, 1.0, what="PodSecurity refusals on the jobs")
    text = "\n".join(e.message or "" for e in events)
    assert "baseline:latest" in text and "privileged" in text and "hostPath" in text
    pods = core.list_namespaced_pod(ns, label_selector="training.kubeflow.org/job-name").items
    assert pods == []
    # and the notebook's own identity cannot create a pod there at all
    with pytest.raises(client.ApiException) as refused:
        client.CoreV1Api(api).create_namespaced_pod(
            ns,
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "x"},
                "spec": {"containers": [{"name": "x", "image": "x"}]},
            },
        )
    assert refused.value.status == 403
    api.close()
