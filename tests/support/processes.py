"""The live processes of local-backend jobs, so a test can prove none outlives its job."""

from __future__ import annotations

import os
from pathlib import Path

import psutil


def job_processes(home: Path | str) -> list[psutil.Process]:
    """Every live process belonging to a job under ``home`` (found by its env marker)."""
    marker = str(home)
    found = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if proc.pid != os.getpid() and proc.environ().get("JUPYTER_KF_JOB_DIR", "").startswith(
                marker
            ):
                if proc.status() != psutil.STATUS_ZOMBIE:
                    found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found
