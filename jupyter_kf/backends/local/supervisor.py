"""The process that runs one local job: ``python -m jupyter_kf.backends.local.supervisor DIR``.

``--detach`` makes it outlive whoever started it (the kernel, the server). The job's kind
picks the loop: loop.py's for the v1 kinds, trainjob.py's for a TrainJob.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .layout import JobDir
from .trainjob import supervisor_for


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print("usage: python -m jupyter_kf.backends.local.supervisor [--detach] JOB_DIR")
        return 2
    detach = args[0] == "--detach"
    path = Path(args[-1])
    if detach:
        # Double fork: the supervisor's parent becomes init, so it is never left a zombie
        # of the kernel and outlives it. The first child reports the pid and exits.
        read_end, write_end = os.pipe()
        if os.fork() > 0:
            os.close(write_end)
            pid = os.read(read_end, 32).decode()
            sys.stdout.write(pid + "\n")
            sys.stdout.flush()
            os._exit(0)
        os.close(read_end)
        os.setsid()
        if os.fork() > 0:
            os._exit(0)
        os.write(write_end, str(os.getpid()).encode())
        os.close(write_end)
        devnull = os.open(os.devnull, os.O_RDWR)
        log = os.open(JobDir(path).supervisor_log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(devnull, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
    return supervisor_for(JobDir(path)).run()


if __name__ == "__main__":
    sys.exit(main())
