"""Command line: ``faultlab check FILE`` (via ``register``) or ``python -m faultlab.checker FILE``.

Exit codes: 0 linearizable, 1 not linearizable, 2 unknown (timed out), 3 bad input (an
empty history, with no operation, is bad input: there is nothing to check).
User mistakes print one line naming the file (and line) and the problem, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

from .errors import HistoryFormatError
from .formats import FORMATS, LoadedHistory, load_history
from .linearizability import CheckResult, Verdict, check
from .models import MODELS, Model, get_model
from .options import seconds

EXIT_OK, EXIT_ILLEGAL, EXIT_UNKNOWN, EXIT_BAD_INPUT = 0, 1, 2, 3
_SEVERITY = [EXIT_BAD_INPUT, EXIT_ILLEGAL, EXIT_UNKNOWN, EXIT_OK]

_DESCRIPTION = (
    "Check that a history is linearizable. Exit 0 linearizable, 1 not linearizable, "
    "2 unknown (timed out), 3 bad input (a missing or malformed file, or an empty history)."
)


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE", help="history file(s) to check")
    p.add_argument("--model", help=f"model name (default: from the file); one of "
                   f"{', '.join(sorted(MODELS))}")
    p.add_argument("--format", default="auto", choices=["auto", *FORMATS],
                   help="history format (default: detected from the content)")
    p.add_argument("--timeout", type=seconds(), metavar="S",
                   help="give up after S seconds of wall time for the whole command, "
                   "reading included (verdict unknown, exit 2)")
    p.add_argument("--html", metavar="OUT", help="write a self-contained HTML view to OUT")
    p.add_argument("--verbose", "-v", action="store_true",
                   help="explain failures: longest partial linearizations and what blocked them")
    p.add_argument("--no-partition", action="store_true",
                   help="check the history as a whole, ignoring the model's partitioning")
    p.add_argument("--progress", action="store_true",
                   help="report progress on stderr (operations read, partitions decided, "
                   "search nodes) twice a second; the default when stderr is a terminal")


def _exit_3_on_usage_errors(p: argparse.ArgumentParser) -> None:
    """A usage mistake is one line (as in every faultlab command) and exit 3, bad input."""
    def error(message: str) -> None:
        head = p.prog.removesuffix(" check")  # "faultlab: error: ...", as the others say
        p.exit(EXIT_BAD_INPUT, f"{head}: error: {message} (see '{p.prog} --help')\n")

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
    try:
        args = p.parse_args(argv)
    except SystemExit as e:  # a usage error (its line is printed) or --help
        return e.code if isinstance(e.code, int) else EXIT_BAD_INPUT
    return run(args)


def run(args: argparse.Namespace) -> int:
    """Check each file named in ``args``; returns the exit code (worst over the files).

    ``--timeout`` bounds the whole command's wall time, reading included: the searches get
    a soft deadline a little before it (they report what they found), and an interval timer
    interrupts whatever is still running at the deadline (a reader, a partition's set-up),
    so the command ends within a few per cent of it."""
    started = _command_started()
    if args.timeout is not None and not 0 < args.timeout < float("inf"):
        return _fail(args, None, "--timeout must be a positive number of seconds")
    if args.html and len(args.files) != 1:
        return _fail(args, None, "--html takes exactly one FILE")
    soft = hard = None
    if args.timeout is not None:
        soft = started + args.timeout * SOFT_SHARE
        hard = started + args.timeout
    codes = []
    progress = _progress(args)
    with _interrupt_at(hard):
        for k, path in enumerate(args.files):
            try:
                codes.append(_check_file(path, args, soft, progress))
            except _OutOfTime:
                if progress is not None:
                    progress.end()
                for late in args.files[k:]:
                    print(f"{late}: unknown (timed out) {_phase[0]}, --timeout {args.timeout:g}")
                    _phase[0] = "before reading"
                codes.append(EXIT_UNKNOWN)
                break
    return min(codes, key=_SEVERITY.index)


#: The searches stop at this share of ``--timeout`` (what is left is for the report).
SOFT_SHARE = 0.95
_phase = ["before reading"]  # what the command is doing, for the timeout's message


class _OutOfTime(BaseException):
    """Raised by the interval timer at the command's deadline (not an Exception: nothing
    on the way may swallow it)."""


def _command_started() -> float:
    """When this command started, as a time.monotonic() value: the process's start when it
    is young (a command run from a shell: interpreter start-up and imports count too),
    else now (``run`` called from a longer-lived program)."""
    now = time.monotonic()
    try:
        with open("/proc/self/stat") as f:
            ticks = int(f.read().rsplit(")", 1)[1].split()[19])  # field 22: start time
        with open("/proc/uptime") as f:
            age = float(f.read().split()[0]) - ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return now
    return now - age if 0 <= age < 5 else now


@contextlib.contextmanager
def _interrupt_at(deadline: float | None) -> Iterator[None]:
    """Raise ``_OutOfTime`` in this thread at ``deadline`` (main thread and SIGALRM only)."""
    if (deadline is None or not hasattr(signal, "setitimer")
            or threading.current_thread() is not threading.main_thread()):
        yield
        return

    def ring(signum: int, frame: Any) -> None:
        raise _OutOfTime

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, max(deadline - time.monotonic(), 1e-3))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _fail(args: argparse.Namespace, where: str | None, message: str) -> int:
    """One line on stderr, prefixed like argparse's own errors (``faultlab: error: ...``)."""
    prog = getattr(args, "prog", "python -m faultlab.checker")
    print(f"{prog}: error: {where}: {message}" if where else f"{prog}: error: {message}",
          file=sys.stderr)
    return EXIT_BAD_INPUT


def _progress(args: argparse.Namespace) -> Any:
    """A ``Progress`` on stderr when asked for or when stderr is a terminal, else None."""
    if not (getattr(args, "progress", False) or sys.stderr.isatty()):
        return None
    from .progress import Progress

    return Progress(sys.stderr)


def _check_file(path: str, args: argparse.Namespace, deadline: float | None,
                progress: Any = None) -> int:
    """Read, check and report one file (``deadline``: the searches', monotonic)."""
    _phase[0] = "while reading"
    if progress is not None:
        progress.path = path
    try:
        loaded = load_history(path, args.format,
                              None if progress is None else progress.reading)
    except HistoryFormatError as e:
        return _fail(args, None, str(e))
    finally:
        if progress is not None:
            progress.end()
    if not loaded.ops:  # nothing was recorded: say so rather than call it linearizable
        return _fail(args, path, "empty history: no operations to check (exit 3)")
    _phase[0] = "while checking"
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
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        result = check(loaded.ops, model, timeout=timeout, verbose=verbose,
                       partition=not args.no_partition,
                       progress=None if progress is None else progress.searching)
    except Exception as e:  # the model rejected the shape of an operation
        return _fail(args, path, f"history does not fit model {name!r}: "
                     f"{type(e).__name__}: {e}")
    finally:
        if progress is not None:
            progress.end()
    _phase[0] = "while reporting"
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
              f"{_longest_text(part, longest)} ({len(part.linearizations)} found)")
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


def _longest_text(part: Any, longest: list) -> str:
    """``2 of 3 ops``: completed operations in it, of the partition's completed ones
    (``at least`` when the explanation's budget ran out before every prefix was tried)."""
    from .explain import completed_in

    done = sum(op.ret is not None for op in part.ops)
    opened = len(part.ops) - done
    text = f"{completed_in(part, longest)} of {done} {'completed ' if opened else ''}ops"
    return text if part.longest_exact else f"at least {text}"


def _op_text(model: Model, op: Any) -> str:
    from .history import UNKNOWN

    out = UNKNOWN if op.ret is None else op.output
    end = "open" if op.ret is None else f"{op.ret:g}"
    return f"client {op.client} {model.describe_operation(op.input, out)} [{op.call:g}, {end}]"
