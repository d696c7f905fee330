"""The shard controller, both eras (CATALOG B.4: shardctrler 2022 TestBasic and TestMulti;
A.4.1: shardmaster 2015 TestBasic, TestUnreliable, TestFreshQuery), on both engines.

The minimal-transfer checks look at the groups present (the course's loops look at gids
1..10, which are not there, and cannot fail); test_shard_bugs.py shows a non-minimal
rebalance failing them.
"""

from __future__ import annotations

import pytest
from ctrl_checks import same_config, shards_gained, shards_lost
from faultlab.kv.cluster import KV_RELIABLE_2015
from faultlab.shard.config import NSHARDS
from faultlab.tools.clients import Body
from shard_tester import CtrlTester

ENGINES = pytest.mark.parametrize("engine", ["raft", "paxos"])
NPARA = 10


def servers(gid: int, *suffixes: str) -> list[str]:
    return [f"{gid}{s}" for s in suffixes]


def check_servers(t: CtrlTester, config, gid: int, wanted: list[str]) -> None:
    got = list(config.servers(gid))
    t.expect(got == wanted, f"wrong servers for gid {gid}: {got}, wanted {wanted}")


def minimal_transfers_after_joins(t: CtrlTester, ck: str, join) -> tuple:
    """Five new groups (gids NPARA+1..NPARA+5): the groups present keep what they had."""
    c1 = t.query(ck)
    join()
    c2 = t.query(ck)
    gained = shards_gained(c1, c2, c1.gids())
    t.expect(not gained, f"non-minimal transfer after Join()s: old groups gained {gained}")
    return c1, c2


def minimal_transfers_after_leaves(t: CtrlTester, ck: str, c1, c2, leave) -> None:
    leave()
    c3 = t.query(ck)
    lost = shards_lost(c2, c3, c1.gids())
    t.expect(not lost, f"non-minimal transfer after Leave()s: staying groups lost {lost}")


def move_test(t: CtrlTester, ck: str, gid3: int = 503, gid4: int = 504) -> None:
    t.join_groups(ck, {gid3: servers(3, "a", "b", "c")})
    t.join_groups(ck, {gid4: servers(4, "a", "b", "c")})
    for i in range(NSHARDS):
        cf = t.query(ck)
        target = gid3 if i < NSHARDS // 2 else gid4
        t.move(ck, i, target)
        if cf.shards[i] != target:
            t.expect(t.query(ck).num > cf.num, "Move should increase Config.Num")
    cf2 = t.query(ck)
    for i in range(NSHARDS):
        target = gid3 if i < NSHARDS // 2 else gid4
        t.expect(cf2.shards[i] == target, f"expected shard {i} on gid {target}: {cf2.shards}")
    t.leave_gids(ck, [gid3])
    t.leave_gids(ck, [gid4])


def run_concurrently(t: CtrlTester, bodies: dict[str, Body]) -> None:
    """Run the loops to their end (each makes a fixed number of calls)."""
    t.clients(bodies).run()


# ---------------------------------------------------------------------- 2022 (B.4)

@ENGINES
def test_basic_4a(request, engine):
    t = CtrlTester(request.node.name, engine=engine)
    ck = t.make_client()
    # Basic leave/join
    cfa = [t.query(ck)]
    t.check(ck, [])
    t.join_groups(ck, {1: ["x", "y", "z"]})
    t.check(ck, [1])
    cfa.append(t.query(ck))
    t.join_groups(ck, {2: ["a", "b", "c"]})
    t.check(ck, [1, 2])
    cfa.append(t.query(ck))
    cfx = t.query(ck)
    check_servers(t, cfx, 1, ["x", "y", "z"])
    check_servers(t, cfx, 2, ["a", "b", "c"])
    t.leave_gids(ck, [1])
    t.check(ck, [2])
    cfa.append(t.query(ck))
    t.leave_gids(ck, [2])
    cfa.append(t.query(ck))
    # Historical queries, each server down in turn (state kept by the log)
    for s in range(t.n):
        t.shutdown_server(s)
        for cf in cfa:
            diff = same_config(t.query(ck, cf.num), cf)
            t.expect(diff is None, f"historical config {cf.num} with server {s} down: {diff}")
        t.start_server(s)
    for cf in cfa:
        diff = same_config(t.query(ck, cf.num), cf)
        t.expect(diff is None, f"historical config {cf.num} after restarts: {diff}")
    # Move
    move_test(t, ck)
    # Concurrent leave/join
    gids = [i * 10 + 100 for i in range(NPARA)]

    def joiner(gid: int) -> Body:
        yield ("call", {"op": "join", "groups": {gid + 1000: [f"s{gid}a"]}})
        yield ("call", {"op": "join", "groups": {gid: [f"s{gid}b"]}})
        yield ("call", {"op": "leave", "gids": [gid + 1000]})

    run_concurrently(t, {t.make_client(): joiner(g) for g in gids})
    t.check(ck, gids)
    # Minimal transfers after joins, then after leaves
    new = [NPARA + 1 + i for i in range(5)]
    c1, c2 = minimal_transfers_after_joins(t, ck, lambda: [
        t.join_groups(ck, {g: servers(g, "a", "b", "c")}) for g in new])
    minimal_transfers_after_leaves(t, ck, c1, c2, lambda: [t.leave_gids(ck, [g]) for g in new])
    t.check(ck, gids)


@ENGINES
def test_multi_4a(request, engine):
    t = CtrlTester(request.node.name, engine=engine)
    ck = t.make_client()
    # Multi-group join/leave
    t.check(ck, [])
    t.join_groups(ck, {1: ["x", "y", "z"], 2: ["a", "b", "c"]})
    t.check(ck, [1, 2])
    t.join_groups(ck, {3: ["j", "k", "l"]})
    t.check(ck, [1, 2, 3])
    cfx = t.query(ck)
    check_servers(t, cfx, 1, ["x", "y", "z"])
    check_servers(t, cfx, 2, ["a", "b", "c"])
    check_servers(t, cfx, 3, ["j", "k", "l"])
    t.leave_gids(ck, [1, 3])
    t.check(ck, [2])
    check_servers(t, t.query(ck), 2, ["a", "b", "c"])
    t.leave_gids(ck, [2])
    # Concurrent multi leave/join
    gids = [i + 1000 for i in range(NPARA)]

    def joiner(gid: int) -> Body:
        yield ("call", {"op": "join", "groups": {gid: servers(gid, "a", "b", "c"),
                                                 gid + 1000: [f"{gid + 1000}a"],
                                                 gid + 2000: [f"{gid + 2000}a"]}})
        yield ("call", {"op": "leave", "gids": [gid + 1000, gid + 2000]})

    run_concurrently(t, {t.make_client(): joiner(g) for g in gids})
    t.check(ck, gids)
    # Minimal transfers after multijoins, then multileaves
    new = [NPARA + 1 + i for i in range(5)]
    c1, c2 = minimal_transfers_after_joins(t, ck, lambda: t.join_groups(
        ck, {g: [f"{g}a", f"{g}b"] for g in new}))
    minimal_transfers_after_leaves(t, ck, c1, c2, lambda: t.leave_gids(ck, new))
    t.check(ck, gids)
    # Check Same config on servers: the new leader's latest is the old leader's
    t.world.run_until(lambda: t.leader() is not None, 5.0)
    leader = t.leader()
    t.expect(leader is not None, "no leader")
    c = t.query(ck)
    t.shutdown_server(leader)
    t.world.run_until(lambda: t.leader() is not None, 5.0)
    t.expect(t.leader() is not None, "no new leader within 5 s of shutting down the old one")
    diff = same_config(t.query(ck), c)
    t.expect(diff is None, f"the new leader's latest config differs: {diff}")


# ---------------------------------------------------------------------- 2015 (A.4.1)

@ENGINES
def test_basic_2015(request, engine):
    t = CtrlTester(request.node.name, engine=engine, profile=KV_RELIABLE_2015,
                   maxraftstate=1000)
    ck = t.make_client()
    # Basic leave/join
    cfa = [t.query(ck)]
    t.check(ck, [])
    t.join_groups(ck, {1: ["x", "y", "z"]})
    t.check(ck, [1])
    cfa.append(t.query(ck))
    t.join_groups(ck, {2: ["a", "b", "c"]})
    t.check(ck, [1, 2])
    cfa.append(t.query(ck))
    t.join_groups(ck, {2: ["a", "b"]})   # a group joining again: its servers replaced
    t.check(ck, [1, 2])
    cfa.append(t.query(ck))
    check_servers(t, cfa[-1], 1, ["x", "y", "z"])
    check_servers(t, cfa[-1], 2, ["a", "b"])
    t.leave_gids(ck, [1])
    t.check(ck, [2])
    cfa.append(t.query(ck))
    t.leave_gids(ck, [1])                 # leaving again changes no group
    t.check(ck, [2])
    cfa.append(t.query(ck))
    # Historical queries, through each server
    for s in range(t.n):
        cks = t.make_client([s])
        for cf in cfa:
            diff = same_config(t.query(cks, cf.num), cf)
            t.expect(diff is None, f"historical config {cf.num} through server {s}: {diff}")
    # Move
    move_test(t, ck)
    # Concurrent leave/join, through different servers
    gids = list(range(1, NPARA + 1))

    def joiner(gid: int) -> Body:
        yield ("call", {"op": "join", "groups": {gid + 1000: ["a", "b", "c"]}})
        yield ("call", {"op": "join", "groups": {gid: ["a", "b", "c"]}})
        yield ("call", {"op": "leave", "gids": [gid + 1000]})

    run_concurrently(t, {t.make_client([g % t.n]): joiner(g) for g in gids})
    t.check(ck, gids)
    # Min advances after joins: every replica's log forgot a prefix (kept by a snapshot)
    for g in range(1, 11):
        t.join_groups(ck, {g + 2000: ["a"]})
        t.leave_gids(ck, [g + 2000])
    t.sleep(1.0)
    for name in t.servers:
        t.expect(t.world.persisters[name].snapshot_size() > 0,
                 f"{name}: its log was never compacted")
    # Minimal transfers after joins, then after leaves
    new = [NPARA + 1 + i for i in range(5)]
    c1, c2 = minimal_transfers_after_joins(t, ck, lambda: [
        t.join_groups(ck, {g: ["a", "b", "c"]}) for g in new])
    minimal_transfers_after_leaves(t, ck, c1, c2, lambda: [t.leave_gids(ck, [g]) for g in new])


@ENGINES
def test_unreliable_2015(request, engine):
    t = CtrlTester(request.node.name, engine=engine, profile=KV_RELIABLE_2015)
    ck = t.make_client()
    rng = t.rng
    gids = list(range(1, 21))
    deaf: list[bool] = []

    def joiner(gid: int) -> Body:
        via = [t.make_client([1]), t.make_client([2])]   # the Go loops share cka[1], cka[2]
        for call in ({"op": "join", "groups": {gid + 1000: ["a", "b", "c"]}},
                     {"op": "join", "groups": {gid: ["a", "b", "c"]}},
                     {"op": "leave", "gids": [gid + 1000]}):
            yield ("call_on", (via[rng.randrange(2)], call))
        if not deaf:   # server 0 won't be able to hear any RPCs
            yield ("do", lambda: (t.world.deafen(t.servers[0]), deaf.append(True)))

    run_concurrently(t, {f"loop{g}": joiner(g) for g in gids})
    t.check(ck, gids)


def test_fresh_query_2015(request):
    """On Paxos, as in 2015: every peer proposes, so server 0, which can send but not be
    sent to, still reaches agreement. (On Raft a leader that peers cannot reach is stuck
    with their forwarded requests; test_fresh_query_cut_off_leader covers both engines.)"""
    t = CtrlTester(request.node.name, engine="paxos", profile=KV_RELIABLE_2015)
    ck1 = t.make_client([1])
    ck0 = t.make_client([0])
    t.world.deafen(t.servers[0], hears=[ck0])   # its socket renamed: only ck0 knows it
    t.join_groups(ck1, {1001: ["a", "b", "c"]})
    c = t.query(ck0)
    t.expect(1001 in c.gids(), f"Query(-1) produced a stale configuration: {c}")


@ENGINES
def test_fresh_query_cut_off_leader(request, engine):
    """A Query through a server cut off from its peers never answers from its own, stale
    state: it does not return while cut off, and returns the new configuration after."""
    t = CtrlTester(request.node.name, engine=engine)
    ck = t.make_client()
    t.check(ck, [])
    lead = t.leader()
    t.expect(lead is not None, "no leader")
    rest = [i for i in range(t.n) if i != lead]
    t.world.partition([t.servers[lead]], [t.servers[i] for i in rest])
    t.join_groups(t.make_client(rest), {1001: ["a", "b", "c"]})
    stale = t.make_client([lead])
    for s in rest:
        t.world.block(stale_name := stale, t.servers[s])
        t.world.block(t.servers[s], stale_name)
    call = t.start_call(stale, {"op": "query", "num": -1})
    t.sleep(1.0)
    t.expect(not call.done, f"a server cut off from its peers answered a Query: {call.output}")
    t.world.heal()
    t.world.run_until(lambda: call.done, 10.0)
    t.expect(call.done, "the Query did not return after the heal")
    t.expect(1001 in call.output.gids(), f"Query(-1) produced a stale configuration: "
             f"{call.output}")
