"""Progress of a long check on stderr: operations read, partitions decided, and the search
nodes of the partition being searched. Lines are throttled (one per ``every`` seconds, none
for a check quicker than that), and on a terminal each overwrites the last."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

__all__ = ["EVERY", "Progress"]

#: Seconds between two progress lines.
EVERY = 0.5


class Progress:
    """Throttled progress lines for one command; ``reading`` and ``searching`` are the
    callbacks ``load_history`` and ``check`` take."""

    def __init__(self, stream: TextIO, every: float = EVERY,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream, self.every, self.clock = stream, every, clock
        self.tty = stream.isatty()
        self.path = ""
        self.last = clock()
        self.shown = False

    def reading(self, ops: int) -> None:
        """``ops`` operations read so far."""
        self._show(f"{self.path}: {ops} ops read")

    def searching(self, decided: int, total: int, index: int | None, nodes: int) -> None:
        """``decided`` of ``total`` partitions have a verdict; partition ``index`` (None: in
        worker processes) has searched ``nodes`` nodes."""
        now = self.clock()
        if now - self.last < self.every:  # the common case, first: called at every pause
            return
        text = f"{self.path}: {decided}/{total} partitions decided"
        if index is not None:
            text += f"; partition {index}: {nodes} search nodes"
        self._show(text, now)

    def end(self) -> None:
        """Clear a terminal's progress line before the verdict is printed."""
        if self.tty and self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False

    def _show(self, text: str, now: float | None = None) -> None:
        now = self.clock() if now is None else now
        if now - self.last < self.every:
            return
        self.last = now
        self.shown = True
        self.stream.write(f"\r\x1b[K{text}" if self.tty else f"{text}\n")
        self.stream.flush()
