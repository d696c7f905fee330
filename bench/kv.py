"""What replication and simulation cost the key/value service (not a test; issue 13's bench).

For each engine (raft, paxos) and 1, 5 and 15 clerks, clerks loop on the kvraft workload
(half Append to their own key, half Get) for ``--seconds`` of virtual time on the reliable
KV network (1 ms per message), 3 servers, snapshots at 1000 bytes. Printed: completed calls,
calls per virtual second, calls per wall second, and the ratio of the wall rate to the same
workload (the same number of calls, same mix) run against a plain dict in the same run:
what one replicated, simulated call costs against one dictionary operation.

    python bench/kv.py                 # both engines, 1/5/15 clerks, 2 s virtual each
    python bench/kv.py --seconds 5 --engines raft
"""

from __future__ import annotations

import argparse
import random
import time

from faultlab.kv.checks import append_value
from faultlab.kv.cluster import KV_RELIABLE, build
from faultlab.tools.clients import Clients


def replicated(engine: str, clerks: int, seconds: float, seed: int) -> tuple[int, float]:
    """(completed calls, wall seconds) of the workload on the service."""
    world = build(seed, 3, engine=engine, profile=KV_RELIABLE, maxraftstate=1000,
                  clerks=clerks, record_steps=False)
    world.run_for(1.0)  # an election first (not timed)
    rng = random.Random(seed)

    def loop(i: int):
        n = 0
        while True:
            if rng.random() < 0.5:
                yield ("call", {"op": "append", "key": str(i), "value": append_value(i, n)})
                n += 1
            else:
                yield ("call", {"op": "get", "key": str(i)})

    runner = Clients(world, {f"c{i}": loop(i) for i in range(clerks)})
    start = time.perf_counter()
    runner.run(duration=seconds)
    return runner.calls, time.perf_counter() - start


def baseline(calls: int, clerks: int, seed: int) -> float:
    """Wall seconds of ``calls`` operations of the same mix on a dict."""
    rng = random.Random(seed)
    data: dict[str, str] = {}
    counts = [0] * clerks
    start = time.perf_counter()
    for k in range(calls):
        i = k % clerks
        key = str(i)
        if rng.random() < 0.5:
            data[key] = data.get(key, "") + append_value(i, counts[i])
            counts[i] += 1
        else:
            data.get(key, "")
    return max(time.perf_counter() - start, 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="virtual seconds per run")
    parser.add_argument("--engines", default="raft,paxos")
    parser.add_argument("--clerks", default="1,5,15")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(f"seed {args.seed}; {args.seconds} virtual s per run; 3 servers, maxraftstate 1000")
    print(f"{'engine':7} {'clerks':>6} {'calls':>7} {'calls/virt s':>13} {'calls/wall s':>13} "
          f"{'dict calls/wall s':>18} {'dict / service':>15}")
    for engine in args.engines.split(","):
        for clerks in map(int, args.clerks.split(",")):
            calls, wall = replicated(engine, clerks, args.seconds, args.seed)
            base = baseline(calls, clerks, args.seed)
            print(f"{engine:7} {clerks:>6} {calls:>7} {calls / args.seconds:>13.0f} "
                  f"{calls / wall:>13.0f} {calls / base:>18.0f} {wall / base:>15.0f}",
                  flush=True)


if __name__ == "__main__":
    main()
