"""``LogView``: a log tail that sends only new lines to the browser.

An ipywidgets ``Textarea`` would resend the whole text on every line; this anywidget keeps
a bounded buffer here and pushes deltas as custom messages (see logview.js). A view that
renders later asks for a snapshot, so nothing depends on having seen every delta.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Iterable
from pathlib import Path

import anywidget
from traitlets import Int, Unicode

_HERE = Path(__file__).parent


class LogView(anywidget.AnyWidget):
    _esm = _HERE / "logview.js"
    _css = _HERE / "logview.css"

    max_lines = Int(500, help="How many of the newest lines the view keeps.").tag(sync=True)
    replica = Unicode("", help="The replica whose log this is.").tag(sync=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._lock = threading.Lock()
        self._lines: collections.deque[str] = collections.deque(maxlen=self.max_lines)
        self.on_msg(self._on_front_end_message)

    @property
    def lines(self) -> list[str]:
        """The lines the view shows now (the newest ``max_lines``)."""
        with self._lock:
            return list(self._lines)

    def reset(self, lines: Iterable[str] = (), replica: str | None = None) -> None:
        """Replace the whole tail (a new replica, or a log that started over)."""
        with self._lock:
            self._lines = collections.deque(lines, maxlen=self.max_lines)
            snapshot = list(self._lines)
        if replica is not None:
            self.replica = replica
        self.send({"type": "reset", "lines": snapshot})

    def append(self, lines: Iterable[str]) -> None:
        """Add lines at the end; only these travel to the browser."""
        new = list(lines)[-self.max_lines :]
        if not new:
            return
        with self._lock:
            self._lines.extend(new)
        self.send({"type": "append", "lines": new})

    def _on_front_end_message(self, _widget, content, _buffers) -> None:
        if isinstance(content, dict) and content.get("type") == "snapshot":
            self.send({"type": "reset", "lines": self.lines})
