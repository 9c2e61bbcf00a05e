"""Waking up when a job folder changes: Linux inotify through ctypes, no dependency.

The local backend's readers (``updates``, ``watch``, following a log, waiting for the
supervisor to act) sleep in ``FileWatch.wait`` until a file they watch is written, created,
replaced or removed, instead of re-reading the folders on a short tick. Where inotify is
missing (not Linux, or the per-user limits are spent) ``wait`` just sleeps: the callers
re-check on a slow tick anyway, for what no file announces (a supervisor killed with
``kill -9`` writes nothing).

One inotify instance serves the whole process (a server may follow dozens of jobs at once,
and the kernel allows a user only 128 instances by default): one daemon thread reads it and
wakes the ``FileWatch``es of the folder each notification is about.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import struct
import threading
from pathlib import Path

IN_MODIFY = 0x002
IN_CLOSE_WRITE = 0x008
IN_MOVED_FROM = 0x040
IN_MOVED_TO = 0x080
IN_CREATE = 0x100
IN_DELETE = 0x200
IN_DELETE_SELF = 0x400
IN_MOVE_SELF = 0x800
IN_IGNORED = 0x8000
IN_CLOEXEC = 0o2000000
CHANGES = (
    IN_MODIFY
    | IN_CLOSE_WRITE
    | IN_MOVED_FROM
    | IN_MOVED_TO
    | IN_CREATE
    | IN_DELETE
    | IN_DELETE_SELF
    | IN_MOVE_SELF
)
_EVENT = struct.Struct("iIII")  # struct inotify_event, before its name


class _Hub:
    """The process's inotify instance: which ``FileWatch``es wait on which watch."""

    def __init__(self, libc: ctypes.CDLL, fd: int):
        self._libc = libc
        self._fd = fd
        self._lock = threading.Lock()
        self._waiters: dict[int, set[FileWatch]] = {}
        self._thread = threading.Thread(target=self._run, name="jupyter-kf-inotify", daemon=True)
        self._thread.start()

    def add(self, path: Path, waiter: FileWatch) -> int | None:
        with self._lock:
            # The same folder (inode) gets the same watch descriptor for every caller.
            wd = self._libc.inotify_add_watch(self._fd, os.fsencode(path), CHANGES)
            if wd < 0:
                return None
            self._waiters.setdefault(wd, set()).add(waiter)
            return wd

    def remove(self, wd: int, waiter: FileWatch) -> None:
        with self._lock:
            waiters = self._waiters.get(wd)
            if waiters is None:
                return
            waiters.discard(waiter)
            if not waiters:
                del self._waiters[wd]
                self._libc.inotify_rm_watch(self._fd, wd)

    def _run(self) -> None:
        while True:
            try:
                data = os.read(self._fd, 65536)
            except InterruptedError:
                continue
            offset = 0
            woken: set[FileWatch] = set()
            with self._lock:
                while offset + _EVENT.size <= len(data):
                    wd, mask, _cookie, length = _EVENT.unpack_from(data, offset)
                    offset += _EVENT.size + length
                    waiters = self._waiters.get(wd, set())
                    woken |= waiters
                    if mask & IN_IGNORED:  # the folder is gone, and its watch with it
                        self._waiters.pop(wd, None)
                        for waiter in waiters:
                            waiter._forget(wd)
            for waiter in woken:
                waiter._changed.set()


_lock = threading.Lock()
_hub: _Hub | None = None
_hub_tried = False


def _the_hub() -> _Hub | None:
    global _hub, _hub_tried
    with _lock:
        if not _hub_tried:
            _hub_tried = True
            try:
                libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
                fd = libc.inotify_init1(IN_CLOEXEC)
            except (OSError, AttributeError):  # no libc by that name, or not Linux
                fd = -1
            if fd >= 0:
                _hub = _Hub(libc, fd)
        return _hub


class FileWatch:
    """Some folders watched for one reader; ``wait`` returns when one of them changes.

    A folder's watch reports its files' writes, creations, replacements (``os.replace``
    lands as a move into the folder) and removals, so watching a job folder and its
    ``logs/`` covers every file a reader follows. One reader (thread) per ``FileWatch``.
    """

    def __init__(self) -> None:
        self._hub = _the_hub()
        self._changed = threading.Event()
        self._watched: dict[Path, int] = {}
        self._lock = threading.Lock()

    @property
    def native(self) -> bool:
        """True when changes wake ``wait`` (inotify works here)."""
        return self._hub is not None

    def add(self, path: Path) -> bool:
        """Watch the folder ``path`` (again after it was re-created); False if impossible."""
        if self._hub is None:
            return False
        wd = self._hub.add(path, self)
        with self._lock:
            if wd is None:
                self._watched.pop(path, None)
                return False
            self._watched[path] = wd
        return True

    def watching(self, path: Path) -> bool:
        with self._lock:
            return path in self._watched

    def wait(self, timeout: float) -> bool:
        """Block up to ``timeout`` seconds for a change; True if one came since the last."""
        changed = self._changed.wait(max(timeout, 0.0))
        self._changed.clear()
        return changed

    def _forget(self, wd: int) -> None:
        """The kernel ended watch ``wd`` (its folder was removed): ``add`` it again later."""
        with self._lock:
            self._watched = {p: w for p, w in self._watched.items() if w != wd}

    def close(self) -> None:
        with self._lock:
            watched, self._watched = self._watched, {}
        if self._hub is not None:
            for wd in set(watched.values()):
                self._hub.remove(wd, self)

    def __enter__(self) -> FileWatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
