"""``faultlab replay FILE``: re-execute a recorded failure step by step."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from impl.errors import UserError
from impl.sim.replay import ReplayError, load_replay, replay


def register(sub: argparse._SubParsersAction) -> None:
    from impl.machines import MACHINES

    e = sub.add_parser(
        "explore",
        help="attack a system with a Hypothesis state machine; shrink and save any failure",
        description="Run a system's Hypothesis state machine: random deliveries, drops, "
        "duplicates, timer firings, crashes, restarts, partitions and client calls, with the "
        "system's safety checks after every step and its end checks after healing. A "
        "failure is shrunk by delta debugging over the World's steps "
        "and saved as a replay file. Exit 1 when a failure was found.",
        epilog="machines: " + "; ".join(f"{k}: {v[1]}" for k, v in MACHINES.items()),
    )
    e.add_argument("machine", metavar="MACHINE",
                   help="a name listed below, or module:Class of a WorldMachine")
    e.add_argument("--seed", type=int, default=None, help="seed (default: random, printed)")
    e.add_argument("--examples", type=_positive, default=200, help="examples to run (200)")
    e.add_argument("--steps", type=_positive, default=50, help="steps per example (50)")
    e.add_argument("--no-shrink", action="store_true",
                   help="keep the counterexample as found, unshrunk")
    e.set_defaults(func=run_explore)

    p = sub.add_parser(
        "replay",
        help="re-execute a failure's replay file and show that it fails the same way",
        description="Re-execute the steps recorded in a replay file (written when a "
        "Hypothesis exploration fails) on a World built with the same seed, checking the "
        "machine's invariants after every step. Exit 1 when the failure is reached again, "
        "0 when the run passes.",
    )
    p.add_argument("file", help="replay file (.faultlab/replays/*.json)")
    p.add_argument("-v", "--verbose", action="store_true", help="print every step")
    p.add_argument("--shrink", action="store_true",
                   help="first shrink the failure to a minimal list of steps (delta debugging), "
                   "write it beside FILE as NAME.min.json, then replay that")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        record = load_replay(args.file)
        if args.shrink:
            record = _shrink(record, Path(args.file))
        print(f"replaying {record['machine']} seed {record['seed']}: "
              f"{len(record['steps'])} steps")
        on_step = (lambda i, s: print(f"  {i:4d} {s}")) if args.verbose else None
        outcome = replay(record, on_step)
    except ReplayError as e:
        raise UserError(str(e), code=3) from None
    if outcome.error is None:
        print(f"passed: all {outcome.total_steps} steps and the end checks "
              "(the recorded failure did not happen)")
        return 0
    where = (f"after step {outcome.steps_applied} of {outcome.total_steps}"
             if outcome.steps_applied < outcome.total_steps else "in the end checks")
    print(f"failed {where}: {outcome.error}")
    print("same failure as recorded" if outcome.reproduced
          else f"recorded failure was: {outcome.recorded_error}")
    return 1


def _shrink(record: dict, path: Path) -> dict:
    from impl.sim.shrink import shrink

    print(f"shrinking {path} ...", flush=True)
    try:
        small = shrink(record)
    except ValueError as e:
        raise UserError(f"{path}: cannot shrink: {e}", code=1) from None
    out = path.with_name(path.stem + ".min.json")
    out.write_text(json.dumps(small, default=repr) + "\n")
    print(f"shrunk {small['shrunk_from']} exploration steps to {small['exploration_steps']}: "
          f"{out}")
    for k, text in enumerate(small["described"], 1):
        print(f"  {k:3d}. {text}")
    print("       then heal, restart crashed nodes and settle")
    return small


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {value}")
    return value


def run_explore(args: argparse.Namespace) -> int:
    import random
    import sys

    from impl.machines import MACHINES
    from impl.sim.explore import explore
    from impl.sim.replay import _machine_class

    spec = MACHINES[args.machine][0] if args.machine in MACHINES else args.machine
    if ":" not in spec:
        raise UserError(f"unknown machine {args.machine!r}: one of {', '.join(MACHINES)}, "
                        "or module:Class")
    try:
        cls = _machine_class(spec)
    except ReplayError as e:
        raise UserError(str(e)) from None
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    print(f"exploring {spec} with seed {seed} (replay with: faultlab explore {args.machine} "
          f"--seed {seed} --examples {args.examples} --steps {args.steps})", flush=True)

    def progress(r) -> None:
        if r.examples % 25 == 0 and sys.stderr.isatty():
            print(f"\r  {r.examples}/{args.examples} examples, {r.steps} steps, "
                  f"{r.elapsed:.0f}s", end="", file=sys.stderr, flush=True)

    result = explore(cls, seed=seed, examples=args.examples, steps=args.steps,
                     progress=progress)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    rate = result.steps / result.elapsed if result.elapsed else 0.0
    print(f"{result.examples} examples, {result.steps} steps in {result.elapsed:.1f}s "
          f"({rate:,.0f} steps/s)")
    if result.error is None:
        print("no failure found")
        return 0
    print(f"FAILED: {result.error.splitlines()[0]}")
    print(f"replay file: {result.replay}")
    if not args.no_shrink and result.replay is not None:
        _shrink(load_replay(result.replay), result.replay)
    return 1
