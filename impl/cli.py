"""The ``faultlab`` command line: one subcommand per job, user mistakes as one-line errors.

Each subsystem contributes its subcommands through a ``register(subparsers)`` function in
its own ``cli`` module, listed in ``COMMAND_MODULES``; a handler returns the exit code.
A user mistake raises :class:`UserError` (or argparse's own error) and ends as
``faultlab: error: ...`` on stderr with a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from faultlab.errors import ArgumentParser, UserError

__all__ = ["main", "UserError", "build_parser"]

COMMAND_MODULES = (
    "faultlab.demo",
    "faultlab.tools.cli",
    "faultlab.checker.cli",
    "faultlab.mr.cli",
    "faultlab.kv.cli",
    "faultlab.checker.tla.cli",
)

#: The module that registers each command: running one imports only its module (start-up
#: time: importing them all costs ~0.3 s, hypothesis alone 0.14 s). A command missing here,
#: and ``faultlab --help``, import every module.
COMMANDS = {
    "demo": "faultlab.demo",
    "explore": "faultlab.tools.cli", "replay": "faultlab.tools.cli",
    "search": "faultlab.tools.cli", "mutants": "faultlab.tools.cli",
    "check": "faultlab.checker.cli",
    "mr": "faultlab.mr.cli",
    "cluster": "faultlab.kv.cli", "kv": "faultlab.kv.cli", "nemesis": "faultlab.kv.cli",
    "serve": "faultlab.kv.cli",
    "spec": "faultlab.checker.tla.cli", "trace": "faultlab.checker.tla.cli",
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or only of ``command`` when ``COMMANDS`` knows it."""
    parser = ArgumentParser(
        prog="faultlab",
        description="Run distributed-systems labs on a deterministic simulated network, "
        "explore faults with Hypothesis, and audit histories for linearizability.",
        epilog="Every run prints its seed; '--seed N' replays it exactly.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)
    for name in (COMMANDS[command],) if command in COMMANDS else COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:  # an optional part that is not installed
            if e.name and name.startswith(e.name):
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv[0] if argv else None)
    try:
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        return int(args.func(args) or 0)
    except UserError as e:
        print(f"faultlab: error: {e}", file=sys.stderr)
        return e.code
    except KeyboardInterrupt:
        print("faultlab: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 141


if __name__ == "__main__":
    sys.exit(main())
