"""The backend contract suite: every backend runs these same tests (STYLE.md item 2).

Tests describe what a job does — what each replica prints, how long it runs, how it exits —
through ``scenario.job(...)``, which writes it as a Python script. Both backends run that
script for real: the local backend as processes on this machine, the Kubernetes backend as
pods on the real node of tests/cluster (kubelet, containerd, runc), through the real training
operator. What a test then reads back (logs, exit codes, phases, events, metrics) was made by
the script itself on both, never staged for it.
"""

from __future__ import annotations

import pytest

from jupyter_kf import Client
from jupyter_kf.jobs import Code, JobSpec

BACKENDS = [
    "local",
    pytest.param("kubernetes", marks=[pytest.mark.cluster, pytest.mark.realpods]),
]


# Ranks meet at the end, through the env contract (MASTER_ADDR, MASTER_PORT), as real
# distributed training does: rank 0 ends only once every other rank has got there. Without
# it a worker still starting could be cut short, since a PyTorchJob ends when its master
# does (on the real node a worker's init container first waits for the master's Service).
MEET = """
def meet():
    if world == 1:
        return
    if rank == 0:
        server.settimeout(600)
        for _ in range(world - 1):
            server.accept()[0].close()
        return
    until = time.monotonic() + 600
    while time.monotonic() < until:
        try:
            socket.create_connection(master, timeout=5).close()
            return
        except OSError:
            time.sleep(0.2)


"""


class Scenario:
    """Turns what a test wants a job to do into the code its replicas run."""

    def job(self, name, *, workers=1, prints=(), seconds=0.0, exit_code=0, **fields) -> JobSpec:
        source = (
            "import os, socket, sys, time\n"
            + MEET
            + "rank, world = int(os.environ['RANK']), int(os.environ['WORLD_SIZE'])\n"
            + "master = (os.environ['MASTER_ADDR'], int(os.environ['MASTER_PORT']))\n"
            + "if rank == 0 and world > 1:\n"
            + "    server = socket.create_server(('', master[1]))\n"
            + "".join(f"print({line!r}.format(rank=rank), flush=True)\n" for line in prints)
            + f"time.sleep({seconds})\nmeet()\nsys.exit({exit_code})\n"
        )
        return JobSpec.create("pytorch", name=name, workers=workers, code=Code(source), **fields)


@pytest.fixture(params=BACKENDS)
def backend_name(request):
    return request.param


@pytest.fixture
def env(backend_name, request):
    """(client, scenario) for one backend."""
    if backend_name == "local":
        c = Client("local")
    else:
        # A notebook user (jupyter-kf's Role, a ServiceAccount token) whose jobs' pods run
        # on the real node with the project's Python.
        c = request.getfixturevalue("real_user").client
    yield c, Scenario()
    for job in c.list():
        c.delete(job.name)
    if backend_name == "local":
        c.close()  # make_user closes the clients it made
