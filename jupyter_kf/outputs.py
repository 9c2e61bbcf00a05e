"""What a job left in its outputs directory (``JKF_OUTPUT_DIR``), as the notebook sees it.

Locally that is ``<job>/outputs``; on a cluster the folder ``jupyter-kf/outputs/<job>`` of the
volume that kept them, readable here when the notebook mounts that volume (the home volume,
``home=True``). ``Outputs.note`` says why, when they cannot be read from here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import InvalidSpecError, NotFoundError

MAX_FILES = 10_000  # listed per call; a job that writes more is read through ``dir``


@dataclass(frozen=True)
class OutputFile:
    path: str  # relative to the outputs directory, '/'-separated
    size: int


@dataclass(frozen=True)
class Outputs:
    """A job's outputs: ``files`` found under ``dir`` (None when not readable from here)."""

    job: str
    location: str  # where the job wrote them, in words a user can follow
    dir: Path | None
    files: tuple[OutputFile, ...] = ()
    note: str = ""

    def path(self, name: str) -> Path:
        """The local path of output ``name`` (one of ``files``)."""
        if self.dir is None:
            raise NotFoundError(f"the outputs of {self.job!r} cannot be read here: {self.note}")
        target = (self.dir / name).resolve()
        if self.dir.resolve() not in target.parents:
            raise InvalidSpecError(f"{name!r} is not inside the outputs of {self.job!r}")
        if not target.is_file():
            known = ", ".join(f.path for f in self.files[:10]) or "none yet"
            raise NotFoundError(f"job {self.job!r} has no output {name!r} (it has: {known})")
        return target

    def read_bytes(self, name: str) -> bytes:
        return self.path(name).read_bytes()

    def read_text(self, name: str) -> str:
        return self.path(name).read_text()


def outputs_in(job: str, location: str, folder: Path | None, note: str = "") -> Outputs:
    """List the files under ``folder`` (none yet when it does not exist)."""
    if folder is None:
        return Outputs(job, location, None, (), note)
    files: list[OutputFile] = []
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        for name in sorted(names):
            full = Path(root) / name
            try:
                size = full.stat().st_size
            except OSError:
                continue  # removed while listed
            files.append(OutputFile(full.relative_to(folder).as_posix(), size))
            if len(files) >= MAX_FILES:
                return Outputs(job, location, folder, tuple(files), f"first {MAX_FILES} listed")
    return Outputs(job, location, folder, tuple(files), note)
