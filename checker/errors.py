"""Errors raised for bad user input, so front ends can print one line instead of a traceback."""

from __future__ import annotations


class HistoryFormatError(Exception):
    """A history file (or line stream) could not be read.

    Carries the file name and the 1-based line number so a user can go straight to the
    offending spot; ``line`` is None when the problem is not tied to one line.
    """

    def __init__(self, file: str | None, line: int | None, message: str) -> None:
        self.file = file
        self.line = line
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.file or "<history>"
        if self.line is not None:
            where = f"{where}:{self.line}"
        return f"{where}: {self.message}"

    def __reduce__(self):  # keep picklable despite the custom __init__
        return (type(self), (self.file, self.line, self.message))
