"""deploy/ as files: the users' rules equal jupyter_kf.k8s.rbac's, every kustomization
renders and applies server-side (real schema validation, real admission) on the control
plane from tests/cluster, the training operator is the pinned one, the z2jh values fit the
chart's schema, and the images are built from what they should be."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
import yaml
from kubernetes import client as k8s

from jupyter_kf.k8s.rbac import (
    ROLE_NAME,
    runtime_reader_binding,
    runtime_reader_role,
    user_role_rules,
)

from .conftest import DEPLOY, HUB_USER, ROOT, load_all, rendered

HERE = Path(__file__).parent
VERSIONS = ROOT / "tests" / "cluster" / "versions.env"


def pinned_operator_version() -> str:
    return re.search(r"^TRAINING_OPERATOR_VERSION=(\S+)", VERSIONS.read_text(), re.M).group(1)


def canonical(rules) -> list:
    """Rules as sets (RBAC ignores order within a rule), in the given rule order."""
    out = []
    for r in rules:
        r = r if isinstance(r, dict) else k8s.ApiClient().sanitize_for_serialization(r)
        out.append({k: sorted(v) for k, v in r.items() if v})
    return out


# -- pure: no cluster -------------------------------------------------------------------


def test_the_users_clusterrole_is_jupyter_kf_k8s_rbac():
    (role,) = [
        d for d in load_all(DEPLOY / "rbac" / "user-clusterrole.yaml") if d["kind"] == "ClusterRole"
    ]
    assert role["metadata"]["name"] == ROLE_NAME
    assert canonical(role["rules"]) == canonical(user_role_rules())


def test_the_runtime_reader_is_jupyter_kf_k8s_rbac():
    """ClusterTrainingRuntimes are read through their own ClusterRole and binding, and
    nothing else rides on that binding."""
    docs = {d["kind"]: d for d in load_all(DEPLOY / "rbac" / "runtime-reader.yaml")}
    assert set(docs) == {"ClusterRole", "ClusterRoleBinding"}
    role, binding = runtime_reader_role(), runtime_reader_binding()
    assert docs["ClusterRole"]["metadata"]["name"] == role["metadata"]["name"]
    assert canonical(docs["ClusterRole"]["rules"]) == canonical(role["rules"])
    for key in ("roleRef", "subjects"):
        assert docs["ClusterRoleBinding"][key] == binding[key]
    assert all(set(r["verbs"]) <= {"get", "list", "watch"} for r in role["rules"])


def test_the_training_operator_is_the_pinned_upstream_overlay():
    (url,) = yaml.safe_load((DEPLOY / "training-operator" / "kustomization.yaml").read_text())[
        "resources"
    ]
    assert url == (
        "https://github.com/kubeflow/trainer//manifests/overlays/standalone"
        f"?ref={pinned_operator_version()}"
    )


def helm_merge(base, over):
    """Helm's coalescing of values: maps merge key by key, anything else replaces, null deletes."""
    if not (isinstance(base, dict) and isinstance(over, dict)):
        return over
    out = dict(base)
    for key, value in over.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = helm_merge(base.get(key), value)
    return out


def test_the_z2jh_values_fit_the_charts_schema():
    """As `helm upgrade --values deploy/z2jh/values.yaml` checks them: the chart's
    values.schema.json against its defaults merged with ours (chart 4.4.0, vendored here:
    Helm itself cannot be downloaded on the CI machine)."""
    import jsonschema

    schema = json.loads((HERE / "z2jh-4.4.0-values.schema.json").read_text())
    defaults = yaml.safe_load((HERE / "z2jh-4.4.0-values.yaml").read_text())
    ours = yaml.safe_load((DEPLOY / "z2jh" / "values.yaml").read_text())
    jsonschema.validate(helm_merge(defaults, ours), schema)
    # The schema refuses unknown keys and wrong types, so a typo would fail here.
    for bad in ({"hub": {"nonsense": 1}}, {"cull": {"timeout": "soon"}}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(helm_merge(helm_merge(defaults, ours), bad), schema)


def test_the_spawner_settings_are_the_spawners():
    """hub.config passes straight into traitlets: a misspelt setting would only warn."""
    from jupyter_kf.hub import KubeflowSpawner

    traits = set(KubeflowSpawner.class_traits(config=True))
    values = yaml.safe_load((DEPLOY / "z2jh" / "values.yaml").read_text())
    unknown = set(values["hub"]["config"]["KubeflowSpawner"]) - traits
    # user_cluster_role is what deploy/'s RBAC needs from the spawner (see deploy/README.md).
    assert unknown <= {"user_cluster_role"}, unknown
    for profile in values["hub"]["config"]["KubeflowSpawner"]["profile_list"]:
        assert set(profile.get("overrides", {})) <= traits


def test_the_images_install_jupyter_kf_on_the_right_bases():
    images = DEPLOY / "images"
    notebook = (images / "notebook" / "Dockerfile").read_text()
    assert "ARG BASE_IMAGE=quay.io/jupyter/" in notebook and "jupyter_kf-*.whl" in notebook
    hub = (images / "hub" / "Dockerfile").read_text()
    assert "jupyterhub-idle-culler==" in hub and "[hub]" in hub
    z2jh = (images / "z2jh-hub" / "Dockerfile").read_text()
    chart = re.search(r"--version (\S+)", (DEPLOY / "z2jh" / "values.yaml").read_text())
    assert (
        f"ARG BASE_IMAGE=quay.io/jupyterhub/k8s-hub:{chart.group(1) if chart else '4.4.0'}" in z2jh
    )
    for d in ("notebook", "hub", "z2jh-hub"):
        assert (images / d / "Dockerfile.dockerignore").is_file()


# -- against the control plane ----------------------------------------------------------

pytestmark_cluster = pytest.mark.cluster


@pytestmark_cluster
def test_deploy_applies_server_side_and_again(cluster, deployed):
    kinds = {(d["kind"], d["metadata"]["name"]) for d in rendered(cluster, DEPLOY)}
    assert {
        ("ClusterRole", "jupyter-kf-user"),
        ("ClusterRole", "jupyter-kf-runtime-reader"),
        ("ClusterRoleBinding", "jupyter-kf-runtime-reader"),
        ("ClusterRole", "jupyter-kf-hub"),
        ("ClusterRoleBinding", "jupyter-kf-hub"),
        ("ValidatingAdmissionPolicy", "jupyter-kf-hub-scope"),
        ("Deployment", "hub"),
        ("Deployment", "proxy"),
        ("Service", "proxy-public"),
    } <= kinds
    for kind, name in kinds:
        assert f"{name}" in deployed, (kind, name)
    again = cluster.kubectl("apply", "--server-side", "-k", str(DEPLOY), check=False)
    assert again.returncode == 0, again.stderr


@pytestmark_cluster
def test_the_cluster_holds_the_users_rules(deployed, admin_api):
    role = k8s.RbacAuthorizationV1Api(admin_api).read_cluster_role(ROLE_NAME)
    assert canonical(role.rules) == canonical(user_role_rules())


@pytestmark_cluster
def test_the_admission_policy_type_checks(deployed, admin_api):
    policy = admin_api.call_api(
        "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/jupyter-kf-hub-scope",
        "GET",
        response_type="object",
        _return_http_data_only=True,
    )
    assert not (policy.get("status", {}).get("typeChecking") or {}).get("expressionWarnings")
    assert HUB_USER in policy["spec"]["matchConditions"][0]["expression"]


@pytestmark_cluster
def test_the_hub_and_proxy_pods_pass_pod_security_restricted(deployed, admin_api, cluster):
    """Namespace jupyterhub enforces `restricted`: the ReplicaSets' pods were admitted."""
    from tests.support.waiting import wait_for

    core = k8s.CoreV1Api(admin_api)
    for component in ("hub", "proxy"):
        wait_for(
            lambda c=component: (
                core.list_namespaced_pod(
                    "jupyterhub", label_selector=f"app.kubernetes.io/component={c}"
                ).items
            ),
            60,
            what=component,
        )
    events = core.list_namespaced_event("jupyterhub", field_selector="reason=FailedCreate").items
    assert not events, [e.message for e in events]


@pytestmark_cluster
def test_the_z2jh_rbac_applies_server_side(cluster, deployed):
    objs = rendered(cluster, DEPLOY / "z2jh")
    binding = next(d for d in objs if d["kind"] == "ClusterRoleBinding")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "hub", "namespace": "jupyterhub"}
    ]
    proc = cluster.kubectl(
        "apply", "--server-side", "--dry-run=server", "-k", str(DEPLOY / "z2jh"), check=False
    )
    assert proc.returncode == 0, proc.stderr


def go_module_cache() -> Path:
    """Where tests/cluster/build.sh keeps Go modules (the same variables, the same order)."""
    xdg = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    cache = Path(os.environ.get("JKF_CACHE") or xdg / "jupyter-kf" / "cluster")
    return Path(os.environ.get("JKF_GOMODCACHE") or cache / "go" / "mod")


def test_the_module_cache_is_found_where_build_sh_puts_it(tmp_path, monkeypatch):
    for name in ("JKF_GOMODCACHE", "JKF_CACHE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert go_module_cache() == tmp_path / "xdg" / "jupyter-kf" / "cluster" / "go" / "mod"
    monkeypatch.setenv("JKF_CACHE", str(tmp_path / "c"))
    assert go_module_cache() == tmp_path / "c" / "go" / "mod"
    monkeypatch.setenv("JKF_GOMODCACHE", str(tmp_path / "m"))
    assert go_module_cache() == tmp_path / "m"
    script = (ROOT / "tests" / "cluster" / "build.sh").read_text()
    assert ': "${JKF_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/jupyter-kf/cluster}"' in script
    assert 'GOMODCACHE="${JKF_GOMODCACHE:-$JKF_CACHE/go/mod}"' in script


@pytestmark_cluster
def test_the_pinned_operator_overlay_applies_server_side(cluster):
    """The overlay deploy/training-operator fetches, taken from the Go module cache of the
    same version (tests/cluster built the operator from it): renders and passes the API
    server's validation. Dry run: the test cluster runs that operator as a process already."""
    version = pinned_operator_version()
    overlay = (
        go_module_cache()
        / "github.com"
        / "kubeflow"
        / f"training-operator@{version}"
        / "manifests"
        / "overlays"
        / "standalone"
    )
    if not overlay.is_dir():
        pytest.fail(
            f"{overlay} is missing: tests/cluster/build.sh downloads it (make cluster-build)"
        )
    objs = rendered(cluster, overlay)
    crds = {d["metadata"]["name"] for d in objs if d["kind"] == "CustomResourceDefinition"}
    assert {
        f"{p}.kubeflow.org"
        for p in ("pytorchjobs", "tfjobs", "mpijobs", "xgboostjobs", "paddlejobs", "jaxjobs")
    } <= crds
    # The test cluster already has this operator's CRDs (up.sh) and a webhook configuration
    # pointing at a URL (no kube-proxy here): apply the rest over them, and validate the
    # upstream webhook configuration under another name, as a new object.
    webhooks = [d for d in objs if d["kind"] == "ValidatingWebhookConfiguration"]
    for w in webhooks:
        w["metadata"]["name"] += "-deploy-test"
    rest = [d for d in objs if d["kind"] != "ValidatingWebhookConfiguration"]
    for verb, docs in (
        (["apply", "--server-side", "--force-conflicts"], rest),
        (["create"], webhooks),
    ):
        proc = cluster.kubectl(
            *verb, "--dry-run=server", "-f", "-", check=False, input=yaml.safe_dump_all(docs)
        )
        assert proc.returncode == 0, proc.stderr
