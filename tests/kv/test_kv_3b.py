"""Lab 3B (kvraft, 2022; CATALOG B.3): the key/value service with snapshots at maxraftstate,
on both consensus engines. The bounds are the course's: the log's persisted state stays
within 8 x maxraftstate, a snapshot (store plus duplicate table) within 500 bytes.

On Paxos, "the log's persisted state" is the peer's persisted instances: the log forgets
the instances a snapshot covers (faultlab.consensus, "compaction"), so the same bounds hold.
"""

from __future__ import annotations

import pytest
from kv_generic import generic_test, generic_test_speed
from kv_tester import Tester

ENGINES = pytest.mark.parametrize("engine", ["raft", "paxos"])
#: The heaviest generic tests run on Paxos in the deep profile only (FAULTLAB_PROFILE=deep
#: pytest -m deep): the Paxos peer saves after every acceptor step and takes 4-6 times as
#: long as Raft on these tens of thousands of calls.
ENGINES_PAXOS_DEEP = pytest.mark.parametrize(
    "engine", ["raft", pytest.param("paxos", marks=pytest.mark.deep)])
MAXRAFTSTATE = 1000
SNAPSHOT_LIMIT = 500


@ENGINES
def test_snapshot_rpc_3b(request, engine):
    t = Tester(request.node.name, 3, engine=engine, maxraftstate=MAXRAFTSTATE)
    ck = t.make_client()
    t.put(ck, "a", "A")
    t.check(ck, "a", "A")
    # a bunch of puts into the majority partition
    t.partition([0, 1], [2])
    ck1 = t.make_client([0, 1])
    for i in range(50):
        t.put(ck1, str(i), str(i))
    t.sleep(1.0)   # electionTimeout
    t.put(ck1, "b", "B")
    # check that the majority partition has thrown away most of its log entries
    size = t.log_size()
    t.expect(size <= 8 * MAXRAFTSTATE,
             f"logs were not trimmed ({size} > 8*{MAXRAFTSTATE})")
    # now make a group that requires participation of the lagging server, so that it has
    # to catch up through a snapshot
    t.partition([0, 2], [1])
    ck2 = t.make_client([0, 2])
    t.put(ck2, "c", "C")
    t.put(ck2, "d", "D")
    t.check(ck2, "a", "A")
    t.check(ck2, "b", "B")
    t.check(ck2, "1", "1")
    t.check(ck2, "49", "49")
    # now everybody
    t.connect_all()
    t.put(ck, "e", "E")
    t.check(ck, "c", "C")
    t.check(ck, "e", "E")
    t.check(ck, "1", "1")
    t.audit()


@ENGINES
def test_snapshot_size_3b(request, engine):
    t = Tester(request.node.name, 3, engine=engine, maxraftstate=MAXRAFTSTATE)
    ck = t.make_client()
    for _ in range(200):
        t.put(ck, "x", "0")
        t.check(ck, "x", "0")
        t.put(ck, "x", "1")
        t.check(ck, "x", "1")
    size = t.log_size()
    t.expect(size <= 8 * MAXRAFTSTATE, f"logs were not trimmed ({size} > 8*{MAXRAFTSTATE})")
    snap = t.snapshot_size()
    t.expect(snap <= SNAPSHOT_LIMIT, f"snapshot too large ({snap} > {SNAPSHOT_LIMIT})")
    t.audit()


@ENGINES
def test_speed_3b(request, engine):
    generic_test_speed(Tester(request.node.name, 3, engine=engine, maxraftstate=MAXRAFTSTATE))


@ENGINES
def test_snapshot_recover_3b(request, engine):
    generic_test(Tester(request.node.name, 5, engine=engine, maxraftstate=MAXRAFTSTATE), 1,
                 crash=True)


@ENGINES_PAXOS_DEEP
def test_snapshot_recover_many_clients_3b(request, engine):
    generic_test(Tester(request.node.name, 5, engine=engine, maxraftstate=MAXRAFTSTATE), 20,
                 crash=True)


@ENGINES
def test_snapshot_unreliable_3b(request, engine):
    generic_test(Tester(request.node.name, 5, engine=engine, unreliable=True,
                        maxraftstate=MAXRAFTSTATE), 5)


@ENGINES
def test_snapshot_unreliable_recover_3b(request, engine):
    generic_test(Tester(request.node.name, 5, engine=engine, unreliable=True,
                        maxraftstate=MAXRAFTSTATE), 5, crash=True)


@ENGINES
def test_snapshot_unreliable_recover_concurrent_partition_3b(request, engine):
    generic_test(Tester(request.node.name, 5, engine=engine, unreliable=True,
                        maxraftstate=MAXRAFTSTATE), 5, crash=True, partitions=True)


@ENGINES
def test_snapshot_unreliable_recover_concurrent_partition_linearizable_3b(request, engine):
    generic_test(Tester(request.node.name, 7, engine=engine, unreliable=True,
                        maxraftstate=MAXRAFTSTATE), 15, crash=True, partitions=True,
                 randomkeys=True)
