"""``faultlab spec check raft|paxos`` and ``faultlab trace check raft|paxos TRACE``.

Registered by ``impl/cli.py`` (``COMMAND_MODULES``) but independent of ``impl``: failures are
:class:`TLAError`, printed here as one line with its exit code (2: bad input, 3: TLC
unavailable, 4: time limit; 1: a violation or a non-conforming trace).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from faultlab.checker.options import seconds, whole
from faultlab.checker.tla.errors import TLAError
from faultlab.checker.tla.runner import run_tlc
from faultlab.checker.tla.trace import SPEC_DIR, check_trace

__all__ = ["register", "spec_check", "MODELS"]

MODELS = {"raft": "MCraft", "paxos": "MCpaxos"}


def _guard(func):  # noqa: ANN001, ANN202 - a thin wrapper of handlers
    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except TLAError as e:
            print(f"faultlab: error: {e}", file=sys.stderr)
            return e.code
    return run


def spec_check(system: str, config: str | Path | None = None, *, workers: int = 2,
               timeout: float = 120.0):  # noqa: ANN201 - TLCResult
    """Model-check ``spec/MC<system>.tla`` with its default or the given ``.cfg``."""
    if system not in MODELS:
        raise TLAError(f"unknown spec {system!r}: one of {', '.join(MODELS)}")
    module = MODELS[system]
    cfg = Path(config) if config else SPEC_DIR / f"{module}.cfg"
    if not cfg.is_file():
        alt = SPEC_DIR / str(config)
        if not alt.is_file():
            raise TLAError(f"no such config {config} (the configs are spec/MC*.cfg)")
        cfg = alt
    try:
        text = cfg.read_bytes().decode("utf-8")
    except OSError as e:
        raise TLAError(f"cannot read config {cfg}: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise TLAError(f"config {cfg} is not a text file (a TLC .cfg is UTF-8 text)") from None
    if "\x00" in text:
        raise TLAError(f"config {cfg} is not a text file (it holds NUL bytes)")
    files = {p.name: p for p in SPEC_DIR.glob("*.tla")}
    return run_tlc(module, files, text, workers=workers, timeout=timeout)


def _spec_check(args: argparse.Namespace) -> int:
    res = spec_check(args.system, args.config, workers=args.workers, timeout=args.timeout)
    if res.errors:
        raise TLAError(f"TLC failed ({res.tlc_label}): " + "; ".join(res.errors))
    print(f"{res.tlc_label}, {res.jar}")
    print(f"{args.system}: {res.summary()}")
    if res.violated:
        for st in res.counterexample:
            print(f"--- state {st.index}: {st.action}")
            print(st.raw)
        return 1
    return 0


def _trace_check(args: argparse.Namespace) -> int:
    verdict = check_trace(args.system, args.trace, timeout=args.timeout, workers=args.workers)
    if verdict.tlc is not None:
        print(f"{verdict.tlc.tlc_label}, {verdict.tlc.jar}")
    print(verdict.report())
    return 0 if verdict.ok else 1


def _help(parser: argparse.ArgumentParser) -> int:
    """A command given without its action: its own help, and the usage-error exit code."""
    parser.print_help()
    return 2


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``spec`` and ``trace`` to the faultlab command line."""
    spec = subparsers.add_parser("spec", help="model-check the TLA+ specs with TLC")
    ssub = spec.add_subparsers(dest="spec_command", metavar="ACTION")
    spec.set_defaults(func=lambda _args: _help(spec))
    check = ssub.add_parser("check", help="run TLC on a small model of spec/<system>.tla")
    check.add_argument("system", choices=sorted(MODELS))
    check.add_argument("--config", help="a .cfg file (default spec/MC<system>.cfg)")
    check.add_argument("--timeout", type=seconds(), default=300.0, help="seconds (default 300)")
    check.add_argument("--workers", type=whole(1, 256), default=2, help="TLC workers (default 2)")
    check.set_defaults(func=_guard(_spec_check))

    trace = subparsers.add_parser("trace", help="check a World trace against a TLA+ spec")
    tsub = trace.add_subparsers(dest="trace_command", metavar="ACTION")
    trace.set_defaults(func=lambda _args: _help(trace))
    tcheck = tsub.add_parser("check", help="does some behaviour of the spec match TRACE?")
    tcheck.add_argument("system", choices=sorted(MODELS))
    tcheck.add_argument("trace", help="a JSON-lines trace (impl/tools/trace.py)")
    tcheck.add_argument("--timeout", type=seconds(), default=300.0, help="seconds (default 300)")
    tcheck.add_argument("--workers", type=whole(1, 256), default=1,
                        help="TLC workers (default 1)")
    tcheck.set_defaults(func=_guard(_trace_check))
