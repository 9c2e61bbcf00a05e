"""A local job is a folder; this module knows its layout and reads/writes it safely.

```
<root>/<name>/
  spec.json        the desired job (rewritten by scale/suspend/resume)
  status.json      the observed state, written only by the supervisor (or, once it is
                   gone, by the first reader that notices)
  code/            the shipped files (run from here: their folder is on sys.path)
  work/            the workers' working directory, empty at first (a pod's emptyDir)
  logs/<replica>.log   one file per replica (stdout and stderr), its attempts in turn
  logs/<replica>.attempts   where each attempt starts in it (attempts.py)
  metrics.jsonl    metric points, one JSON object a line
  events.jsonl     what the supervisor did, one JSON object a line
  supervisor.json  the supervisor's pid and start time
```
Every JSON file is replaced atomically (write to a temporary file, then ``os.replace``), so
a reader never sees half a file.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ENV_HOME = "JUPYTER_KF_HOME"


def default_root() -> Path:
    """``$JUPYTER_KF_HOME/jobs``, else ``$XDG_DATA_HOME/jupyter-kf/jobs`` (~/.local/share)."""
    if os.environ.get(ENV_HOME):
        return Path(os.environ[ENV_HOME]).expanduser() / "jobs"
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "jupyter-kf" / "jobs"


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def write_json(path: Path, data: Any) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def read_json(path: Path, default: Any = None) -> Any:
    try:
        with open(path) as fh:
            return json.load(fh)
    except FileNotFoundError:
        return default
    except ValueError:
        return default


class ParsedFiles:
    """Files parsed once and again only when they change, for listing many jobs fast.

    A file counts as changed when its inode, size or modification time differ:
    ``write_json`` replaces a file whole (a new inode), so no edit goes unseen. Callers
    must not mutate what they get (specs are frozen; dicts are read, never written).
    """

    def __init__(self, limit: int = 20_000):
        self.limit = limit
        self._memo: dict[Path, tuple[tuple[int, int, int], Any]] = {}

    def get(
        self, path: Path, parse: Callable[[Any], Any] = lambda data: data, default: Any = None
    ) -> Any:
        """``parse(read_json(path))``, from memory while the file is unchanged."""
        try:
            st = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            self._memo.pop(path, None)
            return default
        key = (st.st_ino, st.st_size, st.st_mtime_ns)
        hit = self._memo.get(path)
        if hit is not None and hit[0] == key:
            return hit[1]
        data = read_json(path)
        if data is None:
            return default
        value = parse(data)
        if len(self._memo) >= self.limit:
            self._memo.clear()
        self._memo[path] = (key, value)
        return value


def append_jsonl(path: Path, record: dict) -> None:
    # One write() of one line in append mode: lines from one writer never interleave.
    with open(path, "a") as fh:
        fh.write(json.dumps(record, sort_keys=True) + "\n")


def read_jsonl(path: Path) -> list[dict]:
    out = []
    try:
        with open(path) as fh:
            for line in fh:
                if line.endswith("\n"):
                    try:
                        out.append(json.loads(line))
                    except ValueError:
                        continue
    except FileNotFoundError:
        pass
    return out


@dataclass(frozen=True)
class JobDir:
    path: Path

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def spec(self) -> Path:
        return self.path / "spec.json"

    @property
    def status(self) -> Path:
        return self.path / "status.json"

    @property
    def code(self) -> Path:
        return self.path / "code"

    @property
    def work(self) -> Path:
        return self.path / "work"

    @property
    def logs(self) -> Path:
        return self.path / "logs"

    @property
    def metrics(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def events(self) -> Path:
        return self.path / "events.jsonl"

    @property
    def supervisor(self) -> Path:
        return self.path / "supervisor.json"

    @property
    def supervisor_log(self) -> Path:
        return self.path / "supervisor.log"

    def log_of(self, replica: str) -> Path:
        return self.logs / f"{replica}.log"

    def attempts_of(self, replica: str) -> Path:
        return self.logs / f"{replica}.attempts"

    def event(self, type_: str, reason: str, message: str, obj: str = "") -> None:
        append_jsonl(
            self.events,
            {
                "time": now(),
                "type": type_,
                "reason": reason,
                "message": message,
                "object": obj or self.name,
            },
        )
