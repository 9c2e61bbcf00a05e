"""Bad data flags and the message each front end must give for them (the magic, the CLI, the
REST body and the panel's form all reach the same validation, so the words are the same)."""

from __future__ import annotations

from typing import Any

# (id, the flags as a user types them, the same input as REST body fields, words of the message)
BAD_DATA: list[tuple[str, list[str], dict[str, Any], str]] = [
    (
        "volume-without-colon",
        ["--volume", "nocolon"],
        {"volumes": ["nocolon"]},
        "volume 'nocolon' is not claim:/path[:ro]: e.g. 'data:/data' or 'data:/data:ro'",
    ),
    (
        "volume-over-code",
        ["--volume", "data:/opt/jupyter-kf/code"],
        {"volumes": ["data:/opt/jupyter-kf/code"]},
        "overlaps a path jupyter-kf or the container needs",
    ),
    (
        "secret-env-plain-value",
        ["--secret-env", "X=plain"],
        {"secret_env": {"X": "plain"}},
        "secret_env X: 'plain' is not 'secret:key' (a Secret in your own namespace",
    ),
    (
        "secret-env-other-namespace",
        ["--secret-env", "TOKEN=other-ns/wandb:token"],
        {"secret_env": {"TOKEN": "other-ns/wandb:token"}},
        "secret_env TOKEN: 'other-ns/wandb' names another namespace; a job reads Secrets of "
        "its own namespace only",
    ),
    (
        "shm-not-a-size",
        ["--shm", "lots"],
        {"shm": "lots"},
        "shm 'lots' is not a size: give a Kubernetes quantity, e.g. '2Gi'",
    ),
]
BAD_IDS = [case[0] for case in BAD_DATA]
