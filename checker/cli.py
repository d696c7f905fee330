"""Command line: ``faultlab check FILE`` (via ``register``) or ``python -m faultlab.checker FILE``.

Exit codes: 0 linearizable, 1 not linearizable, 2 unknown (timed out), 3 bad input.
User mistakes print one line naming the file (and line) and the problem, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from .errors import HistoryFormatError
from .formats import FORMATS, LoadedHistory, load_history
from .linearizability import CheckResult, Verdict, check
from .models import MODELS, Model, get_model

EXIT_OK, EXIT_ILLEGAL, EXIT_UNKNOWN, EXIT_BAD_INPUT = 0, 1, 2, 3
_SEVERITY = [EXIT_BAD_INPUT, EXIT_ILLEGAL, EXIT_UNKNOWN, EXIT_OK]

_DESCRIPTION = (
    "Check that a history is linearizable. Exit 0 linearizable, 1 not linearizable, "
    "2 unknown (timed out), 3 bad input."
)


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE", help="history file(s) to check")
    p.add_argument("--model", help=f"model name (default: from the file); one of "
                   f"{', '.join(sorted(MODELS))}")
    p.add_argument("--format", default="auto", choices=["auto", *FORMATS],
                   help="history format (default: detected from the content)")
    p.add_argument("--timeout", type=float, metavar="S",
                   help="give up after S seconds per file (verdict unknown, exit 2)")
    p.add_argument("--html", metavar="OUT", help="write a self-contained HTML view to OUT")
    p.add_argument("--verbose", "-v", action="store_true",
                   help="explain failures: longest partial linearizations and what blocked them")
    p.add_argument("--no-partition", action="store_true",
                   help="check the history as a whole, ignoring the model's partitioning")


def _exit_3_on_usage_errors(p: argparse.ArgumentParser) -> None:
    def error(message: str) -> None:
        p.print_usage(sys.stderr)
        p.exit(EXIT_BAD_INPUT, f"{p.prog}: error: {message}\n")

    p.error = error  # type: ignore[method-assign]


def register(subparsers: Any) -> None:
    """Add the ``check`` subcommand to an argparse subparsers object."""
    p = subparsers.add_parser("check", help="check a history for linearizability",
                              description=_DESCRIPTION)
    _add_arguments(p)
    _exit_3_on_usage_errors(p)
    p.set_defaults(func=run, prog="faultlab")


def main(argv: list[str] | None = None) -> int:
    """Standalone entry point: ``python -m faultlab.checker FILE [options]``."""
    p = argparse.ArgumentParser(prog="python -m faultlab.checker", description=_DESCRIPTION)
    _add_arguments(p)
    _exit_3_on_usage_errors(p)
    args = p.parse_args(argv)
    return run(args)


def run(args: argparse.Namespace) -> int:
    """Check each file named in ``args``; returns the exit code (worst over the files)."""
    if args.timeout is not None and not args.timeout > 0:
        return _fail(args, None, "--timeout must be a positive number of seconds")
    if args.html and len(args.files) != 1:
        return _fail(args, None, "--html takes exactly one FILE")
    codes = [_check_file(path, args) for path in args.files]
    return min(codes, key=_SEVERITY.index)


def _fail(args: argparse.Namespace, where: str | None, message: str) -> int:
    """One line on stderr, prefixed like argparse's own errors (``faultlab: error: ...``)."""
    prog = getattr(args, "prog", "python -m faultlab.checker")
    print(f"{prog}: error: {where}: {message}" if where else f"{prog}: error: {message}",
          file=sys.stderr)
    return EXIT_BAD_INPUT


def _check_file(path: str, args: argparse.Namespace) -> int:
    try:
        loaded = load_history(path, args.format)
    except HistoryFormatError as e:
        return _fail(args, None, str(e))
    name = args.model or loaded.model
    if name is None:
        return _fail(args, path, f"no model given and none recorded in the file; pass --model "
                     f"({', '.join(sorted(MODELS))})")
    try:
        model = get_model(name)
    except KeyError as e:
        return _fail(args, path, str(e.args[0]))
    verbose = bool(args.verbose or args.html)
    try:
        result = check(loaded.ops, model, timeout=args.timeout, verbose=verbose,
                       partition=not args.no_partition)
    except Exception as e:  # the model rejected the shape of an operation
        return _fail(args, path, f"history does not fit model {name!r}: "
                     f"{type(e).__name__}: {e}")
    _report(path, loaded, name, model, result, args.verbose)
    if args.html:
        from .visualize import write_html

        try:
            write_html(result, model, args.html, title=os.path.basename(path))
        except OSError as e:
            return _fail(args, args.html, f"cannot write: {e.strerror or e}")
        print(f"{path}: view written to {args.html}")
    return {Verdict.OK: EXIT_OK, Verdict.ILLEGAL: EXIT_ILLEGAL,
            Verdict.UNKNOWN: EXIT_UNKNOWN}[result.verdict]


def _report(path: str, loaded: LoadedHistory, name: str, model: Model, result: CheckResult,
            verbose: bool) -> None:
    words = {Verdict.OK: "linearizable", Verdict.ILLEGAL: "NOT linearizable",
             Verdict.UNKNOWN: "unknown (timed out)"}[result.verdict]
    parts = f", {result.n_partitions} partitions" if result.n_partitions > 1 else ""
    print(f"{path}: {words} ({result.n_ops} ops{parts}, model {name}, format {loaded.format}, "
          f"{result.elapsed:.3f} s)")
    if not verbose:
        return
    if len(result.partitions) < result.n_partitions:
        print(f"  ({result.n_partitions - len(result.partitions)} partitions not finished: the "
              "search stops at the first failing one)")
    for part in result.partitions:
        if part.verdict is Verdict.OK:
            continue
        longest = part.linearizations[0] if part.linearizations else []
        print(f"  partition {part.index}: {part.verdict}; longest partial linearization: "
              f"{len(longest)} of {len(part.ops)} ops ({len(part.linearizations)} found)")
        if part.components > 1:
            print(f"  (rule 8 split it into {part.components} independent groups; these "
                  f"{len(part.ops)} ops fail even with every other operation open)")
        for idx, state in longest[-5:]:
            op = part.ops[idx]
            print(f"    ... {_op_text(model, op)} -> state {model.describe_state(state)}")
        if part.blocking is not None:
            op = part.ops[part.blocking]
            print(f"  no linearization gets past t={part.fail_time:g}, the return of "
                  f"{_op_text(model, op)}")
        for idx in part.stuck[:10]:
            print(f"    cannot be linearized from there: {_op_text(model, part.ops[idx])}")


def _op_text(model: Model, op: Any) -> str:
    from .history import UNKNOWN

    out = UNKNOWN if op.ret is None else op.output
    end = "open" if op.ret is None else f"{op.ret:g}"
    return f"client {op.client} {model.describe_operation(op.input, out)} [{op.call:g}, {end}]"
