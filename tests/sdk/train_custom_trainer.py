"""A Python user hands jupyter-kf's client the kubeflow SDK's own ``CustomTrainer``.

    PYTHONPATH=<.venv-sdk's site-packages> .venv/bin/python tests/sdk/train_custom_trainer.py \
        KUBECONFIG NAMESPACE NAME '{CustomTrainer fields, func named in sdk_funcs}'

Runs in the project's interpreter with the SDK importable (the SDK's kubernetes pin,
<36, is within ours), builds a real ``CustomTrainer`` and calls ``Client.train(trainer,
name=NAME)``. Prints ``TRAINED {"kind", "name"}`` or ``REFUSED {"error", "message"}``.
"""

from __future__ import annotations

import json
import sys

import sdk_funcs
from kubeflow.trainer import CustomTrainer

from jupyter_kf import Client, JupyterKFError
from jupyter_kf.backends.kubernetes import KubernetesBackend
from jupyter_kf.k8s import ClusterConfig


def main() -> int:
    kubeconfig, namespace, name, raw = sys.argv[1:5]
    fields = json.loads(raw)
    fields["func"] = getattr(sdk_funcs, fields["func"])
    trainer = CustomTrainer(**fields)
    client = Client(
        KubernetesBackend(config=ClusterConfig(kubeconfig=kubeconfig), namespace=namespace)
    )
    try:
        job = client.train(trainer, name=name)
    except JupyterKFError as exc:
        print("REFUSED " + json.dumps({"error": type(exc).__name__, "message": str(exc)}))
        return 0
    finally:
        client.close()
    print("TRAINED " + json.dumps({"kind": job.kind, "name": job.name}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
