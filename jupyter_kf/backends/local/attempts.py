"""One attempt's log: where each run of a replica starts in its one log file.

``logs/<replica>.log`` keeps every run in turn (followers read one growing file and cursors
count its lines), and ``logs/<replica>.attempts`` records, at each launch, the replica's
restart count and the log's size then. Attempt k is the bytes from its launch to the next
launch. A world restart (scale, resume) counts from 0 again, as a new pod's container does
on a cluster, so only the current world's attempts are numbered; the whole log (no attempt
given) still has the earlier ones.
"""

from __future__ import annotations

import collections
from typing import NamedTuple

from ...errors import NotFoundError
from .layout import JobDir, read_jsonl


class Segment(NamedTuple):
    attempt: int
    start: int
    end: int | None  # None: the attempt still writes (or was the last), up to the file's end


def segments(d: JobDir, replica: str) -> list[Segment]:
    """The current world's attempts of ``replica``, oldest first."""
    entries = [
        (int(e["attempt"]), int(e["offset"]))
        for e in read_jsonl(d.attempts_of(replica))
        if isinstance(e.get("attempt"), int) and isinstance(e.get("offset"), int)
    ]
    if not entries:  # not launched yet, or a job from before attempts were recorded
        return [Segment(0, 0, None)]
    first = max((i for i, (attempt, _) in enumerate(entries) if attempt == 0), default=0)
    current = entries[first:]
    return [
        Segment(attempt, start, current[i + 1][1] if i + 1 < len(current) else None)
        for i, (attempt, start) in enumerate(current)
    ]


def find(d: JobDir, name: str, replica: str, attempt: int) -> Segment:
    """Attempt ``attempt`` of ``replica``; an attempt it has not made is ``NotFoundError``."""
    segs = segments(d, replica)
    for seg in segs:
        if seg.attempt == attempt:
            return seg
    numbers = ", ".join(str(s.attempt) for s in segs)
    raise NotFoundError(
        f"replica {replica} of job {name} has no attempt {attempt}; its attempts are {numbers}"
    )


def read(d: JobDir, replica: str, seg: Segment, tail_lines: int | None) -> tuple[list[bytes], int]:
    """The segment's complete lines (the last ``tail_lines``, all when None) without their
    newlines, and the offset just after them. A finished attempt's unterminated last line
    comes too; the running one's waits for its newline (a follower reads it whole)."""
    kept: collections.deque[bytes] = collections.deque(
        maxlen=None if tail_lines is None else max(tail_lines, 0)
    )
    pos = seg.start
    try:
        fh = open(d.log_of(replica), "rb")
    except FileNotFoundError:
        return [], pos
    with fh:
        fh.seek(seg.start)
        for raw in fh:
            if seg.end is not None and pos + len(raw) > seg.end:
                raw = raw[: seg.end - pos]
            if not raw:
                break
            if not raw.endswith(b"\n") and seg.end is None:
                break
            pos += len(raw)
            kept.append(raw.removesuffix(b"\n"))
            if seg.end is not None and pos >= seg.end:
                break
    return list(kept), pos
