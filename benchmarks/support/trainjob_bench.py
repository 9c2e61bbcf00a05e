"""Shared by the trainjob_* benchmarks: the kubeflow SDK's virtual environment (.venv-sdk,
made by the Makefile), TrainJobs made as jupyter-kf makes them with pods KWOK runs, and the
two sides' driver processes (benchmarks/support/trainjob_driver.py).

The cluster, namespaces, the raw reference watch and the statistics are k8s_bench's and
peer's, as the v1 benchmarks use them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from support.k8s_bench import ROOT, SUPPORT, ConditionWatch, Driver

SDK_PY = ROOT / ".venv-sdk" / "bin" / "python"
DRIVER = SUPPORT / "trainjob_driver.py"
TRAINJOBS = ("trainer.kubeflow.org", "v1alpha1", "trainjobs")
IMAGE = "python:3.11-slim"  # never pulled: KWOK stands in for the kubelet
RUNTIME = "torch-distributed"


def ensure_sdk() -> str:
    """.venv-sdk with the pinned SDK (the Makefile's target; a no-op when up to date)."""
    subprocess.run(["make", "-s", ".venv-sdk/.installed-stamp"], cwd=ROOT, check=True)
    out = subprocess.run(
        [
            str(SDK_PY),
            "-c",
            "from importlib.metadata import version as v;"
            "print(v('kubeflow'), v('kubernetes'), v('urllib3'))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return f"kubeflow {out[0]} (kubernetes {out[1]}, urllib3 {out[2]})"


def trainjob_manifest(name: str, namespace: str, pod_annotations: dict, suspend: bool) -> dict:
    """The TrainJob jupyter-kf's Kubernetes backend submits for a 1-node job on
    torch-distributed running ``true`` (no code to ship), its pod's fate set by KWOK's
    annotations (tests/cluster/kwok-stages.yaml)."""
    from jupyter_kf.jobs import JobSpec
    from jupyter_kf.jobs.parts import RunPolicy
    from jupyter_kf.jobs.trainjob import render_trainjob

    spec = JobSpec.create(
        name=name,
        workers=1,
        runtime=RUNTIME,
        command=["true"],
        pod_annotations=pod_annotations,
        run_policy=RunPolicy(suspend=suspend),
    )
    return render_trainjob(spec, namespace=namespace, image=IMAGE)


def create_trainjobs(
    api, namespace: str, jobs: dict[str, dict], threads: int = 8, suspended: set[str] = frozenset()
) -> dict[str, float]:
    """Create ``{name: pod_annotations}`` as an admin with the plain client; returns each
    job's monotonic creation time."""
    from kubernetes import client

    custom = client.CustomObjectsApi(api)
    group, version, plural = TRAINJOBS

    def one(item):
        name, annotations = item
        cr = trainjob_manifest(name, namespace, annotations, name in suspended)
        for attempt in range(5):
            try:
                custom.create_namespaced_custom_object(group, version, namespace, plural, cr)
                break
            except client.exceptions.ApiException as exc:  # webhook hiccup under load
                if exc.status == 409 or attempt == 4:
                    raise
                time.sleep(0.5)
        return name, time.monotonic()

    with ThreadPoolExecutor(threads) as pool:
        return dict(pool.map(one, jobs.items()))


def trainjob_watch(api, namespace: str, condition: str | None = "Complete") -> ConditionWatch:
    """k8s_bench's raw reference watch, on TrainJobs: when ``condition`` first appears True
    (None: when the job's first event reached a watcher)."""
    return ConditionWatch(api, namespace, condition, resource=TRAINJOBS)


class TrainJobDriver(Driver):
    """benchmarks/support/trainjob_driver.py in a subprocess: ``ours`` in the project's
    .venv, ``peer`` (the kubeflow SDK) in .venv-sdk/, which sees nothing of the project."""

    def __init__(self, mode: str, side: str, kubeconfig: str, namespace: str, **options):
        import threading

        python = sys.executable if side == "ours" else str(SDK_PY)
        args = [python, str(DRIVER), mode, "--side", side]
        args += ["--kubeconfig", kubeconfig, "--namespace", namespace]
        for key, value in options.items():
            if value is not None:
                args += [f"--{key.replace('_', '-')}", str(value)]
        env = dict(os.environ)
        if side == "ours":
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        else:
            env.pop("PYTHONPATH", None)
        self.side = side
        self.proc = subprocess.Popen(
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
            bufsize=1,
        )
        self._stderr: list[str] = []
        threading.Thread(target=self._drain, daemon=True).start()
        self.ready = None
