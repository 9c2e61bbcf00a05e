"""One kubeflow SDK call, as a notebook user makes it; runs in .venv-sdk/ (never .venv).

    .venv-sdk/bin/python tests/sdk/sdk_cli.py --kubeconfig K --namespace NS OP '{json args}'

OPs: ``train`` (``TrainerClient.train(runtime=..., trainer=CustomTrainer(func=<a function of
sdk_funcs.py>, ...), options=[Name(...)])``), ``list``, ``get``, ``logs``, ``events``,
``wait`` (``wait_for_job_status``), ``delete``, ``job_fields`` (the fields of the SDK's
``TrainJob``: which status fields it has). Prints one line ``SDK_RESULT {json}``, or
``SDK_ERROR {json}`` (the exception and its causes) with exit status 1.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys


def job_dict(job) -> dict:
    return {
        "name": job.name,
        "status": job.status,
        "num_nodes": job.num_nodes,
        "runtime": job.runtime.name,
        "steps": [{"name": s.name, "status": s.status, "pod_name": s.pod_name} for s in job.steps],
    }


def run(client, op: str, a: dict):
    from kubeflow.trainer import CustomTrainer
    from kubeflow.trainer.options import Name

    if op == "train":
        import sdk_funcs

        trainer = CustomTrainer(
            func=getattr(sdk_funcs, a["func"]),
            func_args=a.get("func_args"),
            image=a.get("image"),
            num_nodes=a.get("num_nodes"),
            env=a.get("env"),
            resources_per_node=a.get("resources_per_node"),
        )
        options = [Name(a["name"])] if a.get("name") else None
        return client.train(runtime=a.get("runtime"), trainer=trainer, options=options)
    if op == "list":
        return [job_dict(j) for j in client.list_jobs()]
    if op == "get":
        return job_dict(client.get_job(a["name"]))
    if op == "logs":
        return list(client.get_job_logs(a["name"], step=a.get("step", "node-0")))
    if op == "events":
        return [
            {"kind": e.involved_object_kind, "name": e.involved_object_name, "reason": e.reason}
            for e in client.get_job_events(a["name"])
        ]
    if op == "wait":
        job = client.wait_for_job_status(
            a["name"], status=set(a.get("status", ["Complete"])), timeout=a.get("timeout", 600)
        )
        return job_dict(job)
    if op == "delete":
        client.delete_job(a["name"])
        return None
    if op == "job_fields":
        from kubeflow.trainer.types.types import TrainJob

        return [f.name for f in dataclasses.fields(TrainJob)]
    raise SystemExit(f"unknown op {op!r}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("op")
    parser.add_argument("args", nargs="?", default="{}")
    ns = parser.parse_args()
    from kubeflow.common.types import KubernetesBackendConfig
    from kubeflow.trainer import TrainerClient

    try:
        client = TrainerClient(
            backend_config=KubernetesBackendConfig(
                namespace=ns.namespace, config_file=ns.kubeconfig
            )
        )
        out = run(client, ns.op, json.loads(ns.args))
    except Exception as exc:  # the caller asserts on what broke, so say all of it
        chain, e = [], exc
        while e is not None:
            chain.append(f"{type(e).__name__}: {e}")
            e = e.__cause__ or e.__context__
        print("SDK_ERROR " + json.dumps(chain), flush=True)
        return 1
    print("SDK_RESULT " + json.dumps(out, default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
