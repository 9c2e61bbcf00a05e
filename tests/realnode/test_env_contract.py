"""The operator's env contract seen from inside real pods, against the local backend's.

Every kind runs the same probe script with 2 workers, once on the real node through the real
training operator and once on the local backend. Each replica prints the contract's variables
(jupyter_kf/jobs/envcontract.py names them), listens where the contract says it is reached,
and opens a TCP connection to every address its env names; whoever answers says who it is.
The job must succeed on both. Then each replica's env is compared across backends: the one
expected difference, the addresses, is normalised to the replica that answered at each one
(a host name and the kind's port on a cluster, 127.0.0.1 and a port of its own locally); any
other difference fails. MPI goes through the operator's exec-based launcher: mpirun in the
launcher pod starts its ranks in the worker pods with `kubectl exec` (its rsh agent).
What each side saw is kept in test-artifacts/realnode/env-contract.json.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest

from jupyter_kf import Client
from jupyter_kf.jobs import ClusterAddressing, Code, JobSpec, env_for, replica_keys
from jupyter_kf.jobs.envcontract import RESERVED_ENV

pytestmark = [pytest.mark.cluster, pytest.mark.realpods]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACT = ROOT / "test-artifacts" / "realnode" / "env-contract.json"
TAG = "ENVCONTRACT "
# The contract's variables, plus what an MPI rank learns from mpirun (not the operator's;
# its local rank is left out: one rank per pod on a cluster, all on one host locally).
CONTRACT = sorted(RESERVED_ENV | {"PYTHONUNBUFFERED"})
MPI_RANK_ENV = ["OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK"]
# mpirun refuses to run as root unless told; the node's image runs as root. (The local
# backend sets the same two for its own mpirun.)
MPI_AS_ROOT = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}
FRAMEWORKS = ["pytorch", "tensorflow", "xgboost", "paddle", "jax", "mpi"]


def endpoints(kind: str, env: dict[str, str]) -> list[tuple[str, int, bool | None]]:
    """Every (host, port) the env names for reaching a replica, and whether it is the reading
    replica's own; ``None`` for "own" where the contract has no rank to tell (Paddle elects
    its master at rendezvous: whoever can listen there). Shipped to the probe as source, where
    ``json`` is imported too."""

    def hp(text: str) -> tuple[str, int]:
        host, _, port = text.rpartition(":")
        return host, int(port)

    if kind == "PyTorchJob" and "MASTER_ADDR" in env:
        return [(env["MASTER_ADDR"], int(env["MASTER_PORT"]), env["RANK"] == "0")]
    if kind == "TFJob" and "TF_CONFIG" in env:
        config = json.loads(env["TF_CONFIG"])
        task = config["task"]
        return [
            (*hp(address), (role, i) == (task["type"], task["index"]))
            for role, addresses in config["cluster"].items()
            for i, address in enumerate(addresses)
        ]
    if kind == "XGBoostJob":
        rank = int(env["RANK"])
        found = [(env["MASTER_ADDR"], int(env["MASTER_PORT"]), rank == 0)]
        workers = [h for h in env.get("WORKER_ADDRS", "").split(",") if h]
        found += [(h, int(env["WORKER_PORT"]), rank == i + 1) for i, h in enumerate(workers)]
        return found
    if kind == "JAXJob":
        own = env["PROCESS_ID"] == "0"
        return [(env["COORDINATOR_ADDRESS"], int(env["COORDINATOR_PORT"]), own)]
    if kind == "PaddleJob":
        return [(*hp(env["PADDLE_MASTER"]), None)]
    return []


PROBE = r"""
import json, os, socket, sys, threading, time

kind, job, replicas = sys.argv[1], sys.argv[2], int(sys.argv[3])
names = json.loads(sys.argv[4])
if kind == "MPIJob":
    me = "rank-" + os.environ.get("OMPI_COMM_WORLD_RANK", "?")
else:
    me = os.environ.get("JUPYTER_KF_REPLICA") or socket.gethostname().removeprefix(job + "-")
env = {k: os.environ[k] for k in names if k in os.environ}


def say(what, **fields):
    # One write per line: mpirun merges its ranks' output, unbuffered under python -u.
    sys.stdout.write("ENVCONTRACT " + json.dumps({"what": what, "me": me, **fields}) + "\n")
    sys.stdout.flush()


my_ips = {"127.0.0.1"}
try:
    my_ips |= set(socket.gethostbyname_ex(socket.gethostname())[2])
except OSError:
    pass
say("env", env=env, hostname=socket.gethostname(), ips=sorted(my_ips))


def resolve(host, until):
    while True:
        try:
            return socket.gethostbyname(host)
        except OSError:
            if time.monotonic() > until:
                raise
            time.sleep(0.5)


deadline = time.monotonic() + 240
listeners = []
for host, port, own in endpoints(kind, env):
    if own is None:  # no rank in the contract: own if it names me and I can listen there
        own = resolve(host, deadline) in my_ips
    if not own:
        continue
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("", port))
    except OSError:
        s.close()
        continue
    s.listen(replicas)
    listeners.append(s)
    say("listen", address=f"{host}:{port}")


served = []


def serve(s):
    # Every replica connects to every named address, this one's too: one each.
    s.settimeout(240)
    for _ in range(replicas):
        c, _ = s.accept()
        c.sendall(me.encode())
        c.close()
        served.append(1)


threads = [threading.Thread(target=serve, args=(s,), daemon=True) for s in listeners]
for t in threads:
    t.start()
for host, port, _ in endpoints(kind, env):
    while True:
        try:
            c = socket.create_connection((host, port), timeout=5)
            answer = c.recv(100).decode()
            c.close()
            if answer:
                break
        except OSError:
            pass
        if time.monotonic() > deadline:
            say("unreachable", address=f"{host}:{port}")
            sys.exit(3)
        time.sleep(0.5)
    say("peer", address=f"{host}:{port}", ip=resolve(host, deadline), answer=answer)
for t in threads:
    t.join(max(1.0, deadline - time.monotonic()))
if len(served) != replicas * len(listeners):
    say("not everyone came", served=len(served))
    sys.exit(4)
say("done")
"""


def probe_code(spec_kind: str, name: str, replicas: int, names: list[str]) -> Code:
    source = inspect.getsource(endpoints) + PROBE
    return Code(source, filename="probe.py", args=(spec_kind, name, replicas, json.dumps(names)))


def spec_for(framework: str, name: str) -> JobSpec:
    shape = JobSpec.create(framework, name=name, workers=2, command=["true"])
    mpi = shape.info.leader_runs_ranks
    names = CONTRACT + (MPI_RANK_ENV if mpi else [])
    # Every process running the probe: MPI's ranks (one per worker), else every replica.
    processes = shape.replicas["Worker"] if mpi else shape.total_replicas
    return JobSpec.create(
        framework,
        name=name,
        workers=2,
        code=probe_code(shape.kind, name, processes, names),
        restart_policy="Never",
        env=MPI_AS_ROOT if mpi else {},
    )


def probed(client: Client, spec: JobSpec) -> dict[str, dict]:
    """What each probe said, by who said it: its env, its addresses, who answered there."""
    seen: dict[str, dict] = {}
    records = [
        json.loads(text)
        for role, index in replica_keys(spec)
        for line in client.logs(spec.name, replica=f"{role.lower()}-{index}")
        for text in line.split(TAG)[1:]
    ]
    for record in records:
        me = seen.setdefault(record["me"], {"peers": {}, "listens": []})
        if record["what"] == "env":
            me.update(env=record["env"], hostname=record["hostname"], ips=record["ips"])
        elif record["what"] == "peer":
            me["peers"][record["address"]] = {"answer": record["answer"], "ip": record["ip"]}
        elif record["what"] == "listen":
            me["listens"].append(record["address"])
        elif record["what"] == "done":
            me["done"] = True
        else:
            me.setdefault("problems", []).append(record)
    return seen


def all_logs(client: Client, spec: JobSpec) -> str:
    out = []
    for role, index in replica_keys(spec):
        replica = f"{role.lower()}-{index}"
        try:
            out += [f"--- {replica}", *client.logs(spec.name, replica=replica)]
        except Exception as exc:  # a replica that never started has no log
            out.append(f"--- {replica}: {exc}")
    out += ["--- events", *(f"{e.reason}: {e.message}" for e in client.events(spec.name))]
    return "\n".join(out)


def normalized(spec: JobSpec, probe: dict, on_cluster: bool, namespace: str) -> dict[str, str]:
    """One replica's env with every address replaced by the replica that answered there.

    The expected differences between the backends end here: hosts and ports (replica
    names and the kind's port on a cluster, 127.0.0.1 and a port each locally), Paddle's
    rank 0 learning its own pod IP (POD_IP_DUMMY, a fieldRef) and the MPI launcher's
    variables that point mpirun at kubectl exec (the cluster only, envcontract says so).
    """
    env = dict(probe["env"])
    who = {address: peer["answer"] for address, peer in probe["peers"].items()}

    def at(host: str, port: str) -> str:
        return who.get(f"{host}:{port}", f"<nobody answered at {host}:{port}>")

    for a, p in (
        ("MASTER_ADDR", "MASTER_PORT"),
        ("PET_MASTER_ADDR", "PET_MASTER_PORT"),
        ("COORDINATOR_ADDRESS", "COORDINATOR_PORT"),
    ):
        if a in env and p in env:
            replica = at(env[a], env[p])
            env[a], env[p] = f"<host of {replica}>", f"<port of {replica}>"
    if "WORKER_ADDRS" in env:
        port = env["WORKER_PORT"]
        hosts = [at(h, port) for h in env["WORKER_ADDRS"].split(",") if h]
        env["WORKER_ADDRS"] = ",".join(f"<host of {r}>" for r in hosts)
        env["WORKER_PORT"] = "<the workers' port>"
    if "PADDLE_MASTER" in env:
        # Collective Paddle has no rank in its env: whoever listens at PADDLE_MASTER leads
        # (the operator points every replica at worker 0; locally all see 127.0.0.1:<port>).
        leader = at(*env["PADDLE_MASTER"].rsplit(":", 1))
        assert not leader.startswith("<nobody"), (leader, probe)
        assert leader == "worker-0" or not on_cluster, (leader, probe)
        env["PADDLE_MASTER"] = "<the replica listening there>"
    if "POD_IP_DUMMY" in env:
        assert on_cluster and env["POD_IP_DUMMY"] in probe["ips"], probe
        del env["POD_IP_DUMMY"]
    if "TF_CONFIG" in env:
        config = json.loads(env["TF_CONFIG"])
        config["cluster"] = {
            role: [f"<{at(*a.rsplit(':', 1))}>" for a in addresses]
            for role, addresses in config["cluster"].items()
        }
        env["TF_CONFIG"] = json.dumps(config, sort_keys=True)
    if spec.info.leader_runs_ranks and on_cluster:
        addressing = ClusterAddressing(spec.name, namespace, spec.info)
        launcher = env_for(spec, "Launcher", 0, addressing)
        for key in [k for k in env if k in launcher]:
            assert env.pop(key) == launcher[key], key
    return env


def record(framework: str, entry: dict) -> None:
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    seen = json.loads(ARTIFACT.read_text()) if ARTIFACT.is_file() else {}
    seen[framework] = entry
    ARTIFACT.write_text(json.dumps(seen, indent=2, sort_keys=True) + "\n")


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_env_contract_in_real_pods_matches_the_local_backend(real_user, framework, monkeypatch):
    # Local workers inherit the caller's env: drop the contract's names from it, so what the
    # local replicas hold is what the backend gives them (this shell may export
    # PYTHONUNBUFFERED, for one).
    for key in CONTRACT:
        monkeypatch.delenv(key, raising=False)
    name = f"env-{framework[:6]}"
    spec = spec_for(framework, name)
    cluster, local = real_user.client, Client("local")
    entry: dict = {"kind": spec.kind, "replicas": dict(spec.replicas)}
    try:
        cluster.submit(spec)
        local.submit(spec)
        ends = ("Succeeded", "Failed")
        on_cluster = cluster.wait(name, conditions=ends, timeout=280)
        on_local = local.wait(name, conditions=ends, timeout=120)
        assert on_cluster.phase == "Succeeded", (
            f"{on_cluster.status.message}\n{all_logs(cluster, spec)}"
        )
        assert on_local.phase == "Succeeded", f"{on_local.status.message}\n{all_logs(local, spec)}"
        seen = {"cluster": probed(cluster, spec), "local": probed(local, spec)}
        entry.update(seen)
        check(spec, seen, cluster, entry, real_user.namespace)
        entry["result"] = "same env on both backends once addresses are normalised"
    except AssertionError as exc:
        entry["result"] = f"FAILED: {exc}"
        raise
    finally:
        record(framework, entry)
        local.delete(name)
        local.close()


def check(spec: JobSpec, seen: dict, cluster: Client, entry: dict, namespace: str) -> None:
    name = spec.name
    for side, probes in seen.items():
        expected = (
            [f"rank-{i}" for i in range(spec.replicas["Worker"])]
            if spec.info.leader_runs_ranks
            else [f"{role.lower()}-{i}" for role, i in replica_keys(spec)]
        )
        assert sorted(probes) == sorted(expected), (side, sorted(probes))
        for me, probe in probes.items():
            assert "problems" not in probe, (side, me, probe)
            assert "env" in probe and probe.get("done"), (side, me, probe)
    if spec.info.leader_runs_ranks:
        # Each rank ran in its own worker pod, started there through kubectl exec.
        hosts = sorted(p["hostname"] for p in seen["cluster"].values())
        assert hosts == [f"{name}-worker-0", f"{name}-worker-1"], hosts
        launcher = "\n".join(cluster.logs(name, replica="launcher-0"))  # kubexec.sh's set -x
        for host in hosts:
            assert f"/opt/kube/kubectl exec {host} -- /bin/sh -c" in launcher, launcher
        for probe in seen["cluster"].values():
            assert probe["env"]["OMPI_MCA_plm_rsh_agent"] == "/etc/mpi/kubexec.sh", probe
    else:
        # Every name the operator gave was answered by the replica it names (an IP is
        # Paddle's rank 0 reaching itself, checked in ``normalized``).
        for probe in seen["cluster"].values():
            for address, peer in probe["peers"].items():
                host = address.rsplit(":", 1)[0]
                if not host[0].isdigit():
                    assert peer["answer"] == host.removeprefix(f"{name}-").split(".")[0], (
                        address,
                        peer,
                    )
    normal = {
        side: {
            me: normalized(spec, probe, side == "cluster", namespace)
            for me, probe in probes.items()
        }
        for side, probes in seen.items()
    }
    entry["normalized"] = normal["cluster"]
    entry["differences"] = {
        me: {
            k: [normal["cluster"][me].get(k), normal["local"][me].get(k)]
            for k in sorted(set(normal["cluster"][me]) | set(normal["local"][me]))
            if normal["cluster"][me].get(k) != normal["local"][me].get(k)
        }
        for me in normal["cluster"]
    }
    assert not any(entry["differences"].values()), entry["differences"]
