"""The backend contract suite: every backend runs these same tests (STYLE.md item 2).

Tests describe what a job does — what each replica prints, how long it runs, how it exits —
through ``scenario.job(...)``; each backend's ``Scenario`` makes that happen for real:
the local backend runs Python that does it, the Kubernetes backend (on the control plane
from tests/cluster, where KWOK stands in for kubelets and runs no containers) gets pod
annotations that set the pods' fate and KWOK log files that its pods/log serves.
"""

from __future__ import annotations

import pytest

from jupyter_kf import Client
from jupyter_kf.jobs import Code, JobSpec
from jupyter_kf.jobs.envcontract import replica_keys

BACKENDS = ["local", pytest.param("kubernetes", marks=pytest.mark.cluster)]


class LocalScenario:
    def job(self, name, *, workers=1, prints=(), seconds=0.0, exit_code=0, **fields) -> JobSpec:
        source = (
            "import os, sys, time\nrank = os.environ['RANK']\n"
            + "".join(f"print({line!r}.format(rank=rank), flush=True)\n" for line in prints)
            + f"time.sleep({seconds})\nsys.exit({exit_code})\n"
        )
        return JobSpec.create("pytorch", name=name, workers=workers, code=Code(source), **fields)

    def started(self, client: Client, spec: JobSpec) -> None:
        """Nothing to do: the replicas are real processes printing for themselves."""


class KubernetesScenario:
    def __init__(self, cluster, admin_api, namespace):
        self.cluster, self.admin_api, self.namespace = cluster, admin_api, namespace
        self.prints: dict[str, tuple] = {}

    def job(self, name, *, workers=1, prints=(), seconds=0.0, exit_code=0, **fields) -> JobSpec:
        self.prints[name] = tuple(prints)
        annotations = {
            "jupyter-kf.test/outcome": "fail" if exit_code else "succeed",
            "jupyter-kf.test/after": f"{seconds}s",
            "jupyter-kf.test/exit-code": str(exit_code or 1),
        }
        return JobSpec.create(
            "pytorch",
            name=name,
            workers=workers,
            code=Code("pass\n"),
            pod_annotations=annotations,
            **fields,
        )

    def started(self, client: Client, spec: JobSpec) -> None:
        for rank, (role, index) in enumerate(replica_keys(spec)):
            lines = [line.format(rank=rank) for line in self.prints.get(spec.name, ())]
            self.cluster.set_pod_logs(
                self.admin_api, self.namespace, f"{spec.name}-{role.lower()}-{index}", lines
            )


@pytest.fixture(params=BACKENDS)
def backend_name(request):
    return request.param


@pytest.fixture
def env(backend_name, request):
    """(client, scenario) for one backend."""
    if backend_name == "local":
        c, scenario = Client("local"), LocalScenario()
    else:
        from jupyter_kf.backends.kubernetes import KubernetesBackend
        from tests.support.images import IMAGE

        make_user = request.getfixturevalue("make_user")
        user = make_user("contract")
        c = Client(KubernetesBackend(api_client=user.api, namespace=user.namespace, image=IMAGE))
        scenario = KubernetesScenario(
            request.getfixturevalue("cluster"), request.getfixturevalue("admin_api"), user.namespace
        )
    yield c, scenario
    for job in c.list():
        c.delete(job.name)
    c.close()
