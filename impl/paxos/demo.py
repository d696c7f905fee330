"""``faultlab demo`` rows for Paxos: a seeded-scheduler run in the style of the lab's TestLots,
a short Hypothesis exploration of the correct peers, and one seeded bug caught and shrunk."""

from __future__ import annotations

import json
import random

from faultlab.demo_row import DemoRow
from faultlab.paxos.harness import Tester
from faultlab.paxos.machine import MiscountedMajorityMachine, PaxosMachine
from faultlab.tools.explore import explore
from faultlab.tools.replay import load_replay
from faultlab.tools.shrink import shrink

__all__ = ["demo"]


def _lots(seed: int) -> DemoRow:
    """Five peers, 10 % request and 18 % reply loss, a random 3-way partition every
    0-200 ms for 10 s while instances are started at random peers; then heal."""
    n = 5
    t = Tester(n, seed, unreliable=True, name="demo")
    rng = random.Random(seed)
    proposed: dict[int, set[int]] = {}
    seq, end, problem = 0, 10.0, ""
    try:
        while t.world.now < end:
            side = [rng.randrange(3) for _ in range(n)]
            t.part(*[[i for i in range(n) if side[i] == g] for g in range(3)])
            if sum(1 for s in range(seq) if t.ndecided(s) < n) < 10:
                value = rng.randrange(1000)
                proposed.setdefault(seq, set()).add(value)
                t.start(rng.randrange(n), seq, value)
                seq += 1
            t.sleep(rng.randrange(200) / 1000)
        t.setunreliable(False)
        t.part(list(range(n)))
        for s in range(seq):
            t.waitn(s, n)
            value = t.px(0).status(s)[1]
            if value not in proposed[s]:
                problem = f"instance {s} decided {value!r}, never proposed"
    except AssertionError as e:
        problem = str(e)
    c = t.world.counters
    return DemoRow(
        system="paxos",
        driver="seeded scheduler, 2015 unreliable net, 3-way partitions",
        explored=f"{seq} instances on 5 peers, {c.delivered} msgs, {c.lost} lost, "
                 f"{t.world.now:.1f}s virtual",
        checked="agreement, validity, all decide after heal",
        verdict=problem or "all decided, agreement held",
        ok=not problem,
    )


def _explore(machine: type[PaxosMachine], seed: int, examples: int, bug: bool) -> DemoRow:
    """Hypothesis exploration seeded by the demo's seed; a failure is shrunk and saved."""
    result = explore(machine, seed=seed, examples=examples)
    error = result.error.splitlines()[0] if result.error else None
    if error and result.replay is not None:
        small = shrink(load_replay(result.replay))
        saved = result.replay.with_name(result.replay.stem + ".min.json")
        saved.write_text(json.dumps(small, default=repr) + "\n")
        error += f"; shrunk to {small['exploration_steps']} steps: {saved}"
    if bug:
        verdict = f"caught: {error}" if error else "NOT caught"
    else:
        verdict = error or "no violation"
    return DemoRow(
        system="paxos (seeded bug: majority = n//2)" if bug else "paxos",
        driver="Hypothesis state machine",
        explored=f"{examples} examples x 50 steps, 3 peers, crashes/partitions/drops",
        checked="agreement (chosen+learned), validity, acceptor stability, forgetting",
        verdict=verdict,
        ok=(error is not None) == bug,
    )


def demo(seed: int) -> list[DemoRow]:
    return [_lots(seed), _explore(PaxosMachine, seed, 30, False),
            _explore(MiscountedMajorityMachine, seed, 30, True)]
