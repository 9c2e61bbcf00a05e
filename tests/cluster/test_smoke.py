"""Smoke tests of the tests/cluster control plane (issue 3).

Each test talks to the real kube-apiserver with the plain ``kubernetes`` client; the
Kubeflow training operator, the scheduler, the controller-manager and KWOK do the rest.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from tests.cluster.plugin import AFTER, EXIT_CODE, OUTCOME, POD_IP
from tests.support.waiting import wait_for

pytestmark = pytest.mark.cluster

GROUP, VERSION = "kubeflow.org", "v1"
# kind -> (plural, replica-spec field, default container name)
KINDS: dict[str, tuple[str, str, str]] = {
    "PyTorchJob": ("pytorchjobs", "pytorchReplicaSpecs", "pytorch"),
    "TFJob": ("tfjobs", "tfReplicaSpecs", "tensorflow"),
    "MPIJob": ("mpijobs", "mpiReplicaSpecs", "mpi"),
    "XGBoostJob": ("xgboostjobs", "xgbReplicaSpecs", "xgboost"),
    "PaddleJob": ("paddlejobs", "paddleReplicaSpecs", "paddle"),
    "JAXJob": ("jaxjobs", "jaxReplicaSpecs", "jax"),
}
LABEL = "training.kubeflow.org/"
ARTIFACTS = Path(
    os.environ.get("JKF_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts")
)


def job_manifest(
    kind: str,
    name: str,
    replicas: dict[str, int],
    annotations: dict[str, dict[str, str]] | None = None,
    restart_policy: str = "Never",
    **spec: Any,
) -> dict[str, Any]:
    """A minimal job of ``kind``; ``annotations`` maps replica type -> pod annotations."""
    _, field, container = KINDS[kind]
    replica_specs = {}
    for rtype, count in replicas.items():
        template = {
            "metadata": {"annotations": (annotations or {}).get(rtype, {})},
            "spec": {
                "containers": [
                    {
                        "name": container,
                        "image": f"registry.invalid/{container}:test",
                        "command": ["true"],
                    }
                ]
            },
        }
        replica_specs[rtype] = {
            "replicas": count,
            "restartPolicy": restart_policy,
            "template": template,
        }
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": kind,
        "metadata": {"name": name},
        "spec": {field: replica_specs, **spec},
    }


def create_job(api_client, namespace: str, manifest: dict[str, Any]) -> dict[str, Any]:
    plural = KINDS[manifest["kind"]][0]
    return client.CustomObjectsApi(api_client).create_namespaced_custom_object(
        GROUP, VERSION, namespace, plural, manifest
    )


def get_job(api_client, namespace: str, kind: str, name: str) -> dict[str, Any]:
    return client.CustomObjectsApi(api_client).get_namespaced_custom_object(
        GROUP, VERSION, namespace, KINDS[kind][0], name
    )


def true_conditions(job: dict[str, Any]) -> list[str]:
    return [c["type"] for c in job.get("status", {}).get("conditions", []) if c["status"] == "True"]


def job_pods(
    api_client, namespace: str, job: str, count: int, timeout: float = 60
) -> list[client.V1Pod]:
    core = client.CoreV1Api(api_client)

    def pods():
        items = core.list_namespaced_pod(namespace, label_selector=f"{LABEL}job-name={job}").items
        return items if len(items) == count else None

    return sorted(
        wait_for(pods, timeout, what=f"{count} pods of {job}"), key=lambda p: p.metadata.name
    )


def pod_env(pod: client.V1Pod) -> dict[str, dict[str, str]]:
    """container name -> {env name: value or '<valueFrom {...}>'} (init containers: 'init:NAME')."""
    out: dict[str, dict[str, str]] = {}
    containers = [(c.name, c) for c in pod.spec.containers]
    containers += [(f"init:{c.name}", c) for c in pod.spec.init_containers or []]
    for cname, c in containers:
        env = {}
        for e in c.env or []:
            if e.value is not None or e.value_from is None:
                env[e.name] = e.value or ""  # the API omits an empty value
            else:
                source = client.ApiClient().sanitize_for_serialization(e.value_from)
                env[e.name] = f"<valueFrom {json.dumps(source, sort_keys=True)}>"
        out[cname] = env
    return out


# --- PyTorchJob lifecycle -----------------------------------------------------------------


def test_pytorchjob_runs_to_success_with_operator_pods_services_and_env(admin_api, namespace):
    name = "smoke"
    running = {AFTER: "4s"}
    create_job(
        admin_api,
        namespace,
        job_manifest(
            "PyTorchJob", name, {"Master": 1, "Worker": 2}, {"Master": running, "Worker": running}
        ),
    )
    seen: list[str] = []

    def finished():
        for t in true_conditions(get_job(admin_api, namespace, "PyTorchJob", name)):
            if t not in seen:
                seen.append(t)
        return "Succeeded" in seen or "Failed" in seen

    job_pods(admin_api, namespace, name, 3)
    wait_for(finished, 90, 0.2, "the PyTorchJob to finish")
    pods = job_pods(admin_api, namespace, name, 3)  # as they ended: scheduled, bound to a node
    # Conditions are appended in order; Running turns False once Succeeded is True, but
    # the poll saw it True in between.
    assert seen == ["Created", "Running", "Succeeded"], seen
    job = get_job(admin_api, namespace, "PyTorchJob", name)
    assert [c["type"] for c in job["status"]["conditions"]] == ["Created", "Running", "Succeeded"]
    assert job["status"]["replicaStatuses"]["Master"].get("succeeded") == 1

    # Pods: <job>-<replica type>-<index>, with the operator's labels.
    assert [p.metadata.name for p in pods] == [
        f"{name}-master-0",
        f"{name}-worker-0",
        f"{name}-worker-1",
    ]
    for pod in pods:
        rtype, index = pod.metadata.name.split("-")[1:]
        labels = pod.metadata.labels
        assert labels[f"{LABEL}job-name"] == name
        assert labels[f"{LABEL}operator-name"] == "pytorchjob-controller"
        assert labels[f"{LABEL}replica-type"] == rtype
        assert labels[f"{LABEL}replica-index"] == index
        assert (labels.get(f"{LABEL}job-role") == "master") == (rtype == "master")
        assert pod.metadata.owner_references[0].kind == "PyTorchJob"
        assert pod.spec.node_name.startswith("kwok-")
    # One headless Service per replica, same name and labels (no job-role).
    services = (
        client.CoreV1Api(admin_api)
        .list_namespaced_service(namespace, label_selector=f"{LABEL}job-name={name}")
        .items
    )
    assert sorted(s.metadata.name for s in services) == [p.metadata.name for p in pods]
    for svc in services:
        assert svc.spec.cluster_ip == "None"
        assert [(p.name, p.port) for p in svc.spec.ports] == [("pytorchjob-port", 23456)]
        assert svc.metadata.labels[f"{LABEL}operator-name"] == "pytorchjob-controller"
        assert svc.metadata.labels[f"{LABEL}replica-type"] in ("master", "worker")

    # The environment the operator injects into the default container.
    env = {p.metadata.name: pod_env(p)["pytorch"] for p in pods}
    for rank, pod in enumerate(pods):
        e = env[pod.metadata.name]
        assert e["MASTER_ADDR"] == e["PET_MASTER_ADDR"] == f"{name}-master-0"
        assert e["MASTER_PORT"] == e["PET_MASTER_PORT"] == "23456"
        assert e["WORLD_SIZE"] == "3"
        assert e["RANK"] == e["PET_NODE_RANK"] == str(rank)
        assert e["PET_NNODES"] == "3"
        assert e["PYTHONUNBUFFERED"] == "1"
    # Workers wait for the master's DNS name in an init container.
    assert [c.name for c in pods[1].spec.init_containers or []] == ["init-pytorch"]
    assert not pods[0].spec.init_containers


def test_failing_pod_fails_the_job(admin_api, namespace):
    name = "fails"
    create_job(
        admin_api,
        namespace,
        job_manifest(
            "PyTorchJob",
            name,
            {"Master": 1, "Worker": 1},
            {"Master": {OUTCOME: "run"}, "Worker": {OUTCOME: "fail", AFTER: "2s", EXIT_CODE: "3"}},
        ),
    )
    wait_for(
        lambda: "Failed" in true_conditions(get_job(admin_api, namespace, "PyTorchJob", name)),
        90,
        0.5,
        "the PyTorchJob to fail",
    )
    job = get_job(admin_api, namespace, "PyTorchJob", name)
    failed = [c for c in job["status"]["conditions"] if c["type"] == "Failed"][0]
    assert failed["reason"] == "PyTorchJobFailed"
    pod = client.CoreV1Api(admin_api).read_namespaced_pod(f"{name}-worker-0", namespace)
    assert pod.status.phase == "Failed"
    assert pod.status.container_statuses[0].state.terminated.exit_code == 3


# --- scheduler ----------------------------------------------------------------------------


def gpu_pod(name: str, gpus: int) -> client.V1Pod:
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, annotations={OUTCOME: "run"}),
        spec=client.V1PodSpec(
            restart_policy="Never",
            containers=[
                client.V1Container(
                    name="main",
                    image="registry.invalid/cuda:test",
                    resources=client.V1ResourceRequirements(limits={"nvidia.com/gpu": str(gpus)}),
                )
            ],
        ),
    )


def test_pod_asking_for_too_many_gpus_stays_pending(admin_api, namespace):
    core = client.CoreV1Api(admin_api)
    core.create_namespaced_pod(namespace, gpu_pod("fits", 2))
    core.create_namespaced_pod(namespace, gpu_pod("too-big", 3))

    # The one that fits lands on the GPU node (2 x nvidia.com/gpu) and runs.
    def running(name: str):
        pod = core.read_namespaced_pod(name, namespace)
        return pod if pod.status.phase == "Running" else None

    fits = wait_for(lambda: running("fits"), 60, what="pod fits to run")
    assert fits.spec.node_name == "kwok-gpu-0"

    def scheduling_event():
        events = core.list_namespaced_event(
            namespace, field_selector="involvedObject.name=too-big,reason=FailedScheduling"
        ).items
        return events[0] if events else None

    event = wait_for(scheduling_event, 60, what="a FailedScheduling event")
    assert event.type == "Warning"
    assert (
        event.source.component == "default-scheduler"
        or event.reporting_component == "default-scheduler"
    )
    assert "nvidia.com/gpu" in event.message, event.message
    pod = core.read_namespaced_pod("too-big", namespace)
    assert pod.status.phase == "Pending" and not pod.spec.node_name
    scheduled = [c for c in pod.status.conditions or [] if c.type == "PodScheduled"]
    assert scheduled and scheduled[0].status == "False" and scheduled[0].reason == "Unschedulable"


# --- RBAC -----------------------------------------------------------------------------------


def test_service_account_is_refused_outside_its_namespace(admin_api, namespace_factory, sa_client):
    ns_a, ns_b = namespace_factory("rbac-a"), namespace_factory("rbac-b")
    rbac = client.RbacAuthorizationV1Api(admin_api)
    rbac.create_namespaced_role(
        ns_a,
        client.V1Role(
            metadata=client.V1ObjectMeta(name="jobs"),
            rules=[
                client.V1PolicyRule(
                    api_groups=[""],
                    resources=["pods", "configmaps"],
                    verbs=["get", "list", "create"],
                ),
                client.V1PolicyRule(
                    api_groups=[GROUP], resources=["pytorchjobs"], verbs=["get", "list", "create"]
                ),
            ],
        ),
    )
    rbac.create_namespaced_role_binding(
        ns_a,
        client.V1RoleBinding(
            metadata=client.V1ObjectMeta(name="jobs"),
            role_ref=client.V1RoleRef(
                api_group="rbac.authorization.k8s.io", kind="Role", name="jobs"
            ),
            subjects=[client.RbacV1Subject(kind="ServiceAccount", name="alice", namespace=ns_a)],
        ),
    )
    alice = sa_client(ns_a, "alice")
    core = client.CoreV1Api(alice)
    # RBAC caches are eventually consistent for a moment after the binding is created.
    wait_for(
        lambda: core.list_namespaced_pod(ns_a) is not None, 10, what="alice's RoleBinding to apply"
    )
    create_job(
        alice, ns_a, job_manifest("PyTorchJob", "mine", {"Master": 1}, {"Master": {OUTCOME: "run"}})
    )

    for call in (
        lambda: core.list_namespaced_pod(ns_b),
        lambda: core.list_namespaced_config_map(ns_b),
        lambda: create_job(alice, ns_b, job_manifest("PyTorchJob", "theirs", {"Master": 1})),
        lambda: core.delete_namespaced_pod("mine-master-0", ns_a),  # verb not granted
    ):
        with pytest.raises(client.ApiException) as exc:
            call()
        assert exc.value.status == 403, exc.value
        body = json.loads(exc.value.body)
        assert body["reason"] == "Forbidden"
        assert f"system:serviceaccount:{ns_a}:alice" in body["message"]


# --- garbage collection ----------------------------------------------------------------------


def test_configmap_owned_by_job_is_garbage_collected(admin_api, namespace):
    job = create_job(
        admin_api,
        namespace,
        job_manifest("PyTorchJob", "owner", {"Master": 1}, {"Master": {OUTCOME: "run"}}),
    )
    core = client.CoreV1Api(admin_api)
    core.create_namespaced_config_map(
        namespace,
        client.V1ConfigMap(
            metadata=client.V1ObjectMeta(
                name="code",
                owner_references=[
                    client.V1OwnerReference(
                        api_version=f"{GROUP}/{VERSION}",
                        kind="PyTorchJob",
                        name="owner",
                        uid=job["metadata"]["uid"],
                        block_owner_deletion=True,
                        controller=False,
                    )
                ],
            ),
            data={"train.py": "print('hi')\n"},
        ),
    )
    job_pods(admin_api, namespace, "owner", 1)
    client.CustomObjectsApi(admin_api).delete_namespaced_custom_object(
        GROUP, VERSION, namespace, "pytorchjobs", "owner"
    )

    def gone(read):
        try:
            read()
        except client.ApiException as exc:
            return exc.status == 404
        return False

    wait_for(
        lambda: gone(lambda: core.read_namespaced_config_map("code", namespace)),
        90,
        0.5,
        "the ConfigMap to be garbage-collected",
    )
    # The operator's pods and services are owned by the job too.
    wait_for(
        lambda: gone(lambda: core.read_namespaced_pod("owner-master-0", namespace)),
        90,
        0.5,
        "the job's pod to be garbage-collected",
    )


# --- CRDs and webhooks ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(KINDS))
def test_crd_is_served_and_rejects_invalid_objects(admin_api, namespace, kind):
    plural, field, _ = KINDS[kind]
    api = client.CustomObjectsApi(admin_api)
    assert api.list_namespaced_custom_object(GROUP, VERSION, namespace, plural)["items"] == []
    bad = job_manifest(kind, "bad", {"Worker": 1})
    bad["spec"][field]["Worker"]["replicas"] = "two"  # schema: integer
    with pytest.raises(client.ApiException) as exc:
        api.create_namespaced_custom_object(GROUP, VERSION, namespace, plural, bad)
    assert exc.value.status == 422, exc.value
    body = json.loads(exc.value.body)
    assert body["reason"] == "Invalid"
    assert f"spec.{field}.Worker.replicas" in body["message"]


def test_operator_webhook_rejects_what_the_schema_allows(admin_api, namespace):
    """The schema accepts two PyTorchJob masters; the operator's validating webhook
    (served by the real operator over TLS) refuses them.

    Note the status: controller-runtime turns a plain validation error into
    ``admission.Denied``, so the apiserver answers 403 Forbidden, not 422.
    """
    bad = job_manifest("PyTorchJob", "two-masters", {"Master": 2, "Worker": 1})
    with pytest.raises(client.ApiException) as exc:
        create_job(admin_api, namespace, bad)
    assert exc.value.status == 403, exc.value
    body = json.loads(exc.value.body)
    assert body["reason"] == "Forbidden"
    message = body["message"]
    webhook = "validator.pytorchjob.training-operator.kubeflow.org"
    assert f'admission webhook "{webhook}" denied the request' in message
    assert "must be 1" in message, message


# --- the environment the operator injects, for every kind --------------------------------------

ENV_JOBS: list[tuple[str, str, dict[str, int], dict[str, Any]]] = [
    ("PyTorchJob", "pt", {"Master": 1, "Worker": 2}, {}),
    (
        "PyTorchJob",
        "pt-elastic",
        {"Worker": 2},
        {
            "elasticPolicy": {"minReplicas": 1, "maxReplicas": 3, "rdzvBackend": "c10d"},
            "nprocPerNode": "2",
        },
    ),
    ("TFJob", "tf", {"Chief": 1, "PS": 1, "Worker": 2}, {}),
    ("MPIJob", "mpi", {"Launcher": 1, "Worker": 2}, {"slotsPerWorker": 2}),
    ("XGBoostJob", "xgb", {"Master": 1, "Worker": 2}, {}),
    ("PaddleJob", "paddle-ps", {"Master": 1, "Worker": 2}, {}),
    ("PaddleJob", "paddle", {"Worker": 2}, {}),
    ("JAXJob", "jax", {"Worker": 3}, {}),
]


def test_operator_env_for_every_kind(admin_api, namespace):
    """Records the env the real operator injects (test-artifacts/cluster/operator-env.json)
    and checks the parts the job model relies on."""
    for kind, name, replicas, spec in ENV_JOBS:
        annotations = {r: {OUTCOME: "run"} for r in replicas}
        create_job(admin_api, namespace, job_manifest(kind, name, replicas, annotations, **spec))
    record: dict[str, Any] = {}
    for kind, name, replicas, _ in ENV_JOBS:
        pods = job_pods(admin_api, namespace, name, sum(replicas.values()), timeout=90)
        record[name] = {
            "kind": kind,
            "pods": {
                p.metadata.name: {
                    "labels": {k: v for k, v in p.metadata.labels.items() if k.startswith(LABEL)},
                    "env": pod_env(p),
                }
                for p in pods
            },
        }
    # MPIJob v1 also ships its hostfile and kubexec.sh in a ConfigMap mounted at /etc/mpi.
    record["mpi"]["configmap"] = (
        client.CoreV1Api(admin_api).read_namespaced_config_map("mpi-config", namespace).data
    )
    out = ARTIFACTS / "cluster" / "operator-env.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")

    def env(job: str, pod: str, container: str) -> dict[str, str]:
        return record[job]["pods"][pod]["env"][container]

    tf = json.loads(env("tf", "tf-worker-1", "tensorflow")["TF_CONFIG"])
    assert tf["task"] == {"type": "worker", "index": 1}
    assert tf["cluster"]["chief"] == [f"tf-chief-0.{namespace}.svc:2222"]
    assert tf["cluster"]["ps"] == [f"tf-ps-0.{namespace}.svc:2222"]
    assert tf["cluster"]["worker"] == [f"tf-worker-{i}.{namespace}.svc:2222" for i in range(2)]

    jax = env("jax", "jax-worker-2", "jax")
    assert jax["COORDINATOR_ADDRESS"] == "jax-worker-0"
    assert jax["NUM_PROCESSES"] == "3" and jax["PROCESS_ID"] == "2"

    xgb = env("xgb", "xgb-worker-1", "xgboost")
    assert xgb["MASTER_ADDR"] == "xgb-master-0" and xgb["WORLD_SIZE"] == "3" and xgb["RANK"] == "2"

    elastic = env("pt-elastic", "pt-elastic-worker-1", "pytorch")
    assert elastic["PET_NNODES"] == "1:3" and elastic["PET_RDZV_BACKEND"] == "c10d"
    assert elastic["PET_NPROC_PER_NODE"] == "2"

    assert env("paddle-ps", "paddle-ps-worker-0", "paddle")["PADDLE_MASTER"].startswith(
        "paddle-ps-master-0"
    )
    hostfile = record["mpi"]["configmap"]["hostfile"]
    assert hostfile == "mpi-worker-0 slots=2\nmpi-worker-1 slots=2\n"
    launcher = record["mpi"]["pods"]["mpi-launcher"]["env"]["mpi"]
    assert launcher["OMPI_MCA_plm_rsh_agent"] == "/etc/mpi/kubexec.sh"
    assert launcher["OMPI_MCA_orte_default_hostfile"] == "/etc/mpi/hostfile"


# --- pod outcome stages and pod logs ------------------------------------------------------------


def test_pod_outcome_annotations_and_logs(cluster, admin_api, namespace):
    core = client.CoreV1Api(admin_api)

    def pod(name: str, restart: str, **annotations: str) -> client.V1Pod:
        return client.V1Pod(
            metadata=client.V1ObjectMeta(name=name, annotations=annotations),
            spec=client.V1PodSpec(
                restart_policy=restart,
                containers=[client.V1Container(name="main", image="registry.invalid/x:test")],
            ),
        )

    core.create_namespaced_pod(namespace, pod("default-never", "Never"))
    core.create_namespaced_pod(namespace, pod("default-always", "Always"))
    core.create_namespaced_pod(namespace, pod("loopback", "Always", **{POD_IP: "127.0.0.1"}))
    start = time.monotonic()

    def phase(name: str) -> str:
        return core.read_namespaced_pod(name, namespace).status.phase

    wait_for(lambda: phase("default-never") == "Succeeded", 60, what="default pod to succeed")
    assert time.monotonic() - start >= 4.5  # default: Running for 5 s
    assert phase("default-always") == "Running"
    lo = core.read_namespaced_pod("loopback", namespace)
    assert lo.status.phase == "Running" and lo.status.pod_ip == "127.0.0.1"
    assert [i.ip for i in lo.status.pod_i_ps] == ["127.0.0.1"]

    # pods/log: apiserver -> KWOK's kubelet-like server (TLS) -> the file we hand it.
    assert "no log file is configured" in core.read_namespaced_pod_log("default-always", namespace)
    cluster.set_pod_logs(
        admin_api, namespace, "default-always", ["epoch=1 loss=0.5", "epoch=2 loss=0.25"]
    )
    expected = "epoch=1 loss=0.5\nepoch=2 loss=0.25\n"
    wait_for(
        lambda: core.read_namespaced_pod_log("default-always", namespace) == expected,
        20,
        what="pod logs from the Logs object",
    )
    assert (
        core.read_namespaced_pod_log("default-always", namespace, tail_lines=1)
        == "epoch=2 loss=0.25\n"
    )

    # follow=true streams what is appended later.
    path = cluster.set_pod_logs(admin_api, namespace, "loopback", ["step 1"])
    wait_for(
        lambda: core.read_namespaced_pod_log("loopback", namespace) == "step 1\n",
        20,
        what="loopback logs",
    )
    stream = core.read_namespaced_pod_log(
        "loopback", namespace, follow=True, _preload_content=False, _request_timeout=30
    )
    try:
        lines = stream.stream(amt=64, decode_content=True)
        assert next(lines).decode() == "step 1\n"
        cluster.append_pod_logs(path, ["step 2"])
        assert next(lines).decode() == "step 2\n"
    finally:
        stream.close()  # not release_conn(): a followed stream never ends by itself


def test_pod_security_admission_is_enforced(admin_api, namespace_factory):
    ns = namespace_factory(
        "restricted", labels={"pod-security.kubernetes.io/enforce": "restricted"}
    )
    privileged = client.V1Pod(
        metadata=client.V1ObjectMeta(name="root"),
        spec=client.V1PodSpec(
            containers=[
                client.V1Container(
                    name="main",
                    image="registry.invalid/x:test",
                    security_context=client.V1SecurityContext(privileged=True),
                )
            ]
        ),
    )
    with pytest.raises(client.ApiException) as exc:
        client.CoreV1Api(admin_api).create_namespaced_pod(ns, privileged)
    assert exc.value.status == 403, exc.value
    assert 'violates PodSecurity "restricted:latest"' in json.loads(exc.value.body)["message"]


# --- control-plane helpers ------------------------------------------------------------------


@pytest.mark.apiserver_outage
def test_apiserver_can_be_stopped_and_started_mid_test(cluster, admin_api, namespace):
    """The helper later tests use to take the API away; everything else reconnects."""
    core = client.CoreV1Api(admin_api)
    stopped_at = time.monotonic()
    with cluster.apiserver_down(seconds=3):
        assert cluster.pid("kube-apiserver") is None
        with pytest.raises(Exception) as exc:  # urllib3: connection refused after retries
            core.list_namespaced_pod(namespace, _request_timeout=2)
        assert not isinstance(exc.value, client.ApiException)
    assert time.monotonic() - stopped_at >= 3
    assert cluster.pid("kube-apiserver") is not None
    # The operator, the scheduler and KWOK pick up where they were.
    name = "after-restart"
    create_job(
        admin_api,
        namespace,
        job_manifest(
            "PyTorchJob",
            name,
            {"Master": 1, "Worker": 1},
            {"Master": {AFTER: "1s"}, "Worker": {AFTER: "1s"}},
        ),
    )
    # client-go's watch backoff grows while the apiserver is away: allow for it.
    wait_for(
        lambda: "Succeeded" in true_conditions(get_job(admin_api, namespace, "PyTorchJob", name)),
        120,
        0.5,
        "a job created after the restart to succeed",
    )
