"""Each framework's replicas see the operator's variables, on loopback, consistently."""

import json
import shutil

import pytest

from jupyter_kf.jobs import Code, JobSpec

DUMP = """
import json, os
keys = [k for k in os.environ if k in {names}]
print("ENV " + json.dumps({{k: os.environ[k] for k in keys}}, sort_keys=True))
print("CALLER " + os.environ.get("CALLER_VAR", "<unset>") + " " + os.environ.get("JOB_VAR", "<unset>"))
print("CWD " + os.getcwd())
"""
NAMES = [
    "TF_CONFIG",
    "COORDINATOR_ADDRESS",
    "COORDINATOR_PORT",
    "NUM_PROCESSES",
    "PROCESS_ID",
    "MASTER_ADDR",
    "MASTER_PORT",
    "WORLD_SIZE",
    "RANK",
    "WORKER_PORT",
    "WORKER_ADDRS",
    "PADDLE_JOB_ID",
    "PADDLE_NNODES",
    "PADDLE_MASTER",
    "PYTHONUNBUFFERED",
    "PET_NNODES",
]


def run_dump(client, framework, workers, monkeypatch):
    monkeypatch.setenv("CALLER_VAR", "from-caller")
    code = Code(DUMP.format(names=NAMES))
    spec = JobSpec.create(
        framework, name=f"env-{framework}", workers=workers, code=code, env={"JOB_VAR": "from-spec"}
    )
    client.submit(spec)
    job = client.wait(spec.name, timeout=60)
    assert job.phase == "Succeeded", client.events(spec.name)
    out = {}
    for replica in job.replicas:
        lines = list(client.logs(spec.name, replica=replica.name))
        env = json.loads(next(line for line in lines if line.startswith("ENV "))[4:])
        assert "CALLER from-caller from-spec" in lines  # the caller's env plus the job's
        assert next(line for line in lines if line.startswith("CWD ")).endswith(f"{spec.name}/work")
        out[replica.name] = env
    return out


def test_tensorflow(client, monkeypatch):
    envs = run_dump(client, "tensorflow", 3, monkeypatch)
    configs = {name: json.loads(env["TF_CONFIG"]) for name, env in envs.items()}
    clusters = [c["cluster"] for c in configs.values()]
    assert all(c == clusters[0] for c in clusters)
    workers = clusters[0]["worker"]
    assert len(workers) == 3 and len(set(workers)) == 3
    assert all(w.startswith("127.0.0.1:") for w in workers)
    for i in range(3):
        assert configs[f"worker-{i}"]["task"] == {"type": "worker", "index": i}
        assert configs[f"worker-{i}"]["environment"] == "cloud"


def test_jax(client, monkeypatch):
    envs = run_dump(client, "jax", 2, monkeypatch)
    assert {e["COORDINATOR_ADDRESS"] for e in envs.values()} == {"127.0.0.1"}
    assert len({e["COORDINATOR_PORT"] for e in envs.values()}) == 1
    assert [envs[f"worker-{i}"]["PROCESS_ID"] for i in range(2)] == ["0", "1"]
    assert {e["NUM_PROCESSES"] for e in envs.values()} == {"2"}


def test_xgboost(client, monkeypatch):
    envs = run_dump(client, "xgboost", 3, monkeypatch)
    assert [envs[n]["RANK"] for n in ("master-0", "worker-0", "worker-1")] == ["0", "1", "2"]
    assert {e["WORLD_SIZE"] for e in envs.values()} == {"3"}
    assert len({(e["MASTER_ADDR"], e["MASTER_PORT"]) for e in envs.values()}) == 1
    assert {e["WORKER_ADDRS"] for e in envs.values()} == {"127.0.0.1,127.0.0.1"}


def test_paddle(client, monkeypatch):
    envs = run_dump(client, "paddle", 2, monkeypatch)
    assert len({e["PADDLE_MASTER"] for e in envs.values()}) == 1  # rank 0's own address
    assert envs["worker-0"]["PADDLE_MASTER"].startswith("127.0.0.1:")
    assert {e["PADDLE_NNODES"] for e in envs.values()} == {"2"}
    assert {e["PADDLE_JOB_ID"] for e in envs.values()} == {"env-paddle"}


def test_pytorch(client, monkeypatch):
    envs = run_dump(client, "pytorch", 3, monkeypatch)
    assert [envs[n]["RANK"] for n in ("master-0", "worker-0", "worker-1")] == ["0", "1", "2"]
    assert {e["WORLD_SIZE"] for e in envs.values()} == {"3"}
    assert {e["MASTER_ADDR"] for e in envs.values()} == {"127.0.0.1"}


def test_mpi_runs_ranks_through_mpirun(client):
    if shutil.which("mpirun") is None:  # a failure that says what to do, never a skip
        pytest.fail("mpirun is not installed: run `make system-deps` (Debian's openmpi-bin)")
    code = Code(
        "import os\nprint('RANK', os.environ['OMPI_COMM_WORLD_RANK'], "
        "os.environ['OMPI_COMM_WORLD_SIZE'])\n"
    )
    client.submit(JobSpec.create("mpi", name="mpi", workers=2, code=code))
    job = client.wait("mpi", timeout=120)
    assert job.phase == "Succeeded", list(client.logs("mpi"))
    lines = sorted(
        line for line in client.logs("mpi", replica="launcher-0") if line.startswith("RANK")
    )
    assert lines == ["RANK 0 2", "RANK 1 2"]


def test_mpi_without_mpirun_is_refused_clearly(client, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty PATH: no mpirun
    with pytest.raises(Exception) as err:
        client.submit(JobSpec.create("mpi", name="mpi", workers=1, code=Code("pass")))
    assert "mpirun, which is not installed here" in str(err.value)
    assert client.list() == []
