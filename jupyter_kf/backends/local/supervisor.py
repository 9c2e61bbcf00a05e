"""The process that runs one local job: ``python -m jupyter_kf.backends.local.supervisor DIR``.

The backend starts it in a session of its own (backend.py's ``_start_supervisor``), so it
outlives whoever started it (the kernel, the server). The job's kind picks the loop:
loop.py's for the v1 kinds, trainjob.py's for a TrainJob.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .layout import JobDir
from .trainjob import supervisor_for


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print("usage: python -m jupyter_kf.backends.local.supervisor JOB_DIR")
        return 2
    path = Path(args[-1])
    return supervisor_for(JobDir(path)).run()


if __name__ == "__main__":
    sys.exit(main())
