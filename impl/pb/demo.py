"""``faultlab demo`` rows for the primary/backup service.

1. The seeded scheduler on the 2015 unreliable network: three clerks run Get/Put/Append on
   three keys while a server is killed and restarted every round; the history is checked
   with the checker's kv model.
2. The same run with the seeded bug "primary replies before the backup acknowledged": the
   backup-complete invariant, checked after every step, catches it.
"""

from __future__ import annotations

import random

from faultlab.checker.linearizability import Verdict, check
from faultlab.demo_row import DemoRow
from faultlab.pb.bugs import ReplyBeforeBackupAck
from faultlab.pb.cluster import UNRELIABLE_2015, build, vs_view
from faultlab.pb.explore import backup_behind
from faultlab.pb.server import PBServer
from faultlab.sim.world import World
from faultlab.tools.history import operations
from faultlab.tools.workload import run_workload

__all__ = ["demo"]

ROUNDS = 6


def _run(seed: int, server: type[PBServer]) -> tuple[World, list[str]]:
    world = build(seed, servers=3, clerks=3, profile=UNRELIABLE_2015, server=server)
    violations: list[str] = []

    def watch(w: World, step: tuple) -> None:
        if not violations:
            found = backup_behind(w)
            if found:
                violations.append(found)

    world.observers.append(watch)
    rng = random.Random(seed)
    world.run_for(1.0)
    count = 0

    def next_input(client: str, k: int) -> dict:
        nonlocal count
        count += 1
        op, key = rng.choice(("get", "put", "append")), rng.choice("abc")
        return ({"op": op, "key": key} if op == "get"
                else {"op": op, "key": key, "value": f"{client}.{count};"})

    for _ in range(ROUNDS):
        run_workload(world, sorted(world.clients), next_input, 15, 10.0)
        victim = rng.choice(["s1", "s2", "s3"])
        world.crash(victim)
        world.run_for(1.0)
        world.restart(victim)
        world.run_for(1.0)
    run_workload(world, sorted(world.clients), next_input, 5, 10.0)
    return world, violations


def demo(seed: int) -> list[DemoRow]:
    world, violations = _run(seed, PBServer)
    result = check(operations(world), "kv", timeout=5.0)
    done = sum(1 for r in world.history if r.done)
    ok = result.verdict is not Verdict.ILLEGAL and not violations
    rows = [DemoRow(
        system="pb", driver="seeded scheduler, 2015 unreliable net, crashes",
        explored=(f"{done}/{len(world.history)} calls, {ROUNDS} crash/restarts, "
                  f"{vs_view(world).num} views, {world.now:.1f}s virtual"),
        checked="linearizability (kv), backup complete",
        verdict=(f"{result.verdict}" + (f"; {violations[0]}" if violations else "")),
        ok=ok)]
    buggy, caught = _run(seed, ReplyBeforeBackupAck)
    rows.append(DemoRow(
        system="pb (seeded bug: reply before backup ack)",
        driver="seeded scheduler, 2015 unreliable net, crashes",
        explored=f"{len(buggy.history)} calls, {buggy.now:.1f}s virtual",
        checked="backup complete after every step",
        verdict=f"bug caught: {caught[0]}" if caught else "bug NOT caught",
        ok=bool(caught)))
    return rows
