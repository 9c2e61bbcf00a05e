"""deploy/trainer: Kubeflow Trainer v2 and JobSet at the versions the test control plane
runs (tests/cluster/trainer/versions.env), by upstream's own overlays at the release tag;
rendered from the Go module cache of those versions (no network) and passed through the
real API server's validation, as test_manifests.py does for the v1 operator."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from .conftest import DEPLOY, ROOT, rendered
from .test_manifests import go_module_cache

TRAINER_VERSIONS = ROOT / "tests" / "cluster" / "trainer" / "versions.env"
UPSTREAM = "https://github.com/kubeflow/trainer//manifests/overlays"


def pinned(name: str) -> str:
    found = re.search(rf"^{name}=(\S+)", TRAINER_VERSIONS.read_text(), re.M)
    assert found, f"{name} is not in {TRAINER_VERSIONS}"
    return found.group(1)


def resources(path: Path) -> list[str]:
    return yaml.safe_load((path / "kustomization.yaml").read_text())["resources"]


def module(path: str) -> Path:
    where = go_module_cache() / path
    if not where.is_dir():
        pytest.fail(f"{where} is missing: tests/cluster/build.sh downloads it (make cluster-build)")
    return where


def trainer_manifests() -> Path:
    return module(f"github.com/kubeflow/trainer/v2@{pinned('TRAINER_VERSION')}") / "manifests"


# -- pure: the refs -----------------------------------------------------------------------


def test_the_trainer_and_its_runtimes_are_the_pinned_upstream_overlays():
    version = pinned("TRAINER_VERSION")
    assert resources(DEPLOY / "trainer") == [f"{UPSTREAM}/manager?ref={version}"]
    assert resources(DEPLOY / "trainer" / "runtimes") == [f"{UPSTREAM}/runtimes?ref={version}"]


def test_the_pinned_trainer_brings_the_pinned_jobset():
    """The manager overlay installs JobSet from a release manifest the Trainer's tag names:
    that release is the one the test control plane runs."""
    jobset = trainer_manifests() / "third-party" / "jobset" / "kustomization.yaml"
    (url,) = yaml.safe_load(jobset.read_text())["resources"]
    assert url == (
        "https://github.com/kubernetes-sigs/jobset/releases/download/"
        f"{pinned('JOBSET_VERSION')}/manifests.yaml"
    )


# -- against the control plane ------------------------------------------------------------


@pytest.fixture(scope="module")
def offline_manager(tmp_path_factory) -> Path:
    """The Trainer's manager overlay with JobSet's release manifest replaced by the source
    it is built from (config/default of the same JobSet module), both copied side by side:
    kustomize refuses absolute paths, and the module cache is read-only."""
    root = tmp_path_factory.mktemp("trainer")
    shutil.copytree(trainer_manifests(), root / "manifests")
    shutil.copytree(
        module(f"sigs.k8s.io/jobset@{pinned('JOBSET_VERSION')}") / "config", root / "jobset"
    )
    for path in root.rglob("*"):
        path.chmod(path.stat().st_mode | 0o200)
    third_party = root / "manifests" / "third-party" / "jobset" / "kustomization.yaml"
    doc = yaml.safe_load(third_party.read_text())
    doc["resources"] = ["../../../jobset/default"]
    third_party.write_text(yaml.safe_dump(doc))
    return root / "manifests" / "overlays" / "manager"


# Objects the test cluster holds in a shape of its own, so upstream's are validated as new
# objects under other names: its webhook configurations (URLs: no kube-proxy here) and the
# headless Service that takes pods' progress posts to the Trainer's status server.
OWN_SHAPE = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "Service")


def dry_run(cluster, objs: list[dict]) -> None:
    """Server-side dry runs (nothing is stored): the test cluster runs both controllers as
    processes already, so what is not in OWN_SHAPE is applied over what is there."""
    new = [d for d in objs if d["kind"] in OWN_SHAPE]
    for d in new:
        d["metadata"]["name"] += "-deploy-test"
    rest = [d for d in objs if d["kind"] not in OWN_SHAPE]
    for verb, docs in ((["apply", "--server-side", "--force-conflicts"], rest), (["create"], new)):
        if docs:
            proc = cluster.kubectl(
                *verb, "--dry-run=server", "-f", "-", check=False, input=yaml.safe_dump_all(docs)
            )
            assert proc.returncode == 0, proc.stderr


@pytest.mark.cluster
def test_the_pinned_trainer_overlay_applies_server_side(cluster, offline_manager):
    objs = rendered(cluster, offline_manager)
    crds = {d["metadata"]["name"] for d in objs if d["kind"] == "CustomResourceDefinition"}
    assert crds == {
        "trainjobs.trainer.kubeflow.org",
        "trainingruntimes.trainer.kubeflow.org",
        "clustertrainingruntimes.trainer.kubeflow.org",
        "jobsets.jobset.x-k8s.io",
    }
    images = {
        c["image"]
        for d in objs
        if d["kind"] == "Deployment"
        for c in d["spec"]["template"]["spec"]["containers"]
    }
    assert images == {
        f"ghcr.io/kubeflow/trainer/trainer-controller-manager:{pinned('TRAINER_VERSION')}",
        f"registry.k8s.io/jobset/jobset:{pinned('JOBSET_VERSION')}",
    }
    assert {d["metadata"].get("namespace") for d in objs if d["kind"] == "Deployment"} == {
        "kubeflow-system"
    }
    public = next(
        d
        for d in objs
        if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "kubeflow-trainer-public"
    )
    assert public["data"] == {"kubeflow_trainer_version": pinned("TRAINER_VERSION")}
    dry_run(cluster, objs)


@pytest.mark.cluster
def test_the_pinned_runtimes_apply_server_side(cluster):
    objs = rendered(cluster, trainer_manifests() / "overlays" / "runtimes")
    names = {d["metadata"]["name"] for d in objs if d["kind"] == "ClusterTrainingRuntime"}
    # The runtimes the Kubernetes backend maps v1 kinds to (jobs/trainjob.py) are there.
    assert {"torch-distributed", "jax-distributed", "xgboost-distributed"} <= names
    dry_run(cluster, objs)
