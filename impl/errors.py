"""Errors that reach the user as one line (see impl/cli.py)."""


class UserError(Exception):
    """A mistake in the command line or its input files; exit code in ``code``."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code
