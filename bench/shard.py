"""What reconfiguration costs the sharded key/value service (not a test; issue 14's bench).

For each engine, 3 controller servers and 3 groups of 3 (all joined first, not timed) on the
reliable KV network, 10 clerks looping on half Append, half Get over the keys "0".."9" (one
per shard) for ``--seconds`` of virtual time: once with the configuration still, once with a
Leave or Join every 0.5 s (shards moving all the time). Printed: completed calls, calls per
virtual and per wall second, and the ratios of the reconfiguring run's rates (per virtual
and per wall second) to the still run's, measured in the same run.

    python bench/shard.py                  # both engines, 3 s virtual each
    python bench/shard.py --seconds 5 --engines raft
"""

from __future__ import annotations

import argparse
import random
import time

from faultlab.kv.cluster import KV_RELIABLE
from faultlab.shard.cluster import (
    GIDS,
    add_ctrler_clerk,
    add_shard_clerk,
    build,
    ctrler_names,
    group_names,
)
from faultlab.shard.demo import clerk_loop
from faultlab.tools.clients import Clients

CLERKS = 10


def run(engine: str, seconds: float, reconfigure: bool, seed: int) -> tuple[int, float]:
    """(completed clerk calls, wall seconds) of one run."""
    world = build(seed, engine=engine, profile=KV_RELIABLE, maxraftstate=1000,
                  record_steps=False)
    ctrlers = ctrler_names(3)
    admin = add_ctrler_clerk(world, "admin", ctrlers)
    groups = {g: group_names(g, 3) for g in GIDS}
    world.call(admin, {"op": "join", "groups": groups}, 30.0)
    clerks = [add_shard_clerk(world, f"c{i}", ctrlers) for i in range(CLERKS)]
    for c in clerks:   # every clerk knows a configuration before the clock starts
        world.call(c, {"op": "get", "key": "0"}, 30.0)
    rng = random.Random(seed)

    def churn():
        k = 0
        while True:
            yield ("sleep", 0.5)
            gid = GIDS[k % len(GIDS)]
            yield ("call", {"op": "leave", "gids": [gid]})
            yield ("sleep", 0.5)
            yield ("call", {"op": "join", "groups": {gid: groups[gid]}})
            k += 1

    bodies = {c: clerk_loop(rng, i, 0.5) for i, c in enumerate(clerks)}
    if reconfigure:
        bodies[admin] = churn()
    before = len(world.history)
    start = time.perf_counter()
    Clients(world, bodies).run(duration=seconds)
    wall = time.perf_counter() - start
    calls = sum(1 for r in world.history[before:] if r.client in clerks and r.done)
    return calls, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="virtual seconds per run")
    parser.add_argument("--engines", nargs="+", default=["raft", "paxos"],
                        choices=["raft", "paxos"])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if not args.seconds > 0:
        parser.error("--seconds must be positive")
    print(f"{'engine':8} {'run':13} {'calls':>7} {'calls/virt s':>13} {'calls/wall s':>13}"
          f" {'virt ratio':>11} {'wall ratio':>11}")
    for engine in args.engines:
        still = run(engine, args.seconds, False, args.seed)
        moving = run(engine, args.seconds, True, args.seed)
        for name, (calls, wall) in (("still", still), ("reconfiguring", moving)):
            wall_ratio = (calls / wall) / (still[0] / still[1])
            print(f"{engine:8} {name:13} {calls:7} {calls / args.seconds:13.0f} "
                  f"{calls / wall:13.0f} {calls / still[0]:11.2f} {wall_ratio:11.2f}")


if __name__ == "__main__":
    main()
