"""Lab 4 (shardkv, 2015; CATALOG A.4.2): the sharded key/value service as in 2015, on the
Paxos log and on Raft: 3 controller servers and 3 groups of 3 (gids 100, 101, 102), on the
2015 harness's networks. Every history is audited by the kv model (unknown is a failure).
"""

from __future__ import annotations

import pytest
from faultlab.kv.cluster import KV_RELIABLE_2015, KV_UNRELIABLE_2015
from faultlab.shard.config import NSHARDS
from faultlab.tools.clients import Body
from shard_tester import ShardTester

ENGINES = pytest.mark.parametrize("engine", ["paxos", "raft"])


def make_tester(request, engine: str, unreliable: bool = False) -> ShardTester:
    profile = KV_UNRELIABLE_2015 if unreliable else KV_RELIABLE_2015
    return ShardTester(request.node.name, engine=engine, profile=profile)


def random_keys(t: ShardTester, n: int = 10) -> tuple[list[str], list[str]]:
    return ([str(t.rng.randrange(2**31)) for _ in range(n)],
            [str(t.rng.randrange(2**31)) for _ in range(n)])


def check_and_rewrite(t: ShardTester, ck: str, keys: list[str], vals: list[str],
                      when: str) -> None:
    for i, k in enumerate(keys):
        got = t.get(ck, k)
        t.expect(got == vals[i], f"{when}; wrong value; k={k} wanted={vals[i]} got={got}")
        vals[i] = str(t.rng.randrange(2**31))
        t.put(ck, k, vals[i])


@ENGINES
def test_basic_2015(request, engine):
    t = make_tester(request, engine)
    t.join(0)
    ck = t.make_client()
    t.put(ck, "a", "x")
    t.append(ck, "a", "b")
    t.check(ck, "a", "xb")
    keys, vals = random_keys(t)
    for k, v in zip(keys, vals, strict=True):
        t.put(ck, k, v)
    for g in range(1, 3):        # are keys still there after joins?
        t.join(g)
        t.sleep(1.0)
        check_and_rewrite(t, ck, keys, vals, f"joining g={g}")
    for g in range(2):           # are keys still there after leaves?
        t.leave(g)
        t.sleep(1.0)
        check_and_rewrite(t, ck, keys, vals, f"leaving g={g}")
    t.audit()


@ENGINES
def test_move_2015(request, engine):
    t = make_tester(request, engine)
    t.join(0)
    ck = t.make_client()
    keys = [chr(ord("0") + i) for i in range(NSHARDS)]   # one key per shard
    for k in keys:
        t.put(ck, k, k)
    t.join(1)
    t.sleep(5.0)
    for k in keys:
        t.check(ck, k, k)
    t.deafen_group(0)            # remove the sockets of group 0
    calls = [t.start_call(t.make_client(), {"op": "get", "key": k}) for k in keys]
    t.sleep(10.0)
    for c in calls:
        if c.done:
            t.expect(c.output == c.input["key"], f"Get({c.input['key']}) yielded {c.output}")
    count = sum(c.done for c in calls)
    t.expect(NSHARDS // 3 < count < 2 * (NSHARDS // 3),
             f"{count} keys worked after killing 1/2 of groups; wanted {NSHARDS // 2}")
    t.audit()


@ENGINES
def test_limp_2015(request, engine):
    t = make_tester(request, engine)
    t.join(0)
    for gi in range(3):          # one random replica of every group dies
        t.shutdown_server(gi, t.rng.randrange(t.n))
    ck = t.make_client()
    t.put(ck, "a", "b")
    t.check(ck, "a", "b")
    keys, vals = random_keys(t)
    for k, v in zip(keys, vals, strict=True):
        t.put(ck, k, v)
    for g in range(1, 3):
        t.join(g)
        t.sleep(1.0)
        check_and_rewrite(t, ck, keys, vals, f"joining g={g}")
    for g in range(2):
        t.leave(g)
        t.sleep(2.0)
        t.shutdown_group(g)      # its shards were handed off before it died
        check_and_rewrite(t, ck, keys, vals, f"leaving g={g}")
    t.audit()


def do_concurrent(t: ShardTester) -> None:
    for gi in range(3):
        t.join(gi)
    rng = t.rng

    def client(me: int) -> Body:
        ck, mck = t.make_client(), t.make_ctrler_client()
        key, last = str(me), ""
        for _ in range(3):
            nv = str(rng.randrange(2**31))
            yield ("call_on", (ck, {"op": "append", "key": key, "value": nv}))
            last += nv
            v = yield ("call_on", (ck, {"op": "get", "key": key}))
            if v != last:
                t.fail(f"Get({key}) expected {last} got {v}")
            move = {"op": "move", "shard": rng.randrange(NSHARDS),
                    "gid": t.gids[rng.randrange(3)]}
            yield ("call_on", (mck, move))
            yield ("sleep", rng.randrange(30) / 1000)

    t.clients({f"loop{i}": client(i) for i in range(11)}).run(limit=300.0)
    t.audit()


@ENGINES
def test_concurrent_2015(request, engine):
    do_concurrent(make_tester(request, engine))


@ENGINES
def test_concurrent_unreliable_2015(request, engine):
    do_concurrent(make_tester(request, engine, unreliable=True))
