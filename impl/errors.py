"""Errors that reach the user as one line (see impl/cli.py), and the parser that makes them.

Every ``faultlab`` entry point (``faultlab`` itself, ``python -m faultlab.mr.cli``) builds its
parser from :class:`ArgumentParser`, so a usage mistake ends as the same one-line error as any
other :class:`UserError`, never argparse's usage block and exit 2 from deep inside a parse.
"""

from __future__ import annotations

import argparse
from typing import NoReturn

__all__ = ["UserError", "ArgumentParser"]


class UserError(Exception):
    """A mistake in the command line or its input files; exit code in ``code``."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


class ArgumentParser(argparse.ArgumentParser):
    """An argparse parser whose usage errors raise :class:`UserError` (caught by ``main``).

    Pass it as ``parser_class`` to ``add_subparsers`` so subcommands report alike.
    """

    def error(self, message: str) -> NoReturn:
        raise UserError(f"{message} (see '{self.prog} --help')")
