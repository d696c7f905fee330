"""``faultlab demo``: a short run of every system, and a table of what was explored and checked.

Each system adds one function to ``DEMOS``; it takes the seed and returns a :class:`DemoRow`.
The seed is printed first, so any row can be reproduced with ``faultlab demo --seed N``.
"""

from __future__ import annotations

import argparse
import importlib
import random
import time
from collections.abc import Callable

from faultlab.demo_row import DemoRow, format_rows

__all__ = ["DemoRow", "DEMOS", "register", "run"]


def _register_demo(seed: int) -> list[DemoRow]:
    """The runtime's example protocol: the correct register, then its seeded bug, each
    history audited by the linearizability checker."""
    from faultlab.checker.linearizability import Verdict, check
    from faultlab.checker.models import Register
    from faultlab.sim import UNRELIABLE
    from faultlab.tools.example_register import build
    from faultlab.tools.history import operations
    from faultlab.tools.workload import run_workload

    def one_run(run_seed: int, bug: bool) -> tuple:
        world = build(run_seed, clerks=3, ack_before_replicate=bug, profile=UNRELIABLE)
        rng = random.Random(run_seed)

        def next_input(client: str, k: int) -> dict:
            return ({"op": "write", "value": f"{client}-{k}"} if rng.random() < 0.5
                    else {"op": "read"})

        done = run_workload(world, sorted(world.clients), next_input, 40, 60.0)
        return world, done, check(operations(world), Register(""), timeout=10).verdict

    world, done, verdict = one_run(seed, False)
    c = world.counters
    rows = [DemoRow(
        system="register", driver="seeded scheduler, unreliable net",
        explored=f"{done} calls, {c.delivered} msgs, {c.lost} lost, {world.now:.1f}s virtual",
        checked="linearizability", verdict=_verdict_text(verdict), ok=verdict == Verdict.OK)]
    # The seeded bug shows only under some interleavings: run seeds from the given one on.
    calls = 0
    for attempt in range(1, 51):
        world, done, verdict = one_run(seed + attempt - 1, True)
        calls += done
        if verdict == Verdict.ILLEGAL:
            break
    rows.append(DemoRow(
        system="register (seeded bug)", driver="seeded scheduler, unreliable net",
        explored=f"{attempt} runs, {calls} calls", checked="linearizability",
        verdict=(f"bug caught in run {attempt} (seed {seed + attempt - 1}): not linearizable"
                 if verdict == Verdict.ILLEGAL else "bug NOT caught"),
        ok=verdict == Verdict.ILLEGAL))
    rows.append(_register_search_row(seed))
    return rows


def _register_search_row(seed: int) -> DemoRow:
    """The same seeded bug by bounded exhaustive search: the shortest failing run."""
    from faultlab.tools.example_register import BuggyRegisterMachine
    from faultlab.tools.search import search

    r = search(BuggyRegisterMachine, seed=seed, max_depth=10, save=False)
    return DemoRow(
        system="register (seeded bug)", driver="bounded search, breadth first",
        explored=f"{r.states} states, {r.transitions} steps, depth {r.depth}",
        checked="stale reads",
        verdict=(f"bug caught: shortest counterexample, {len(r.steps)} steps"
                 if r.error else "bug NOT caught"),
        ok=r.error is not None)


def _verdict_text(verdict: object) -> str:
    return {"ok": "linearizable", "illegal": "NOT linearizable",
            "unknown": "unknown (checker timed out)"}[str(verdict)]


def _lazy(module: str) -> Callable[[int], list[DemoRow]]:
    """A system's ``demo(seed)``, imported only when it runs (keeps ``--help`` fast)."""

    def run_demo(seed: int) -> list[DemoRow]:
        return importlib.import_module(module).demo(seed)

    return run_demo


DEMOS: list[tuple[str, Callable[[int], list[DemoRow]]]] = [
    ("register", _register_demo),
    ("pb", _lazy("faultlab.pb.demo")),
    ("paxos", _lazy("faultlab.paxos.demo")),
    ("mr", _lazy("faultlab.mr.demo")),
    ("raft", _lazy("faultlab.raft.demo")),
    ("kvsrv", _lazy("faultlab.kvsrv.demo")),
    ("kv", _lazy("faultlab.kv.demo")),
    ("shard", _lazy("faultlab.shard.demo")),
    ("kv-real", _lazy("faultlab.kv.demo_real")),
]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="run every system briefly and print what was explored and checked",
        description="A short run of every system faultlab has, each on the deterministic "
        "simulated network with faults, its histories and traces checked, and, last, the "
        "key/value service as real processes under a nemesis. Prints the seed; the same seed "
        "gives the same table (the real-process rows' counts aside: they run in real time).",
    )
    p.add_argument("--seed", type=int, default=None, help="seed (default: random, printed)")
    p.add_argument("--only", choices=[name for name, _ in DEMOS], action="append",
                   help="run only this system (repeatable)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    print(f"faultlab demo, seed {seed} (replay with: faultlab demo --seed {seed})\n")
    rows: list[DemoRow] = []
    for name, demo in DEMOS:
        if args.only and name not in args.only:
            continue
        started = time.perf_counter()
        print(f"running {name} ...", flush=True)
        new = demo(seed)
        if new:  # the system's wall time, once
            new[0].explored += f" ({time.perf_counter() - started:.1f}s wall for {name})"
        rows.extend(new)
    _print_table(rows)
    bad = [r for r in rows if not r.ok]
    print(f"\n{len(rows) - len(bad)} of {len(rows)} runs as expected" +
          (f"; unexpected: {', '.join(r.system for r in bad)}" if bad else ""))
    return 1 if bad else 0


def _print_table(rows: list[DemoRow]) -> None:
    print()
    for line in format_rows(rows):
        print(line)
