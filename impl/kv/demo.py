"""``faultlab demo`` rows for the replicated key/value service: one short run on each
consensus engine, and a seeded bug that the same run must expose.

Each run: 3 servers (snapshots at 1000 bytes) on the unreliable network, 4 clerks appending
to and reading their own key and one shared key for 3 s of virtual time while one server
crashes and restarts and a partition cuts the current leader off; then the network heals,
every clerk's acknowledged appends must be in the final values, and the whole history goes
through the linearizability checker.
"""

from __future__ import annotations

import random

from faultlab.demo_row import DemoRow, service_rows

__all__ = ["demo", "kv_run"]

SECONDS = 3.0
CLERKS = 4


def kv_run(seed: int, engine: str, server: type | None = None) -> tuple[int, str, str]:
    """One run; returns (calls, verdict text, the first problem found or "")."""
    from faultlab.kv.checks import acknowledged_appends_missing, audit
    from faultlab.kv.cluster import KV_UNRELIABLE, build
    from faultlab.kv.server import KVServer
    from faultlab.tools.clients import Clients

    world = build(seed, 3, engine=engine, profile=KV_UNRELIABLE, maxraftstate=1000,
                  clerks=CLERKS, server=server or KVServer, record_steps=False)
    rng = random.Random(f"kv-demo:{seed}")

    def clerk(i: int):
        n = 0
        while True:
            key = str(i) if rng.random() < 0.7 else "shared"
            if rng.random() < 0.6:
                yield ("call", {"op": "append", "key": key, "value": f"<{i}.{n}>"})
                n += 1
            else:
                yield ("call", {"op": "get", "key": key})

    def faults():
        yield ("sleep", 0.8)
        yield ("do", lambda: world.crash("s1"))
        yield ("sleep", 0.7)
        yield ("do", lambda: world.restart("s1"))
        yield ("sleep", 0.5)
        yield ("do", lambda: world.partition(["s0"], ["s1", "s2"]))
        yield ("sleep", 0.6)
        yield ("do", world.heal)

    problems: list[str] = []
    bodies = {f"c{i}": clerk(i) for i in range(CLERKS)}
    bodies["faults"] = faults()
    Clients(world, bodies, fail=problems.append).run(duration=SECONDS)
    world.heal()
    final = {}
    for key in [str(i) for i in range(CLERKS)] + ["shared"]:
        final[key] = world.call("c0", {"op": "get", "key": key}, 60.0)
    missing = acknowledged_appends_missing(world, final)
    if missing:
        problems.append(f"acknowledged append lost: {missing[0]}")
    result = audit(world)
    return len(world.history), result.verdict.name.lower(), problems[0] if problems else ""


def demo(seed: int) -> list[DemoRow]:
    from faultlab.kv.bugs import NoDuplicateDetection

    return service_rows("kv", kv_run, seed, "4 clerks, crash+restart, partition, snapshots",
                        "linearizability (kv model), acknowledged appends present",
                        NoDuplicateDetection, "same run, no duplicate detection")
