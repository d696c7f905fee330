"""Runtime throughput: deliveries per second under the seeded scheduler, Hypothesis rule
steps per second, and bounded-search states per second, on the example register protocol
(impl/tools/example_register.py).

    python bench/sim_throughput.py [--seconds S]

Targets (issue 2): >= 50,000 deliveries/s and >= 2,000 Hypothesis steps/s on one core. Each
figure is also given as a ratio to a baseline measured in the same run on the same machine:
a bare heapq event loop that does no protocol work (the ceiling for any Python simulator),
so figures from different machines can be compared.
"""

from __future__ import annotations

import argparse
import heapq
import sys
import time

from faultlab.sim import RELIABLE, UNRELIABLE  # noqa: E402
from faultlab.tools.example_register import RegisterMachine, build  # noqa: E402
from faultlab.tools.workload import run_workload  # noqa: E402
from hypothesis import Phase, settings  # noqa: E402
from hypothesis.stateful import run_state_machine_as_test  # noqa: E402

DELIVERIES_TARGET = 50_000
STEPS_TARGET = 2_000


def bare_event_loop(seconds: float) -> float:
    """Events/s of a heap-ordered loop calling a trivial handler: the baseline."""
    q: list[tuple[int, int, int]] = []
    sink = []
    n = seq = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(10_000):
            seq += 1
            heapq.heappush(q, (seq, seq, 0))
            t, i, _k = heapq.heappop(q)
            sink.append(i)
            sink.pop()
            n += 1
    return n / (time.perf_counter() - start)


def deliveries(profile, seconds: float, copy_messages: bool = True) -> tuple[float, int]:
    """Deliveries/s of the register with 5 concurrent clerks under the seeded scheduler."""
    delivered = 0
    seed = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        world = build(seed, clerks=5, profile=profile, record_steps=False,
                      copy_messages=copy_messages)
        run_workload(world, sorted(world.clients),
                     lambda c, k: {"op": "write", "value": f"{c}{k}"} if k % 2
                     else {"op": "read"}, 400, 600.0)
        delivered += world.counters.delivered
        seed += 1
    return delivered / (time.perf_counter() - start), seed


class _Counting(RegisterMachine):
    steps = 0

    def check_safety(self) -> None:  # counted once per rule step (and after init)
        type(self).steps += 1
        super().check_safety()


def hypothesis_steps(examples: int) -> float:
    _Counting.steps = 0
    start = time.perf_counter()
    run_state_machine_as_test(_Counting, settings=settings(
        max_examples=examples, stateful_step_count=50, deadline=None, database=None,
        derandomize=True, phases=[Phase.generate]))
    return _Counting.steps / (time.perf_counter() - start)


def search_states(seconds: float) -> float:
    """Distinct states/s of the bounded search (a World copy, a step, a fingerprint and the
    safety check per state) on the correct register."""
    from faultlab.tools.search import search

    result = search(RegisterMachine, max_depth=40, time_limit=seconds)
    return result.states / result.elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    ap.add_argument("--examples", type=int, default=300, help="Hypothesis examples")
    args = ap.parse_args()
    base = bare_event_loop(args.seconds)
    print(f"baseline  bare heapq event loop       {base:12,.0f} events/s")
    ok = True
    for name, profile, copy in (("reliable", RELIABLE, True), ("unreliable", UNRELIABLE, True),
                                ("reliable, no copy", RELIABLE, False)):
        rate, runs = deliveries(profile, args.seconds, copy)
        ok &= rate >= DELIVERIES_TARGET
        print(f"scheduler {name:27s} {rate:12,.0f} deliveries/s  ({rate / base:.3f} x baseline;"
              f" target {DELIVERIES_TARGET:,}: {'met' if rate >= DELIVERIES_TARGET else 'MISSED'})")
    steps = hypothesis_steps(args.examples)
    ok &= steps >= STEPS_TARGET
    print(f"hypothesis RegisterMachine            {steps:12,.0f} steps/s       "
          f"({steps / base:.4f} x baseline; target {STEPS_TARGET:,}: "
          f"{'met' if steps >= STEPS_TARGET else 'MISSED'})")
    states = search_states(args.seconds)
    print(f"search RegisterMachine                {states:12,.0f} states/s      "
          f"({states / base:.4f} x baseline; no target)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
