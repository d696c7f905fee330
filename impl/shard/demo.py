"""``faultlab demo`` rows for the sharded key/value service: a short run with
reconfigurations on each engine, and a seeded bug that the same run must expose.

Each run: 3 controller servers and 3 groups of 3 on the unreliable network; 8 clerks append
to and read keys of every shard for 4 s of virtual time while groups join and leave (shards
move between groups three times) and one group server crashes and restarts; then every
acknowledged append must be in the final values, and the history goes through the
linearizability checker.
"""

from __future__ import annotations

import random

from faultlab.demo_row import DemoRow, service_rows

__all__ = ["demo", "shard_run", "clerk_loop"]

SECONDS = 4.0
CLERKS = 8
KEYS = [str(i) for i in range(10)]   # one key per shard


def clerk_loop(rng: random.Random, i: int, append_share: float):
    """A clerk loop over every shard's key: Append (unique values) or Get."""
    n = 0
    while True:
        key = rng.choice(KEYS)
        if rng.random() < append_share:
            yield ("call", {"op": "append", "key": key, "value": f"<{i}.{n}>"})
            n += 1
        else:
            yield ("call", {"op": "get", "key": key})


def shard_run(seed: int, engine: str, server: type | None = None) -> tuple[int, str, str]:
    """One run; returns (calls, verdict text, the first problem found or "")."""
    from faultlab.kv.checks import acknowledged_appends_missing, audit
    from faultlab.kv.cluster import KV_UNRELIABLE
    from faultlab.shard.cluster import (
        GIDS,
        add_ctrler_clerk,
        add_shard_clerk,
        build,
        ctrler_names,
        group_names,
    )
    from faultlab.shard.server import ShardKVServer
    from faultlab.tools.clients import Clients

    world = build(seed, engine=engine, profile=KV_UNRELIABLE, maxraftstate=1000,
                  server=server or ShardKVServer, record_steps=False)
    ctrlers = ctrler_names(3)
    admin = add_ctrler_clerk(world, "admin", ctrlers)
    clerks = [add_shard_clerk(world, f"c{i}", ctrlers) for i in range(CLERKS)]
    rng = random.Random(f"shard-demo:{seed}")

    def group(gi: int) -> dict:
        return {GIDS[gi]: group_names(GIDS[gi], 3)}

    world.call(admin, {"op": "join", "groups": group(0)}, 30.0)

    def admin_loop():
        for op in ({"op": "join", "groups": group(1)}, {"op": "join", "groups": group(2)},
                   {"op": "leave", "gids": [GIDS[0]]}):
            yield ("sleep", 0.8)
            yield ("call", op)
        yield ("do", lambda: world.crash(group_names(GIDS[1], 3)[0]))
        yield ("sleep", 0.5)
        yield ("do", lambda: world.restart(group_names(GIDS[1], 3)[0]))

    problems: list[str] = []
    bodies = {c: clerk_loop(rng, i, 0.6) for i, c in enumerate(clerks)}
    bodies[admin] = admin_loop()
    Clients(world, bodies, fail=problems.append).run(duration=SECONDS)
    final = {k: world.call(clerks[0], {"op": "get", "key": k}, 60.0) for k in KEYS}
    missing = acknowledged_appends_missing(world, final)
    if missing:
        problems.append(f"acknowledged append lost: {missing[0]}")
    result = audit(world, clerks)
    calls = sum(1 for r in world.history if r.client in clerks)
    return calls, result.verdict.name.lower(), problems[0] if problems else ""


def demo(seed: int) -> list[DemoRow]:
    from faultlab.shard.bugs import ServeBeforeArrival

    return service_rows("shard", shard_run, seed, "3 groups, joins+leave, crash+restart",
                        "linearizability (kv model), acknowledged appends present",
                        ServeBeforeArrival, "same run, served before the data arrived")
