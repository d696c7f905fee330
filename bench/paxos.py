"""Paxos figures: agreements per wall second under the seeded scheduler, RPCs per agreement
(the lab's limits: 9 serial, 45 contended), retained memory before and after Done, and
Hypothesis steps per second of the Paxos state machine.

    python bench/paxos.py [--agreements N] [--examples N]
"""

from __future__ import annotations

import argparse
import time

from faultlab.paxos.harness import Tester  # noqa: E402
from faultlab.paxos.machine import PaxosMachine  # noqa: E402
from hypothesis import HealthCheck, Phase, settings  # noqa: E402
from hypothesis.stateful import run_state_machine_as_test  # noqa: E402


def agreements(n: int, *, contended: bool, unreliable: bool) -> tuple[float, float, float]:
    """(agreements per wall second, RPCs received per agreement, virtual s per agreement)."""
    t = Tester(3, 1, unreliable=unreliable)
    start = time.perf_counter()
    for seq in range(n):
        for i in range(3 if contended else 1):
            t.start(i, seq, seq * 10 + i)
        t.waitn(seq, 3)
    wall = time.perf_counter() - start
    return n / wall, t.rpc_total() / n, t.world.now / n


def memory() -> tuple[int, int]:
    t = Tester(3, 2)
    for seq in range(10):
        t.start(0, seq, "x" * 100_000)
        t.waitn(seq, 3)
    before = t.retained_total()
    for i in range(3):
        t.done(i, 9)
    for i in range(3):
        t.start(i, 10 + i, "z")
    t.sleep(2.0)
    return before, t.retained_total()


class CountingMachine(PaxosMachine):
    steps = 0

    def check_safety(self) -> None:
        type(self).steps += 1
        super().check_safety()


def machine_steps(examples: int) -> float:
    start = time.perf_counter()
    run_state_machine_as_test(CountingMachine, settings=settings(
        max_examples=examples, stateful_step_count=50, derandomize=True, database=None,
        deadline=None, phases=[Phase.generate], suppress_health_check=list(HealthCheck)))
    return CountingMachine.steps / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agreements", type=int, default=300)
    ap.add_argument("--examples", type=int, default=100)
    args = ap.parse_args()
    for contended in (False, True):
        for unreliable in (False, True):
            rate, rpcs, virtual = agreements(args.agreements, contended=contended,
                                             unreliable=unreliable)
            print(f"{'contended' if contended else 'serial':9} "
                  f"{'unreliable' if unreliable else 'reliable':10} "
                  f"{rate:8.0f} agreements/s  {rpcs:5.1f} RPCs/agreement  "
                  f"{virtual * 1000:6.1f} ms virtual/agreement")
    before, after = memory()
    print(f"retained bytes, 10 x 100 kB instances on 3 peers: {before} before Done, "
          f"{after} after ({after / before:.2%})")
    print(f"Hypothesis machine: {machine_steps(args.examples):.0f} checked steps/s")


if __name__ == "__main__":
    main()
