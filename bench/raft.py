"""Raft throughput in simulation: committed entries per wall second, Hypothesis steps/s.

Run: ``python bench/raft.py [--seconds N]``. Prints one line per figure:

* closed loop: 3 and 5 servers on the reliable network, one client that proposes the next
  command as soon as the previous one is applied everywhere (latency-bound);
* pipelined: a batch of proposals every 10 ms of virtual time (throughput-bound), also on
  the unreliable network;
* the safety monitor's cost (the same pipelined run, checked after every World step);
* the Hypothesis machine: rules (steps) and World steps per wall second, 3 and 5 servers.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time

from faultlab.raft.checks import Applier, SafetyMonitor  # noqa: E402
from faultlab.raft.machine import RaftMachine, RaftMachine5  # noqa: E402
from faultlab.raft.raft import LEADER  # noqa: E402
from faultlab.raft.server import build_cluster, server_names  # noqa: E402
from faultlab.sim.network import RELIABLE, UNRELIABLE  # noqa: E402
from hypothesis import HealthCheck, Phase, settings  # noqa: E402
from hypothesis.stateful import run_state_machine_as_test  # noqa: E402


def _cluster(n: int, unreliable: bool, monitor: bool):
    applier = Applier(server_names(n))
    profile = dataclasses.replace(UNRELIABLE if unreliable else RELIABLE,
                                  max_unreachable_report_ms=7000)
    world = build_cluster(1, n, profile, on_apply=applier.apply, record_steps=False)
    if monitor:
        SafetyMonitor(world, applier)
    world.run_until(lambda: any(x.raft.role == LEADER for x in world.nodes.values()), 5)
    return world, applier


def _leader(world) -> str:
    return next(s for s, x in world.nodes.items() if x.raft.role == LEADER)


def closed_loop(n: int, seconds: float) -> tuple[float, float, int]:
    world, applier = _cluster(n, False, False)
    started, v0, k = time.perf_counter(), world.now, 0
    while time.perf_counter() - started < seconds:
        index, _, ok = world.nodes[_leader(world)].raft.start(k)
        if ok:
            world.run_until(lambda index=index: applier.n_committed(index)[0] == n, 2)
        k += 1
    wall = time.perf_counter() - started
    return applier.max_index / wall, applier.max_index / (world.now - v0), applier.max_index


def pipelined(n: int, seconds: float, unreliable: bool, monitor: bool,
              batch: int = 10) -> tuple[float, float, int]:
    world, applier = _cluster(n, unreliable, monitor)
    started, v0, k = time.perf_counter(), world.now, 0
    while time.perf_counter() - started < seconds:
        leader = _leader(world) if any(
            x.raft.role == LEADER for x in world.nodes.values()) else None
        if leader is not None:
            for _ in range(batch):
                world.nodes[leader].raft.start(k)
                k += 1
        world.run_for(0.01)
    world.run_for(1)
    wall = time.perf_counter() - started
    done = min(len(log) for log in applier.logs.values())
    return done / wall, done / (world.now - v0), done


def machine_rate(machine, examples: int) -> tuple[float, float, int]:
    counts = {"rules": 0, "world": 0}

    class Counting(machine):
        def check_safety(self):
            counts["rules"] += 1
            super().check_safety()

        def teardown(self):
            super().teardown()
            counts["world"] += len(self.world.steps)

    Counting.__name__ = machine.__name__
    s = settings(max_examples=examples, stateful_step_count=50, derandomize=True,
                 database=None, deadline=None, phases=[Phase.generate],
                 suppress_health_check=list(HealthCheck))
    started = time.perf_counter()
    run_state_machine_as_test(Counting, settings=s)
    wall = time.perf_counter() - started
    return counts["rules"] / wall, counts["world"] / wall, counts["rules"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=3.0, help="wall seconds per figure")
    p.add_argument("--examples", type=int, default=100, help="Hypothesis examples")
    args = p.parse_args()
    t = args.seconds
    print(f"Raft in simulation ({t:.0f} s of wall time per figure, Python "
          f"{sys.version.split()[0]})")
    for n in (3, 5):
        rate, vrate, total = closed_loop(n, t)
        print(f"  closed loop, {n} servers, reliable:        {rate:8.0f} entries/s wall "
              f"({vrate:7.0f}/s virtual, {total} entries)")
    for n, unreliable, monitor in ((3, False, False), (5, False, False), (5, True, False),
                                   (5, False, True)):
        rate, vrate, total = pipelined(n, t, unreliable, monitor)
        label = (f"pipelined, {n} servers, {'unreliable' if unreliable else 'reliable'}"
                 f"{', safety monitor' if monitor else ''}:")
        print(f"  {label:42s}{rate:8.0f} entries/s wall ({vrate:7.0f}/s virtual, "
              f"{total} entries)")
    for machine in (RaftMachine, RaftMachine5):
        rules, world_steps, total = machine_rate(machine, args.examples)
        print(f"  Hypothesis machine, {machine.n_servers} servers:"
              f"            {rules:8.0f} rules/s ({world_steps:.0f} World steps/s, "
              f"{total} rules in {args.examples} examples)")


if __name__ == "__main__":
    main()
