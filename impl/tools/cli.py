"""``faultlab explore``, ``faultlab search`` and ``faultlab replay``: find failures, by
sampling or exhaustively, and re-execute them step by step."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from faultlab.checker.options import seconds, whole
from faultlab.errors import UserError
from faultlab.tools.exampledb import DEFAULT_DATABASE
from faultlab.tools.replay import ReplayError, load_replay, replay


def _machine_command(sub: argparse._SubParsersAction, name: str, *, help: str,
                     description: str) -> argparse.ArgumentParser:
    """A subcommand whose first argument names a machine; the known ones are listed."""
    from faultlab.tools.machines import MACHINES

    cmd = sub.add_parser(name, help=help, description=description, epilog="machines: "
                         + "; ".join(f"{k}: {v[1]}" for k, v in MACHINES.items()))
    cmd.add_argument("machine", metavar="MACHINE",
                     help="a name listed below, or module:Class of a WorldMachine")
    return cmd


def shard(text: str) -> tuple[int, int]:
    """``I/N`` with 1 <= I <= N, for ``--shard``."""
    i, slash, n = text.partition("/")
    if not (slash and i.isdigit() and n.isdigit() and 1 <= int(i) <= int(n)):
        raise argparse.ArgumentTypeError(f"not I/N with 1 <= I <= N: {text!r}")
    return int(i), int(n)


def register(sub: argparse._SubParsersAction) -> None:
    e = _machine_command(
        sub, "explore",
        help="attack a system with a Hypothesis state machine; shrink and save any failure",
        description="Run a system's Hypothesis state machine: random deliveries, drops, "
        "duplicates, timer firings, crashes, restarts, partitions and client calls, with the "
        "system's safety checks after every step and its end checks after healing. A "
        "failure is shrunk by delta debugging over the World's steps "
        "and saved as a replay file. Exit 1 when a failure was found.",
    )
    e.add_argument("--seed", type=int, default=None, help="seed (default: random, printed)")
    e.add_argument("--examples", type=whole(1), default=None,
                   help="examples to run in all, split over the workers (200; no bound with "
                   "--time)")
    e.add_argument("--steps", type=whole(1), default=50, help="steps per example (50)")
    e.add_argument("--workers", type=whole(1), default=1,
                   help="processes exploring at once, each with its own seed derived from "
                   "--seed; the first failure stops them all (1)")
    e.add_argument("--time", type=seconds(), default=None, metavar="SECONDS",
                   help="stop after this many seconds of wall-clock time")
    e.add_argument("--shard", type=shard, default=(1, 1), metavar="I/N",
                   help="this is shard I of N (1 <= I <= N): jobs given the same --seed "
                   "explore disjoint seeds (for CI matrix jobs)")
    e.add_argument("--database", default=None, metavar="DIR|redis://HOST:PORT",
                   help="Hypothesis example database: saved counterexamples are replayed "
                   "first and new ones saved; a folder, a Redis server shared by campaigns on "
                   f"several machines (needs faultlab[redis]), or none ({DEFAULT_DATABASE}, "
                   "or $FAULTLAB_REPLAY_DIR/examples when that is set)")
    e.add_argument("--no-shrink", action="store_true",
                   help="keep the counterexample as found, unshrunk")
    e.set_defaults(func=run_explore)

    b = _machine_command(
        sub, "search",
        help="bounded exhaustive search: every interleaving of a system's steps up to a depth",
        description="Breadth-first search over a system's World: from the machine's start, "
        "every enabled step (deliver or fire each message and timer; with --faults also "
        "drop, duplicate, crash, restart, isolate, heal) and each clerk's next call from the "
        "machine's search workload, with its safety checks in every new state. Equal states "
        "(World fingerprint and history shape) are explored once. The first violation found "
        "has the fewest steps possible; it is saved as a replay file. Exit 1 on a "
        "violation, 0 when none exists within the bounds.",
    )
    b.add_argument("--seed", type=int, default=0, help="seed of the World (0)")
    b.add_argument("--depth", type=whole(1), default=12, help="maximum steps (12)")
    b.add_argument("--max-states", type=whole(1), default=200_000,
                   help="stop after this many distinct states (200000)")
    b.add_argument("--time-limit", type=seconds(), default=60.0,
                   help="stop after this many seconds (60)")
    b.add_argument("--faults", default="",
                   help="comma-separated fault kinds to branch on: drop, duplicate, crash, "
                   "partition (default: none, message and timer orders only)")
    b.set_defaults(func=run_search)

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
    p.add_argument("--html", metavar="OUT",
                   help="also write a space-time diagram of the replayed run (messages, "
                   "timers, crashes, calls, the failure) as a self-contained HTML page")
    p.add_argument("--shrink", action="store_true",
                   help="first shrink the failure to a minimal list of steps (delta debugging), "
                   "write it beside FILE as NAME.min.json, then replay that")
    p.add_argument("--allow-module", action="append", default=[], metavar="MODULE",
                   help="also run a machine from MODULE (a replay file may name only "
                   "faultlab's own machines otherwise; repeat for several)")
    p.set_defaults(func=run)

    m = sub.add_parser(
        "mutants", help="explore every seeded bug with one budget; print the mutation score",
        description="A mutation campaign over the project's seeded bugs (every machine "
        "registered as SYSTEM-bug-NAME): each is explored with the same seed and budget, "
        "what it finds is shrunk, and a table gives per bug caught or ESCAPED, examples and "
        "seconds to the first failure and the counterexample's steps before and after "
        "shrinking, then the score. Replay files go under --out. Exit 0 when every bug was "
        "caught, 1 otherwise.")
    m.add_argument("systems", nargs="*", metavar="SYSTEM",
                   help="only these systems' bugs (raft, paxos, pb, kv, shard, register), or "
                   "these bug machines by name")
    m.add_argument("--seed", type=int, default=1)
    m.add_argument("--examples", type=whole(1), default=300,
                   help="examples per bug (default 300)")
    m.add_argument("--steps", type=whole(1), default=50,
                   help="steps per example (default 50)")
    m.add_argument("--no-shrink", action="store_true", help="do not shrink what is found")
    m.add_argument("--out", default=".faultlab/mutants", metavar="DIR",
                   help="where the replay files go (default .faultlab/mutants)")
    m.set_defaults(func=run_mutants)


def run_mutants(args: argparse.Namespace) -> int:
    from faultlab.tools.mutants import bug_machines, campaign, format_report

    names = bug_machines(args.systems)
    if not names:
        known = sorted({n.split("-bug-")[0] for n in bug_machines()})
        raise UserError(f"no seeded bugs for {' '.join(args.systems)} (systems: "
                        f"{', '.join(known)})")
    budget = f"{args.examples} examples of {args.steps} steps, seed {args.seed}"
    print(f"mutation campaign: {len(names)} seeded bugs, {budget}", flush=True)

    def tell(r) -> None:
        print(f"  {r.name}: {'caught' if r.caught else 'ESCAPED'} after {r.examples} examples "
              f"({r.seconds:.1f} s)", flush=True)

    results = campaign(names, seed=args.seed, examples=args.examples, steps=args.steps,
                       replays=Path(args.out), shrink=not args.no_shrink, progress=tell)
    print()
    for line in format_report(results, budget):
        print(line)
    return 0 if all(r.caught for r in results) else 1


def run(args: argparse.Namespace) -> int:
    try:
        record = load_replay(args.file, allow_modules=args.allow_module)
        if args.shrink:
            record = _shrink(record, Path(args.file))
        print(f"replaying {record['machine']} seed {record['seed']}: "
              f"{len(record['steps'])} steps")
        on_step = (lambda i, _s, text: print(f"  {i:4d}. {text}")) if args.verbose else None
        outcome = replay(record, on_step, log_events=bool(args.html))
    except ReplayError as e:
        raise UserError(str(e), code=3) from None
    if args.html:
        _write_diagram(args.html, record, outcome)
    if outcome.error is None:
        print(f"passed: all {outcome.total_steps} steps and the end checks "
              "(the recorded failure did not happen)")
        return 0
    where = ("in the end checks" if outcome.in_end_checks
             else f"after step {outcome.steps_applied} of {outcome.total_steps}")
    print(f"failed {where}: {outcome.error}")
    print("same failure as recorded" if outcome.reproduced
          else f"recorded failure was: {outcome.recorded_error}")
    return 1


def _machine_from_name(name: str) -> type:
    from faultlab.tools.machines import MACHINES
    from faultlab.tools.replay import machine_class

    spec = MACHINES[name][0] if name in MACHINES else name
    if ":" not in spec:
        raise UserError(f"unknown machine {name!r}: one of {', '.join(MACHINES)}, "
                        "or module:Class")
    try:
        return machine_class(spec)
    except ReplayError as e:
        raise UserError(str(e)) from None


def run_search(args: argparse.Namespace) -> int:
    from faultlab.tools.explore import FAULTS
    from faultlab.tools.search import search

    cls = _machine_from_name(args.machine)
    faults = {f.strip() for f in args.faults.split(",") if f.strip()}
    unknown = faults - set(FAULTS)
    if unknown:
        raise UserError(f"unknown fault kind {sorted(unknown)[0]!r}: choose from "
                        f"{', '.join(FAULTS)}")
    print(f"searching {cls.__module__}:{cls.__qualname__}, seed {args.seed}, faults "
          f"{', '.join(sorted(faults)) or 'none'}, up to {args.depth} steps", flush=True)

    def progress(r, frontier: int, done: bool) -> None:
        if done:
            print(f"  depth {r.depth:3d}: {r.states:,} states, {frontier:,} new at this depth, "
                  f"{r.elapsed:.1f}s", flush=True)
        else:
            print(f"  depth {r.depth + 1:3d} running: {r.states:,} states, {frontier:,} of the "
                  f"previous depth's states expanded, {r.elapsed:.1f}s", flush=True)

    r = search(cls, seed=args.seed, faults=frozenset(faults), max_depth=args.depth,
               max_states=args.max_states, time_limit=args.time_limit, progress=progress)
    rate = r.states / r.elapsed if r.elapsed else 0.0
    print(f"{r.states:,} distinct states, {r.transitions:,} steps tried in {r.elapsed:.1f}s "
          f"({rate:,.0f} states/s)")
    if r.error is None:
        if r.complete:
            print(f"no violation: every reachable state was checked (depth {r.depth})")
        else:
            print(f"no violation within {r.depth} steps (stopped by the "
                  f"{r.stopped or 'depth'} limit; the search is not complete)")
        return 0
    from faultlab.tools.shrink import describe_steps

    print(f"VIOLATION after {len(r.steps)} steps (no shorter run fails): {r.error}")
    for k, text in enumerate(describe_steps(cls, args.seed, r.steps), 1):
        print(f"  {k:3d}. {text}")
    print(f"replay file: {r.replay}")
    return 1


def _write_diagram(out: str, record: dict, outcome) -> None:
    from faultlab.tools.diagram import write_diagram

    try:
        path = write_diagram(outcome.world, out, failure=outcome.error,
                             title=f"{record['machine']} seed {record['seed']}")
    except OSError as e:
        raise UserError(f"cannot write {out}: {e.strerror}") from None
    print(f"diagram: {path}")


def _shrink(record: dict, path: Path) -> dict:
    from faultlab.tools.shrink import shrink

    print(f"shrinking {path} ...", flush=True)
    try:
        small = shrink(record)
    except ReplayError as e:
        raise UserError(f"{path}: cannot shrink: {e}", code=3) from None
    except ValueError as e:
        raise UserError(f"{path}: cannot shrink: {e}", code=1) from None
    out = path.with_name(path.stem + ".min.json")
    try:
        out.write_text(json.dumps(small, default=repr) + "\n")
    except OSError as e:
        raise UserError(f"cannot write {out}: {e.strerror}") from None
    print(f"shrunk {small['shrunk_from']} exploration steps to {small['exploration_steps']}: "
          f"{out}")
    for k, text in enumerate(small["described"], 1):
        print(f"  {k:3d}. {text}")
    print("       then heal, restart crashed nodes and settle")
    return small


def run_explore(args: argparse.Namespace) -> int:
    import random
    import sys

    from faultlab.tools.campaign import run_campaign
    from faultlab.tools.exampledb import check_database, default_database

    cls = _machine_from_name(args.machine)
    spec = f"{cls.__module__}:{cls.__qualname__}"
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    examples = args.examples if args.examples is not None or args.time else 200
    database = args.database if args.database is not None else default_database()
    check_database(database)
    again = f"faultlab explore {args.machine} --seed {seed}"
    again += f" --examples {examples}" if examples is not None else ""
    again += f" --steps {args.steps}"
    again += f" --workers {args.workers}" if args.workers > 1 else ""
    again += f" --time {args.time:g}" if args.time else ""
    again += f" --shard {args.shard[0]}/{args.shard[1]}" if args.shard != (1, 1) else ""
    print(f"exploring {spec} with seed {seed} (replay with: {again})", flush=True)
    tty = sys.stderr.isatty()

    def progress(c) -> None:
        if tty:
            rate = c.steps / c.elapsed if c.elapsed else 0.0
            print(f"\r  {c.examples:,} examples, {rate:,.0f} steps/s, {c.failures} failures, "
                  f"{c.elapsed:.0f}s", end="", file=sys.stderr, flush=True)

    c = run_campaign(spec, seed=seed, workers=args.workers, examples=examples,
                     time_limit=args.time, steps=args.steps, shard=args.shard,
                     database=database, progress=progress)
    if tty:
        print(file=sys.stderr)
    rate = c.steps / c.elapsed if c.elapsed else 0.0
    on = f" on {c.workers} workers" if c.workers > 1 else ""
    print(f"{c.examples} examples, {c.steps} steps in {c.elapsed:.1f}s ({rate:,.0f} steps/s)"
          f"{on}")
    if c.error is None:
        print("stopped by Ctrl-C: no failure found so far" if c.interrupted
              else "no failure found")
        return 130 if c.interrupted else 0
    print(f"FAILED: {c.error.splitlines()[0]}")
    if c.workers > 1 and c.failed_seed is not None:
        print(f"found by the worker with seed {c.failed_seed}")
    print(f"replay file: {c.replay}")
    if not args.no_shrink and c.replay is not None:
        _shrink(load_replay(c.replay, allow_modules=[cls.__module__]), c.replay)
    return 1
