"""Hypothesis drives the key/value service on each engine: it chooses a schedule of faults
(crash and restart a server, partition, heal, switch the network between reliable and
unreliable, let time pass) while three clerks append and read concurrently, with snapshots
at a small maxraftstate; then the network heals, every server restarts and the calls drain.
Every history must be linearizable and every acknowledged append present at the end.
Hypothesis shrinks a failing schedule to a short one; the World's seed is part of it.

The same property must fail for a seeded bug (the explorer is tested too).
"""

from __future__ import annotations

import pytest
from faultlab.kv.bugs import NoDuplicateDetection
from faultlab.kv.checks import acknowledged_appends_missing, audit
from faultlab.kv.cluster import KV_RELIABLE, KV_UNRELIABLE, build
from faultlab.kv.server import KVServer
from faultlab.tools.clients import Clients
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

SERVERS = ["s0", "s1", "s2"]
CLERKS = 3
# each example runs a whole service for seconds of virtual time: 25 in the ci and dev
# profiles (the whole class of schedules is explored in the deep profile's 5000)
EXAMPLES = 25 if settings().max_examples <= 150 else settings().max_examples

FAULT = st.one_of(
    st.tuples(st.just("crash"), st.sampled_from(SERVERS)),
    st.tuples(st.just("restart"), st.sampled_from(SERVERS)),
    st.tuples(st.just("partition"), st.sampled_from(SERVERS)),
    st.tuples(st.just("heal"), st.none()),
    st.tuples(st.just("unreliable"), st.booleans()),
    st.tuples(st.just("sleep"), st.sampled_from([0.05, 0.2, 0.5, 1.0])),
)
SCHEDULE = st.lists(FAULT, max_size=12)


def run_schedule(seed: int, engine: str, schedule: list, server: type = KVServer) -> list[str]:
    """The problems a run shows (empty when the service behaved)."""
    world = build(seed, 3, engine=engine, profile=KV_RELIABLE, maxraftstate=300,
                  clerks=CLERKS, server=server, record_steps=False)

    def clerk(i: int):
        n = 0
        while True:
            key = str(i) if n % 3 else "shared"
            if n % 2 == 0:
                yield ("call", {"op": "append", "key": key, "value": f"<{i}.{n}>"})
            else:
                yield ("call", {"op": "get", "key": key})
            n += 1

    def apply(kind: str, arg: object) -> None:
        if kind == "crash" and arg not in world.crashed:
            world.crash(arg)
        elif kind == "restart" and arg in world.crashed:
            world.restart(arg)
        elif kind == "partition":
            world.partition([arg], [s for s in SERVERS if s != arg])
        elif kind == "heal":
            world.heal()
        elif kind == "unreliable":
            world.set_profile(KV_UNRELIABLE if arg else KV_RELIABLE)

    def faults():
        for kind, arg in schedule:
            if kind == "sleep":
                yield ("sleep", arg)
            else:
                yield ("do", lambda kind=kind, arg=arg: apply(kind, arg))
        yield ("do", world.heal)
        yield ("do", lambda: [world.restart(s) for s in sorted(world.crashed)])
        yield ("do", lambda: world.set_profile(KV_RELIABLE))

    problems: list[str] = []
    bodies = {f"c{i}": clerk(i) for i in range(CLERKS)}
    bodies["faults"] = faults()
    duration = 0.5 + sum(a for k, a in schedule if k == "sleep")
    Clients(world, bodies, fail=problems.append).run(duration=duration)
    final = {k: world.call("c0", {"op": "get", "key": k}, 60.0)
             for k in [*map(str, range(CLERKS)), "shared"]}
    problems += [f"acknowledged append lost: {m}" for m in
                 acknowledged_appends_missing(world, final)]
    result = audit(world, timeout=10.0)
    if result.verdict.name != "OK":
        problems.append(f"history of {len(world.history)} calls: {result.verdict.name}")
    return problems


@pytest.mark.parametrize("engine", ["raft", "paxos"])
@settings(max_examples=EXAMPLES, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1), schedule=SCHEDULE)
def test_kv_survives_faults(engine, seed, schedule):
    problems = run_schedule(seed, engine, schedule)
    assert not problems, f"seed {seed}, schedule {schedule}: {problems}"


@pytest.mark.parametrize("engine", ["raft", "paxos"])
def test_exploration_finds_the_missing_duplicate_detection(engine):
    found: list = []

    # finding is the point here: no shrinking (the correct-service test above shrinks)
    @settings(max_examples=max(EXAMPLES, 100), database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate])
    @given(seed=st.integers(0, 2**31 - 1), schedule=SCHEDULE)
    def explore(seed, schedule):
        problems = run_schedule(seed, engine, schedule, NoDuplicateDetection)
        if problems:
            found.append((seed, schedule, problems))
        assert not problems

    with pytest.raises(AssertionError):
        explore()
    assert found, "exploration did not find the seeded bug"
