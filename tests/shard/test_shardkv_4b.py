"""Lab 4B (shardkv, 2022; CATALOG B.5): the sharded key/value service on Raft, all 13 tests
with the challenges, with config.go's thresholds. Every test's shard clerks' history is
audited by the kv model (unknown is a failure), not only TestUnreliable3's. None depends on
Raft, so each runs on the Paxos log too.
"""

from __future__ import annotations

import string

import pytest
from faultlab.shard.config import key2shard
from faultlab.tools.clients import Body
from shard_tester import ShardTester

ENGINES = pytest.mark.parametrize("engine", ["raft", "paxos"])


def randstring(t: ShardTester, n: int) -> str:
    return "".join(t.rng.choice(string.ascii_letters) for _ in range(n))


def put_keys(t: ShardTester, ck: str, n: int, size: int) -> tuple[list[str], list[str]]:
    ka = [str(i) for i in range(n)]
    va = [randstring(t, size) for _ in range(n)]
    for k, v in zip(ka, va, strict=True):
        t.put(ck, k, v)
    return ka, va


def check_all(t: ShardTester, ck: str, ka: list[str], va: list[str]) -> None:
    for k, v in zip(ka, va, strict=True):
        t.check(ck, k, v)


def check_and_append(t: ShardTester, ck: str, ka: list[str], va: list[str], size: int) -> None:
    for i, k in enumerate(ka):
        t.check(ck, k, va[i])
        x = randstring(t, size)
        t.append(ck, k, x)
        va[i] += x


def appenders(t: ShardTester, ka: list[str], va: list[str], size: int, pause: float,
              done: list[bool]) -> dict[str, Body]:
    """One clerk per key appending ``size`` random letters every ``pause`` s until done."""
    def ff(i: int) -> Body:
        while not done:
            x = randstring(t, size)
            yield ("call", {"op": "append", "key": ka[i], "value": x})
            va[i] += x
            if pause:
                yield ("sleep", pause)
    return {t.make_client(): ff(i) for i in range(len(ka))}


def run_with_control(t: ShardTester, bodies: dict[str, Body], control: Body) -> None:
    bodies = dict(bodies)
    bodies["control"] = control
    t.clients(bodies).run(limit=300.0)


# ---------------------------------------------------------------------- static / join-leave

@ENGINES
def test_static_shards_4b(request, engine):
    t = ShardTester(request.node.name, engine=engine)
    ck = t.make_client()
    t.join(0)
    t.join(1)
    ka, va = put_keys(t, ck, 10, 20)
    check_all(t, ck, ka, va)
    # the data really is sharded: with group 1 down, only its shards' Gets fail
    t.shutdown_group(1)
    t.checklogs()   # no snapshots
    calls = [t.start_call(t.make_client(), {"op": "get", "key": k}) for k in ka]
    ndone = 0
    while True:   # until 2 s pass without a completion
        t.world.run_until(lambda n=ndone: sum(c.done for c in calls) > n, 2.0)
        now_done = sum(c.done for c in calls)
        if now_done == ndone:
            break
        ndone = now_done
    for c, v in zip(calls, va, strict=True):
        if c.done:
            t.expect(c.output == v, f"Get({c.input['key']}): expected {v!r}, got {c.output!r}")
    t.expect(ndone == 5, f"expected 5 completions with one shard dead; got {ndone}")
    t.start_group(1)
    check_all(t, ck, ka, va)
    t.world.run_until(lambda: all(c.done for c in calls), 30.0)
    t.audit()


@ENGINES
def test_join_leave_4b(request, engine):
    t = ShardTester(request.node.name, engine=engine)
    ck = t.make_client()
    t.join(0)
    ka, va = put_keys(t, ck, 10, 5)
    check_all(t, ck, ka, va)
    t.join(1)
    check_and_append(t, ck, ka, va, 5)
    t.leave(0)
    check_and_append(t, ck, ka, va, 5)
    t.sleep(1.0)   # allow time for shards to transfer
    t.checklogs()
    t.shutdown_group(0)
    check_all(t, ck, ka, va)
    t.audit()


@ENGINES
def test_snapshot_4b(request, engine):
    t = ShardTester(request.node.name, engine=engine, maxraftstate=1000)
    ck = t.make_client()
    t.join(0)
    ka, va = put_keys(t, ck, 30, 20)
    check_all(t, ck, ka, va)
    t.join(1)
    t.join(2)
    t.leave(0)
    check_and_append(t, ck, ka, va, 20)
    t.leave(1)
    t.join(0)
    check_and_append(t, ck, ka, va, 20)
    t.sleep(1.0)
    check_all(t, ck, ka, va)
    t.sleep(1.0)
    t.checklogs()
    for gi in range(3):
        t.shutdown_group(gi)
    for gi in range(3):
        t.start_group(gi)
    check_all(t, ck, ka, va)
    t.audit()


@ENGINES
def test_miss_change_4b(request, engine):
    t = ShardTester(request.node.name, engine=engine, maxraftstate=1000)
    ck = t.make_client()
    t.join(0)
    ka, va = put_keys(t, ck, 10, 20)
    check_all(t, ck, ka, va)
    t.join(1)
    for gi in range(3):
        t.shutdown_server(gi, 0)
    t.join(2)
    t.leave(1)
    t.leave(0)
    check_and_append(t, ck, ka, va, 20)
    t.join(1)
    check_and_append(t, ck, ka, va, 20)
    for gi in range(3):
        t.start_server(gi, 0)
    check_and_append(t, ck, ka, va, 20)
    t.sleep(2.0)
    for gi in range(3):
        t.shutdown_server(gi, 1)
    t.join(0)
    t.leave(2)
    check_and_append(t, ck, ka, va, 20)
    for gi in range(3):
        t.start_server(gi, 1)
    check_all(t, ck, ka, va)
    t.audit()


# ---------------------------------------------------------------------- concurrent

@ENGINES
def test_concurrent1_4b(request, engine):
    t = ShardTester(request.node.name, engine=engine, maxraftstate=100)
    ck = t.make_client()
    t.join(0)
    ka, va = put_keys(t, ck, 10, 5)
    done: list[bool] = []

    def control() -> Body:
        for step, pause in ((None, 0.15), (lambda: t.join(1), 0.5), (lambda: t.join(2), 0.5),
                            (lambda: t.leave(0), 0), (lambda: t.shutdown_group(0), 0.1),
                            (lambda: t.shutdown_group(1), 0.1),
                            (lambda: t.shutdown_group(2), 0), (lambda: t.leave(2), 0.1),
                            (lambda: [t.start_group(g) for g in range(3)], 0.1),
                            (lambda: t.join(0), 0), (lambda: t.leave(1), 0.5),
                            (lambda: t.join(1), 1.0)):
            if step is not None:
                yield ("do", step)
            if pause:
                yield ("sleep", pause)
        done.append(True)

    run_with_control(t, appenders(t, ka, va, 5, 0.01, done), control())
    check_all(t, ck, ka, va)
    t.audit()


@ENGINES
def test_concurrent2_4b(request, engine):
    """The various sources from which a restarting group fetches shard contents."""
    t = ShardTester(request.node.name, engine=engine)
    ck = t.make_client()
    t.join(1)
    t.join(0)
    t.join(2)
    ka, va = put_keys(t, ck, 10, 1)
    done: list[bool] = []

    def control() -> Body:
        yield ("do", lambda: (t.leave(0), t.leave(2)))
        yield ("sleep", 3.0)
        yield ("do", lambda: (t.join(0), t.join(2), t.leave(1)))
        yield ("sleep", 3.0)
        yield ("do", lambda: (t.join(1), t.leave(0), t.leave(2)))
        yield ("sleep", 3.0)
        yield ("do", lambda: (t.shutdown_group(1), t.shutdown_group(2)))
        yield ("sleep", 1.0)
        yield ("do", lambda: (t.start_group(1), t.start_group(2)))
        yield ("sleep", 2.0)
        done.append(True)

    run_with_control(t, appenders(t, ka, va, 1, 0.05, done), control())
    check_all(t, ck, ka, va)
    t.audit()


@ENGINES
def test_concurrent3_4b(request, engine):
    t = ShardTester(request.node.name, engine=engine, maxraftstate=300)
    ck = t.make_client()
    t.join(0)
    ka, va = put_keys(t, ck, 10, 1)
    done: list[bool] = []
    rng = t.rng

    def control() -> Body:
        t0 = t.world.now
        while t.world.now - t0 < 12.0:
            yield ("do", lambda: (t.join(2), t.join(1)))
            yield ("sleep", rng.randrange(900) / 1000)
            yield ("do", lambda: ([t.shutdown_group(g) for g in range(3)],
                                  [t.start_group(g) for g in range(3)]))
            yield ("sleep", rng.randrange(900) / 1000)
            yield ("do", lambda: (t.leave(1), t.leave(2)))
            yield ("sleep", rng.randrange(900) / 1000)
        yield ("sleep", 2.0)
        done.append(True)

    run_with_control(t, appenders(t, ka, va, 1, 0, done), control())
    check_all(t, ck, ka, va)
    t.audit()


# ---------------------------------------------------------------------- unreliable

@ENGINES
def test_unreliable1_4b(request, engine):
    t = ShardTester(request.node.name, engine=engine, unreliable=True, maxraftstate=100)
    ck = t.make_client()
    t.join(0)
    ka, va = put_keys(t, ck, 10, 5)
    t.join(1)
    t.join(2)
    t.leave(0)
    for ii in range(20):
        i = ii % 10
        t.check(ck, ka[i], va[i])
        x = randstring(t, 5)
        t.append(ck, ka[i], x)
        va[i] += x
    t.join(0)
    t.leave(1)
    for ii in range(20):
        t.check(ck, ka[ii % 10], va[ii % 10])
    t.audit()


def join_leave_schedule(t: ShardTester, done: list[bool]) -> Body:
    """TestUnreliable2/3's reconfigurations, 500 ms apart, then 2 s, then reliable."""
    yield ("sleep", 0.15)
    for step in (lambda: t.join(1), lambda: t.join(2), lambda: t.leave(0),
                 lambda: t.leave(1)):
        yield ("do", step)
        yield ("sleep", 0.5)
    yield ("do", lambda: (t.join(1), t.join(0)))
    yield ("sleep", 2.0)
    done.append(True)
    yield ("do", lambda: t.world.set_profile(t.reliable_profile()))


@ENGINES
def test_unreliable2_4b(request, engine):
    t = ShardTester(request.node.name, engine=engine, unreliable=True, maxraftstate=100)
    ck = t.make_client()
    t.join(0)
    ka, va = put_keys(t, ck, 10, 5)
    done: list[bool] = []
    run_with_control(t, appenders(t, ka, va, 5, 0, done), join_leave_schedule(t, done))
    check_all(t, ck, ka, va)
    t.audit()


@ENGINES
def test_unreliable3_4b(request, engine):
    t = ShardTester(request.node.name, engine=engine, unreliable=True, maxraftstate=100)
    ck = t.make_client()
    t.join(0)
    ka, _ = put_keys(t, ck, 10, 5)
    done: list[bool] = []
    rng = t.rng

    def ff() -> Body:
        while not done:
            key = ka[rng.randrange(10)]
            nv = randstring(t, 5)
            if rng.randrange(1000) < 500:
                yield ("call", {"op": "append", "key": key, "value": nv})
            elif rng.randrange(1000) < 100:
                yield ("call", {"op": "put", "key": key, "value": nv})
            else:
                yield ("call", {"op": "get", "key": key})

    bodies = {t.make_client(): ff() for _ in range(10)}
    run_with_control(t, bodies, join_leave_schedule(t, done))
    t.audit()   # the initial Puts included; linearizable, and decided


# ---------------------------------------------------------------------- challenges

@ENGINES
def test_challenge1_delete(request, engine):
    """Servers delete the shards they no longer own: all persisted state within the bound."""
    t = ShardTester(request.node.name, engine=engine, maxraftstate=1)
    ck = t.make_client()
    t.join(0)
    n = 30
    ka, va = put_keys(t, ck, n, 1000)   # 30,000 bytes of values
    check_all(t, ck, ka[:3], va[:3])
    for _ in range(2):
        t.join(1)
        t.leave(0)
        t.join(2)
        t.sleep(3.0)
        check_all(t, ck, ka[:3], va[:3])
        t.leave(1)
        t.join(0)
        t.leave(2)
        t.sleep(3.0)
        check_all(t, ck, ka[:3], va[:3])
    t.join(1)
    t.join(2)
    for _ in range(3):
        t.sleep(1.0)
        check_all(t, ck, ka[:3], va[:3])
    total = t.total_persisted()
    # 27 keys stored once, 3 also in duplicate tables, on 3 replicas, plus slack
    expected = 3 * (((n - 3) * 1000) + 2 * 3 * 1000 + 6000)
    print(f"  persisted: {total} bytes of {expected} allowed")
    t.expect(total <= expected, f"snapshot + persisted Raft state are too big: "
             f"{total} > {expected}")
    check_all(t, ck, ka, va)
    t.audit()


@ENGINES
def test_challenge2_unaffected(request, engine):
    """Shards a reconfiguration does not move keep serving while it is stuck."""
    t = ShardTester(request.node.name, engine=engine, unreliable=True, maxraftstate=100)
    ck = t.make_client()
    t.join(0)
    ka = [str(i) for i in range(10)]
    va = ["100"] * 10
    for k in ka:
        t.put(ck, k, "100")
    t.join(1)
    c = t.query(t.mck)
    owned = {s: g == t.gids[1] for s, g in enumerate(c.shards)}
    t.sleep(1.0)   # migration completes; clerks learn the new configuration
    for i, k in enumerate(ka):
        if owned[key2shard(k)]:
            va[i] = "101"
            t.put(ck, k, va[i])
    t.shutdown_group(0)
    t.leave(0)     # 101 never gets what 100 held
    t.sleep(1.0)
    for i, k in enumerate(ka):
        if owned[key2shard(k)]:
            t.check(ck, k, va[i])
            t.put(ck, k, va[i] + "-1")
            t.check(ck, k, va[i] + "-1")
    t.audit()


@ENGINES
def test_challenge2_partial(request, engine):
    """A shard serves as soon as it arrives, though others of the same change never do."""
    t = ShardTester(request.node.name, engine=engine, unreliable=True, maxraftstate=100)
    ck = t.make_client()
    t.joinm([0, 1, 2])
    t.sleep(1.0)
    ka = [str(i) for i in range(10)]
    for k in ka:
        t.put(ck, k, "100")
    c = t.query(t.mck)
    owned = {s: g == t.gids[2] for s, g in enumerate(c.shards)}
    t.shutdown_group(0)
    t.leavem([0, 2])   # 101 gets 102's shards, never 100's
    t.sleep(1.0)
    for k in ka:
        if owned[key2shard(k)]:
            t.check(ck, k, "100")
            t.put(ck, k, "100-2")
            t.check(ck, k, "100-2")
    t.audit()
