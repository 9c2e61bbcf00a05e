"""Kubeflow Trainer v2 and JobSet on the tests/cluster control plane (issue 16).

The real Trainer controller manager and JobSet controller manager (tests/cluster/trainer)
turn a TrainJob into a JobSet, Jobs and pods (on KWOK nodes); their admission webhooks
are served for real. These tests prove what jupyter-kf will build on, and write what the
Trainer puts on pods to ``test-artifacts/cluster/trainer-env.json``.
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
import os
import re
import ssl
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from tests.cluster.plugin import Cluster
from tests.cluster.trainer.objects import (
    INDEX,
    JOBSET,
    JOBSET_NAME,
    JOBSET_V,
    TRAINER,
    TRAINER_V,
    api_error,
    conditions,
    create_trainjob,
    custom,
    dry_run_pod,
    env_of,
    get_trainjob,
    jobset_pods,
    patch_trainjob,
    probe_pod,
    trainjob,
)
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.trainjob]

HERE = Path(__file__).resolve().parent
# Trainer v2.3.0 manifests/base/runtimes, as installed by manifests/overlays/runtimes.
STOCK_RUNTIMES = {
    "deepspeed-distributed",
    "jax-distributed",
    "mlx-distributed",
    "torch-distributed",
    "torchtune-llama3.2-1b",
    "torchtune-llama3.2-3b",
    "torchtune-qwen2.5-1.5b",
    "xgboost-distributed",
}
TRAINER_SERVICE = "kubeflow-trainer-controller-manager.kubeflow-system.svc"
ARTIFACTS = Path(
    os.environ.get("JKF_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts")
)


def _versions() -> dict[str, str]:
    text = (HERE / "trainer" / "versions.env").read_text()
    return dict(re.findall(r"^([A-Z_]+)=(\S+)$", text, re.M))


def _record(key: str, value: Any) -> None:
    """Merge ``key: value`` into test-artifacts/cluster/trainer-env.json."""
    path = ARTIFACTS / "cluster" / "trainer-env.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(path.read_text()) if path.is_file() else {}
    data[key] = value
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


# --- the fixture every test here starts from ---------------------------------------------------


@pytest.fixture(scope="module")
def trainer_up(cluster: Cluster, admin_api) -> Cluster:
    """The cluster serves the Trainer's API and JobSet's pod webhooks answer.

    JobSet's pod webhooks fail closed: while they do not answer, no JobSet pod can be
    created. up.sh waits for them; this checks again for a cluster that was already up.
    """
    try:
        custom(admin_api).get_api_resources(TRAINER, TRAINER_V)
    except client.ApiException as exc:
        pytest.fail(
            f"this cluster serves no {TRAINER}/{TRAINER_V} ({exc.status}): was it started "
            "with JKF_TRAINER=0? Start it with tests/cluster/up.sh (Trainer on by default)."
        )

    def answers() -> bool:
        pod = dry_run_pod(admin_api, "default", probe_pod("0"))
        return pod["metadata"]["labels"].get("jobset.sigs.k8s.io/priority") == "0"

    wait_for(answers, 60, 0.5, "JobSet's pod webhook to answer")
    return cluster


# --- APIs, runtimes, webhook configuration -----------------------------------------------------


def test_crds_are_served(trainer_up, admin_api):
    served = {}
    for group, version in ((TRAINER, TRAINER_V), (JOBSET, JOBSET_V)):
        for r in custom(admin_api).get_api_resources(group, version).resources:
            if "/" not in r.name:
                served[r.kind] = (f"{group}/{version}", r.name, r.namespaced)
    assert served == {
        "TrainJob": ("trainer.kubeflow.org/v1alpha1", "trainjobs", True),
        "TrainingRuntime": ("trainer.kubeflow.org/v1alpha1", "trainingruntimes", True),
        "ClusterTrainingRuntime": (
            "trainer.kubeflow.org/v1alpha1",
            "clustertrainingruntimes",
            False,
        ),
        "JobSet": ("jobset.x-k8s.io/v1alpha2", "jobsets", True),
    }


def test_stock_cluster_training_runtimes_are_installed(trainer_up, admin_api):
    items = custom(admin_api).list_cluster_custom_object(
        TRAINER, TRAINER_V, "clustertrainingruntimes"
    )["items"]
    runtimes = {}
    for rt in items:
        jobs = rt["spec"]["template"]["spec"]["replicatedJobs"]
        runtimes[rt["metadata"]["name"]] = {
            "framework": rt["metadata"]["labels"].get("trainer.kubeflow.org/framework"),
            "mlPolicy": sorted(rt["spec"]["mlPolicy"]),
            "numNodes": rt["spec"]["mlPolicy"].get("numNodes"),
            "images": {
                j["name"]: [
                    c["image"] for c in j["template"]["spec"]["template"]["spec"]["containers"]
                ]
                for j in jobs
            },
            "labels": rt["metadata"]["labels"],
        }
    _record("clusterTrainingRuntimes", runtimes)
    assert set(runtimes) == STOCK_RUNTIMES
    # As the community install applies them: out of the runtime validation webhook, and
    # the Trainer's own images pinned to its release.
    version = _versions()["TRAINER_VERSION"]
    for name, rt in runtimes.items():
        assert rt["labels"]["trainer.kubeflow.org/webhook-validation"] == "disabled", name
        for image in (i for images in rt["images"].values() for i in images):
            if image.startswith("ghcr.io/kubeflow/trainer/"):
                assert image.endswith(f":{version}"), (name, image)
    torch = runtimes["torch-distributed"]
    assert torch["framework"] == "torch"
    assert torch["numNodes"] == 1
    assert "torch" in torch["mlPolicy"]
    # No runtime of its own for MPI: deepspeed and mlx run MPI inside theirs.
    assert not [n for n in runtimes if "mpi" in n]
    assert {n for n, rt in runtimes.items() if "mpi" in rt["mlPolicy"]} == {
        "deepspeed-distributed",
        "mlx-distributed",
    }


def _manifests() -> Path:
    v = _versions()
    cache = os.environ.get("JKF_CACHE") or str(
        Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "jupyter-kf" / "cluster"
    )
    path = (
        Path(cache) / f"trainer-{v['TRAINER_VERSION']}_jobset-{v['JOBSET_VERSION']}" / "manifests"
    )
    if not (path / ".done").is_file():
        pytest.fail(f"{path} is missing: run tests/cluster/build.sh")
    return path


def _kustomize(cluster: Cluster, path: Path) -> list[dict]:
    kubectl = str(cluster.bin_dir / "kubectl") if cluster.bin_dir else "kubectl"
    out = subprocess.run([kubectl, "kustomize", str(path)], check=True, capture_output=True)
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def _shape(hook: dict, path: str) -> dict:
    """What must match between upstream's webhook and ours (ours has a URL, not a Service)."""
    rules = [{k: sorted(v) for k, v in r.items() if k != "scope"} for r in hook["rules"]]
    return {
        "path": path,
        "rules": rules,
        "failurePolicy": hook["failurePolicy"],
        "sideEffects": hook["sideEffects"],
        "objectSelector": hook.get("objectSelector") or {},
        "admissionReviewVersions": hook["admissionReviewVersions"],
    }


def test_webhook_configurations_match_upstream(trainer_up, admin_api):
    """up.sh writes the webhook configurations by hand (URL clientConfig on 127.0.0.1);
    they must keep upstream's names, paths, rules, selectors and failure policies."""
    m = _manifests()
    upstream: dict[tuple[str, str], dict] = {}
    for prefix, path in (("", m / "trainer/base/webhook"), ("jobset-", m / "jobset/webhook")):
        for doc in _kustomize(trainer_up, path):
            if doc["kind"].endswith("WebhookConfiguration"):
                for hook in doc["webhooks"]:
                    key = (doc["kind"], prefix + doc["metadata"]["name"])
                    upstream[key + (hook["name"],)] = _shape(
                        hook, hook["clientConfig"]["service"]["path"]
                    )
    assert len(upstream) == 8, sorted(upstream)

    reg = client.AdmissionregistrationV1Api(admin_api)
    ours: dict[tuple[str, str], dict] = {}
    ca = trainer_up.ca_file.read_bytes() if trainer_up.ca_file else None
    configs = [
        ("MutatingWebhookConfiguration", c) for c in reg.list_mutating_webhook_configuration().items
    ]
    configs += [
        ("ValidatingWebhookConfiguration", c)
        for c in reg.list_validating_webhook_configuration().items
    ]
    for kind, cfg in configs:
        raw = client.ApiClient().sanitize_for_serialization(cfg)
        for hook in raw["webhooks"]:
            key = (kind, raw["metadata"]["name"], hook["name"])
            if key not in upstream:
                continue
            url = hook["clientConfig"]["url"]
            assert re.fullmatch(r"https://127\.0\.0\.1:\d+/[-a-z0-9]+", url), url
            if ca is not None:
                assert base64.b64decode(hook["clientConfig"]["caBundle"]) == ca
            ours[key] = _shape(hook, "/" + url.split("/", 3)[3])
    assert ours == upstream


# --- admission: JobSet's pod webhooks, the Trainer's TrainJob webhook, CEL ---------------------


def test_jobset_pod_webhooks_answer(trainer_up, admin_api, namespace):
    # Mutating: a JobSet pod is labelled with its priority (resolved by the Priority
    # admission plugin before the webhook runs).
    pod = dry_run_pod(admin_api, namespace, probe_pod("0"))
    assert pod["metadata"]["labels"]["jobset.sigs.k8s.io/priority"] == "0"
    # Validating: a follower pod of an exclusive-placement JobSet without a node selector.
    exc = api_error(lambda: dry_run_pod(admin_api, namespace, probe_pod("1", exclusive=True)))
    assert exc.status == 403
    assert json.loads(exc.body)["message"] == (
        'admission webhook "vpod.kb.io" denied the request: follower pod node selector not set'
    )


def test_trainjob_with_reserved_pet_env_is_refused_by_the_webhook(trainer_up, admin_api, namespace):
    body = trainjob("reserved", env=[{"name": "PET_MASTER_PORT", "value": "1234"}])
    exc = api_error(lambda: create_trainjob(admin_api, namespace, body))
    message = json.loads(exc.body)["message"]
    _record("reservedEnvRefusal", {"status": exc.status, "message": message})
    assert 'admission webhook "validator.trainjob.trainer.kubeflow.org" denied' in message
    assert "must not have reserved envs" in message and "PET_MASTER_PORT" in message
    # Each of the five torchrun names is reserved.
    for name in ("PET_NNODES", "PET_NPROC_PER_NODE", "PET_NODE_RANK", "PET_MASTER_ADDR"):
        body = trainjob("reserved", env=[{"name": name, "value": "1"}])
        exc = api_error(lambda b=body: create_trainjob(admin_api, namespace, b))
        assert name in json.loads(exc.body)["message"]


def test_num_nodes_is_immutable_even_while_suspended(trainer_up, admin_api, namespace):
    create_trainjob(admin_api, namespace, trainjob("frozen", num_nodes=1, suspend=True))
    wait_for(
        lambda: (
            conditions(get_trainjob(admin_api, namespace, "frozen"))
            .get("Suspended", {})
            .get("status")
            == "True"
        ),
        60,
        0.25,
        "the TrainJob to be Suspended",
    )
    exc = api_error(
        lambda: patch_trainjob(
            admin_api, namespace, "frozen", {"spec": {"trainer": {"numNodes": 2}}}
        )
    )
    message = json.loads(exc.body)["message"]
    _record("numNodesChangeRefusal", {"status": exc.status, "message": message})
    # The CRD's CEL rule (self == oldSelf on spec.trainer), enforced by the apiserver.
    assert exc.status == 422
    assert "spec.trainer: Invalid value" in message and "field is immutable" in message
    exc = api_error(
        lambda: patch_trainjob(
            admin_api, namespace, "frozen", {"spec": {"runtimeRef": {"name": "jax-distributed"}}}
        )
    )
    assert exc.status == 422 and "field is immutable" in exc.body
    # suspend itself may change.
    patch_trainjob(admin_api, namespace, "frozen", {"spec": {"suspend": False}})


# --- a TrainJob all the way to pods ---------------------------------------------------------------


def test_torch_trainjob_becomes_jobset_jobs_and_pods_with_torchrun_env(
    trainer_up, admin_api, namespace
):
    name = "ddp"
    create_trainjob(
        admin_api,
        namespace,
        trainjob(
            name,
            num_nodes=2,
            resourcesPerNode={"requests": {"cpu": "2", "memory": "1Gi"}},
            env=[{"name": "JKF_PROBE", "value": "1"}],
        ),
    )
    pods = jobset_pods(admin_api, namespace, name, 2)

    # TrainJob -> JobSet (same name, owned by the TrainJob) -> one indexed Job per
    # replicatedJob -> pods <jobset>-node-0-<index>.
    js = custom(admin_api).get_namespaced_custom_object(
        JOBSET, JOBSET_V, namespace, "jobsets", name
    )
    owner = js["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["controller"]) == ("TrainJob", name, True)
    assert [rj["name"] for rj in js["spec"]["replicatedJobs"]] == ["node"]
    jobs = (
        client.BatchV1Api(admin_api)
        .list_namespaced_job(namespace, label_selector=f"{JOBSET_NAME}={name}")
        .items
    )
    assert [j.metadata.name for j in jobs] == [f"{name}-node-0"]
    job = jobs[0]
    assert (job.spec.completion_mode, job.spec.parallelism, job.spec.completions) == (
        "Indexed",
        2,
        2,
    )
    assert job.metadata.owner_references[0].kind == "JobSet"
    # JobSet's headless Service gives the pods their DNS names <pod hostname>.<jobset>.
    svc = client.CoreV1Api(admin_api).read_namespaced_service(name, namespace)
    assert svc.spec.cluster_ip == "None"

    observed = []
    for rank, pod in enumerate(pods):
        assert pod.metadata.annotations[INDEX] == str(rank)
        assert pod.spec.hostname == f"{name}-node-0-{rank}"
        assert pod.spec.subdomain == name
        assert pod.spec.node_name.startswith("kwok-")
        node = next(c for c in pod.spec.containers if c.name == "node")
        env = env_of(node)
        observed.append(
            {
                "pod": pod.metadata.name,
                "env": env,
                "ports": [p.container_port for p in node.ports or []],
                "resources": client.ApiClient().sanitize_for_serialization(node.resources),
                "volumeMounts": [(m.name, m.mount_path) for m in node.volume_mounts or []],
            }
        )
        assert env["PET_NNODES"] == "2"
        assert env["PET_NPROC_PER_NODE"] == "2"  # "auto" resolved to the CPU request (no GPU)
        assert env["PET_NODE_RANK"] == {
            "fieldRef": {"apiVersion": "v1", "fieldPath": f"metadata.annotations['{INDEX}']"}
        }
        assert env["PET_MASTER_ADDR"] == f"{name}-node-0-0.{name}"
        assert env["PET_MASTER_PORT"] == "29500"
        assert env["JKF_PROBE"] == "1"
        assert 29500 in observed[-1]["ports"]
        # TrainJobStatus gate: where and how the pod may post its progress.
        assert re.fullmatch(
            rf"https://{re.escape(TRAINER_SERVICE)}:\d+/apis/trainer\.kubeflow\.org/v1alpha1"
            rf"/namespaces/{namespace}/trainjobs/{name}/status",
            env.get("KUBEFLOW_TRAINER_SERVER_URL", ""),
        ), "no status server URL: is the Trainer's TrainJobStatus gate off? (see up.sh's log)"
        assert env["KUBEFLOW_TRAINER_SERVER_CA_CERT"] == "/var/run/secrets/kubeflow/trainer/ca.crt"
        assert env["KUBEFLOW_TRAINER_SERVER_TOKEN"] == "/var/run/secrets/kubeflow/trainer/token"
        assert ("kubeflow-trainer-token", "/var/run/secrets/kubeflow/trainer") in observed[-1][
            "volumeMounts"
        ]
        [token] = [v for v in pod.spec.volumes if v.name == "kubeflow-trainer-token"]
        sources = token.projected.sources
        assert [s.service_account_token.audience for s in sources if s.service_account_token] == [
            f"trainer.kubeflow.org/v1alpha1/namespaces/{namespace}/trainjobs/{name}/status"
        ]
        assert [s.config_map.name for s in sources if s.config_map] == [f"{name}-tls-config"]
    _record("torchTrainJobPods", observed)

    # The status server's CA reaches the pods through a ConfigMap the Trainer owns.
    cm = client.CoreV1Api(admin_api).read_namespaced_config_map(f"{name}-tls-config", namespace)
    if trainer_up.ca_file is not None:
        assert cm.data["ca.crt"] == trainer_up.ca_file.read_text()

    # KWOK ends OnFailure pods Succeeded after 5 s: the Jobs complete, and so does the
    # TrainJob. Its conditions are only ever Suspended, Complete, Failed.
    def complete():
        tj = get_trainjob(admin_api, namespace, name)
        return tj if conditions(tj).get("Complete", {}).get("status") == "True" else None

    tj = wait_for(complete, 120, 0.5, "the TrainJob to complete")
    assert set(conditions(tj)) <= {"Suspended", "Complete", "Failed"}
    _record("completedTrainJobStatus", tj["status"])
    [jobs_status] = tj["status"]["jobsStatus"]
    assert jobs_status["name"] == "node"
    assert jobs_status["succeeded"] == 1


def test_resume_turns_suspended_false_with_reason_resumed(trainer_up, admin_api, namespace):
    name = "paused"
    create_trainjob(admin_api, namespace, trainjob(name, num_nodes=1, suspend=True))

    def jobset_suspended():
        js = custom(admin_api).get_namespaced_custom_object(
            JOBSET, JOBSET_V, namespace, "jobsets", name
        )
        return js["spec"].get("suspend") is True

    wait_for(jobset_suspended, 60, 0.25, "a suspended JobSet")
    suspended = wait_for(
        lambda: conditions(get_trainjob(admin_api, namespace, name)).get("Suspended"),
        60,
        0.25,
        "the Suspended condition",
    )
    assert (suspended["status"], suspended["reason"]) == ("True", "Suspended")
    assert not client.CoreV1Api(admin_api).list_namespaced_pod(namespace).items

    patch_trainjob(admin_api, namespace, name, {"spec": {"suspend": False}})
    resumed = wait_for(
        lambda: (
            (c := conditions(get_trainjob(admin_api, namespace, name)).get("Suspended"))
            and c["status"] == "False"
            and c
        ),
        60,
        0.25,
        "the Suspended condition to turn False",
    )
    assert resumed["reason"] == "Resumed"
    jobset_pods(admin_api, namespace, name, 1)
    _record("resumedConditions", get_trainjob(admin_api, namespace, name)["status"]["conditions"])


# --- the TrainJobStatus gate: the status server -------------------------------------------------


def _status_port(cluster: Cluster) -> int:
    if cluster.state_dir is None:
        pytest.fail("needs a cluster started by tests/cluster/up.sh on this machine")
    config = (cluster.state_dir / "trainer" / "config.yaml").read_text()
    if "TrainJobStatus: true" not in config:
        pytest.fail(
            "the Trainer runs with TrainJobStatus off: up.sh logged why (kube-apiserver's "
            "first --service-account-issuer must be https://127.0.0.1:<port>; see "
            "tests/cluster/trainer/README.md)"
        )
    port = re.search(r"statusServer: \{port: (\d+)\}", config)
    assert port, config
    return int(port.group(1))


def test_status_server_takes_progress_from_a_projected_token(trainer_up, admin_api, namespace):
    name = "progress"
    create_trainjob(admin_api, namespace, trainjob(name, suspend=True))
    url = (
        f"https://127.0.0.1:{_status_port(trainer_up)}"
        f"/apis/trainer.kubeflow.org/v1alpha1/namespaces/{namespace}/trainjobs/{name}/status"
    )
    audience = f"trainer.kubeflow.org/v1alpha1/namespaces/{namespace}/trainjobs/{name}/status"
    core = client.CoreV1Api(admin_api)
    ctx = ssl.create_default_context(cafile=str(trainer_up.ca_file))

    def post(audiences: list[str], body: dict) -> tuple[int, dict]:
        req = client.AuthenticationV1TokenRequest(
            spec=client.V1TokenRequestSpec(audiences=audiences, expiration_seconds=600)
        )
        token = core.create_namespaced_service_account_token("default", namespace, req).status.token
        request = urllib.request.Request(
            url,
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, context=ctx, timeout=10) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    progress = {
        "progressPercentage": 42,
        "estimatedRemainingSeconds": 120,
        "metrics": [{"name": "loss", "value": "0.25"}],
        "lastUpdatedTime": now,
    }
    # A token for another audience (the apiserver's) is refused.
    status, body = post([], {"trainerStatus": progress})
    assert status == 403, body
    status, body = post([audience], {"trainerStatus": progress})
    assert status == 200, body
    got = get_trainjob(admin_api, namespace, name)["status"]["trainerStatus"]
    _record("trainerStatus", got)
    assert got == progress


# --- runtimePatches: how anything of ours reaches the pods ---------------------------------------


def _patches(annotations: dict[str, str], env: list[dict] | None = None) -> list[dict]:
    node: dict[str, Any] = {
        "name": "node",
        "volumeMounts": [{"name": "jkf-code", "mountPath": "/jkf/code", "readOnly": True}],
    }
    if env:
        node["env"] = env
    pod = {
        "metadata": {"annotations": annotations},
        "spec": {
            "volumes": [{"name": "jkf-code", "configMap": {"name": "jkf-code"}}],
            "containers": [node],
        },
    }
    replicated = {"name": "node", "template": {"spec": {"template": pod}}}
    return [
        {
            "manager": "jupyter-kf.test/cluster",
            "trainingRuntimeSpec": {"template": {"spec": {"replicatedJobs": [replicated]}}},
        }
    ]


def test_runtime_patches_reach_pods_and_freeze_while_running(trainer_up, admin_api, namespace):
    name = "patched"
    body = trainjob(name, num_nodes=1)
    body["spec"]["runtimePatches"] = _patches({"jupyter-kf.test/outcome": "run"})
    created = create_trainjob(admin_api, namespace, body)
    # The Trainer's defaulter stamps each patch with the time it was set.
    assert created["spec"]["runtimePatches"][0]["time"]
    [pod] = jobset_pods(admin_api, namespace, name, 1)
    assert pod.metadata.annotations["jupyter-kf.test/outcome"] == "run"
    assert any(v.name == "jkf-code" and v.config_map.name == "jkf-code" for v in pod.spec.volumes)
    node = next(c for c in pod.spec.containers if c.name == "node")
    assert ("jkf-code", "/jkf/code") in [(m.name, m.mount_path) for m in node.volume_mounts]

    # While the TrainJob runs (not suspended before or after), the webhook refuses changes.
    exc = api_error(
        lambda: patch_trainjob(
            admin_api,
            namespace,
            name,
            {"spec": {"runtimePatches": _patches({"jupyter-kf.test/outcome": "succeed"})}},
        )
    )
    message = json.loads(exc.body)["message"]
    _record("runtimePatchesWhileRunning", {"status": exc.status, "message": message})
    assert "RuntimePatches can only be modified when the TrainJob is suspended" in message

    # Env for the trainer's "node" container may only come from spec.trainer.env.
    body = trainjob("patched-env")
    body["spec"]["runtimePatches"] = _patches({}, env=[{"name": "A", "value": "1"}])
    exc = api_error(lambda: create_trainjob(admin_api, namespace, body))
    assert "must not have envs for the dataset-initializer, model-initializer, node" in exc.body
