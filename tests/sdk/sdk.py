"""The kubeflow SDK's ``TrainerClient`` as a notebook user, from the project's .venv: each
call runs tests/sdk/sdk_cli.py in .venv-sdk/ (the SDK pins kubernetes<36, so it never goes
into .venv), with a kubeconfig holding the user's ServiceAccount token and namespace."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.kubernetes.fixtures import User

ROOT = Path(__file__).resolve().parents[2]
SDK_PY = ROOT / ".venv-sdk" / "bin" / "python"
CLI = Path(__file__).resolve().parent / "sdk_cli.py"


class SdkError(Exception):
    """An SDK call raised; ``chain`` is the exception and its causes, outermost first."""

    def __init__(self, op: str, chain: list[str]):
        super().__init__(f"SDK {op}: " + " <- ".join(chain))
        self.chain = chain


@dataclass
class Sdk:
    """The kubeflow SDK's ``TrainerClient`` acting as ``user`` (one process per call)."""

    kubeconfig: Path
    namespace: str

    def __call__(self, op: str, timeout: float = 300, **args):
        proc = subprocess.run(
            [SDK_PY, CLI, "--kubeconfig", self.kubeconfig, "--namespace", self.namespace, op]
            + [json.dumps(args)],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,
        )
        for line in proc.stdout.splitlines():
            if line.startswith("SDK_RESULT "):
                return json.loads(line[len("SDK_RESULT ") :])
            if line.startswith("SDK_ERROR "):
                raise SdkError(op, json.loads(line[len("SDK_ERROR ") :]))
        raise AssertionError(f"sdk_cli.py {op} said nothing:\n{proc.stdout}\n{proc.stderr}")


def user_kubeconfig(path: Path, cluster, user: User) -> Path:
    """A kubeconfig as a notebook user holds it: their token, their namespace."""
    conf = user.api.configuration
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "notebook",
                "clusters": [
                    {
                        "name": "test",
                        "cluster": {
                            "server": cluster.api_server,
                            "certificate-authority": str(conf.ssl_ca_cert),
                        },
                    }
                ],
                "users": [{"name": "notebook", "user": {"token": conf.api_key["authorization"]}}],
                "contexts": [
                    {
                        "name": "notebook",
                        "context": {
                            "cluster": "test",
                            "user": "notebook",
                            "namespace": user.namespace,
                        },
                    }
                ],
            }
        )
    )
    return path
