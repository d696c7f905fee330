"""``faultlab demo`` rows for kvsrv, the single server of 6.5840 (2025): a short run on the
unreliable network, and the same run with a clerk that hides ErrMaybe, which the history
checker alone must expose.

Each run: 5 clerks, for 5 s of virtual time, Put to one key at the version they last read
and read it back; nothing but the versioned-kv model judges the history. A resent Put that
hears ErrVersion may have applied, so the correct clerk says ErrMaybe; the seeded clerk says
OK, and some history then shows two writes of one version both succeeding.
"""

from __future__ import annotations

import json

from faultlab.demo_row import DemoRow

__all__ = ["demo"]

SECONDS = 5.0
CLERKS = 5


def _run(seed: int, clerk: type | None) -> tuple[int, str]:
    from faultlab.checker.linearizability import check
    from faultlab.kvsrv.clerk import Clerk
    from faultlab.kvsrv.cluster import UNRELIABLE, build
    from faultlab.tools.clients import Clients
    from faultlab.tools.history import operations

    world = build(seed, profile=UNRELIABLE, clerks=CLERKS, clerk=clerk or Clerk,
                  record_steps=False)

    def body(me: int):
        version = 0
        while True:
            yield ("call", {"op": "put", "key": "k", "value": json.dumps([me, version]),
                            "version": version})
            version = (yield ("call", {"op": "get", "key": "k"}))[1]

    problems: list[str] = []
    Clients(world, {f"c{i}": body(i) for i in range(CLERKS)}, fail=problems.append).run(
        duration=SECONDS)
    result = check(operations(world), "versioned-kv", timeout=30)
    verdict = result.verdict.name.lower()
    return len(world.history), verdict + (f"; {problems[0]}" if problems else "")


def demo(seed: int) -> list[DemoRow]:
    from faultlab.kvsrv.bugs import RetriedErrVersionAsOK

    calls, verdict = _run(seed, None)
    explored = f"{CLERKS} clerks, versioned Puts and Gets on one key, {SECONDS:g} s virtual"
    checked = "linearizability (versioned-kv model), ErrMaybe as either outcome"
    rows = [DemoRow("kvsrv (2025 single server)", "seeded scheduler, unreliable net",
                    f"{calls} calls, {explored}", checked, verdict, verdict == "ok")]
    calls, verdict = _run(seed, RetriedErrVersionAsOK)
    caught = verdict.startswith("illegal")
    rows.append(DemoRow("kvsrv, seeded bug: a resent Put's ErrVersion reported as OK",
                        "same run", f"{calls} calls", checked,
                        f"{verdict} (bug caught)" if caught else f"{verdict} (bug NOT caught)",
                        caught))
    return rows
