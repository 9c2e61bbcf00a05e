"""Runs ddp_first_step once through the kubeflow SDK's LocalProcessBackend; for local_launch.py.

It runs in .venv-bench/ (where the pinned ``kubeflow`` is installed), as a subprocess of the
benchmark, one job per call:

    .venv-bench/bin/python benchmarks/support/kubeflow_sdk_driver.py --torch torch==2.15.0

and prints one line ``SDK_RESULT {json}``: the wall-clock time just before
``TrainerClient.train(...)`` (``t0``), the ``FIRST_STEP``/``TIMES`` lines of the job's log,
and when the job's virtualenv got its interpreter, its pip (ensurepip) and its torchrun
(the end of ``pip install``), found by watching the job's folder.

How the SDK runs a job (kubeflow 0.5.0, trainer/backends/localprocess): a new temporary
folder, ``python -m venv --without-pip`` there, ``python -m ensurepip``, ``pip install`` of
the runtime's packages (``torch``) merged with ``packages_to_install`` (only when
``packages_to_install`` is given), then ``<venv>/bin/torchrun <the function's file>``, all in
one ``bash -c`` whose environment is exactly ``CustomTrainer.env``. Without an install there
is no ``<venv>/bin/torchrun`` and the job fails, so the benchmark passes
``packages_to_install=["torch==<the project's torch version>"]``: the SDK's own way to get torch
into the job's virtualenv, served from pip's cache once the warm-up has filled it.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--torch", required=True, help="the requirement to install, e.g. torch==2.15.0"
    )
    parser.add_argument(
        "--wheels",
        default=None,
        help="a folder of wheels that pip installs from instead of the index",
    )
    parser.add_argument("--timeout", type=int, default=900)
    args = parser.parse_args()

    import kubeflow
    from ddp_first_step import first_step
    from kubeflow.trainer import CustomTrainer, LocalProcessBackendConfig, TrainerClient

    client = TrainerClient(backend_config=LocalProcessBackendConfig())
    # The SDK replaces the job's whole environment with CustomTrainer.env. No thread count
    # is set: each launcher runs at its own default, as a user gets it.
    env: dict[str, str] = {}
    if args.wheels:
        # pip's cache stands in for a local mirror: the job's `pip install` reads these
        # wheels and never the network (pip reads PIP_* variables as its options).
        env.update(PIP_NO_INDEX="1", PIP_FIND_LINKS=args.wheels)
    trainer = CustomTrainer(func=first_step, packages_to_install=[args.torch], env=env)
    marks: dict[str, float] = {}
    stop = threading.Event()
    tmp = Path(tempfile.gettempdir())

    t0 = time.time()
    name = client.train(runtime="torch-distributed", trainer=trainer)
    t_returned = time.time()

    def watch() -> None:  # when the job's venv gets python, pip and torchrun
        venv = None
        while not stop.is_set():
            if venv is None:
                found = [p for p in tmp.iterdir() if p.name.startswith(name) and p.is_dir()]
                venv = found[0] if found else None
            if venv is not None:
                for mark, rel in (
                    ("venv", "bin/python"),
                    ("ensurepip", "bin/pip"),
                    ("installed", "bin/torchrun"),
                ):
                    if mark not in marks and (venv / rel).exists():
                        marks[mark] = time.time()
                if len(marks) == 3:
                    return
            stop.wait(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    job = client.wait_for_job_status(
        name, status={"Complete", "Failed"}, timeout=args.timeout, polling_interval=1
    )
    stop.set()
    lines = list(client.get_job_logs(name))
    client.delete_job(name)
    first = [ln for ln in lines if ln.startswith(("FIRST_STEP ", "TIMES "))]
    result = {
        "version": getattr(kubeflow, "__version__", None),
        "name": name,
        "status": job.status,
        "t0": t0,
        "train_returned": t_returned,
        "marks": marks,
        "lines": first,
        "log_tail": lines[-30:] if job.status != "Complete" or not first else [],
    }
    print("SDK_RESULT " + json.dumps(result), flush=True)
    return 0 if job.status == "Complete" else 1


if __name__ == "__main__":
    sys.exit(main())
