"""Errors of the TLA+ tools, shown to a user as one line (``checker/tla/cli.py``)."""

from __future__ import annotations


class TLAError(Exception):
    """A model check or trace check could not run (bad input, TLC failure, timeout).

    ``code`` is the exit code the command line uses for it.
    """

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


class TLCUnavailable(TLAError):
    """No tla2tools.jar or no java: TLC-based checks cannot run (tests skip with the reason)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code=3)
