"""Lab 3A (kvraft, 2022; CATALOG B.3): the key/value service without snapshots, on both
consensus engines (none of these tests depends on which is below)."""

from __future__ import annotations

import pytest
from kv_generic import appends_to_one_key, generic_test, generic_test_speed
from kv_tester import ELECTION_TIMEOUT, Tester

ENGINES = pytest.mark.parametrize("engine", ["raft", "paxos"])
#: The heaviest generic tests run on Paxos in the deep profile only (FAULTLAB_PROFILE=deep
#: pytest -m deep): the Paxos peer saves after every acceptor step and takes 4-6 times as
#: long as Raft on these tens of thousands of calls.
ENGINES_PAXOS_DEEP = pytest.mark.parametrize(
    "engine", ["raft", pytest.param("paxos", marks=pytest.mark.deep)])


@ENGINES
def test_basic_3a(request, engine):
    generic_test(Tester(request.node.name, 5, engine=engine), 1)


@ENGINES
def test_speed_3a(request, engine):
    generic_test_speed(Tester(request.node.name, 3, engine=engine))


@ENGINES
def test_concurrent_3a(request, engine):
    generic_test(Tester(request.node.name, 5, engine=engine), 5)


@ENGINES
def test_unreliable_3a(request, engine):
    generic_test(Tester(request.node.name, 5, engine=engine, unreliable=True), 5)


@ENGINES
def test_unreliable_one_key_3a(request, engine):
    t = Tester(request.node.name, 3, engine=engine, unreliable=True)
    ck = t.make_client()
    t.put(ck, "k", "")
    appends_to_one_key(t, ck, nclients=5, count=10)
    t.audit()


@ENGINES
def test_one_partition_3a(request, engine):
    t = Tester(request.node.name, 5, engine=engine)
    ck = t.make_client()
    t.put(ck, "1", "13")
    # progress in majority
    p1, p2 = t.make_partition()
    t.partition(p1, p2)
    ckp1 = t.make_client(p1)
    ckp2a = t.make_client(p2)
    ckp2b = t.make_client(p2)
    t.put(ckp1, "1", "14")
    t.check(ckp1, "1", "14")
    # no progress in minority
    put15 = t.start_call(ckp2a, {"op": "put", "key": "1", "value": "15"})
    get = t.start_call(ckp2b, {"op": "get", "key": "1"})
    t.sleep(1.0)
    t.expect(not put15.done, "Put in minority completed")
    t.expect(not get.done, "Get in minority completed")
    t.check(ckp1, "1", "14")
    t.put(ckp1, "1", "16")
    t.check(ckp1, "1", "16")
    # completion after heal: the Put within 3 s, and (unlike the course's test, whose wait
    # has a default branch) the Get too
    t.connect_all()
    t.connect_client(ckp2a, t.all())
    t.connect_client(ckp2b, t.all())
    t.sleep(ELECTION_TIMEOUT)
    t.world.run_until(lambda: put15.done and get.done, 3.0)
    t.expect(put15.done, "Put did not complete")
    t.expect(get.done, "Get did not complete")
    t.check(ck, "1", "15")
    t.audit()


@ENGINES
def test_many_partitions_one_client_3a(request, engine):
    generic_test(Tester(request.node.name, 5, engine=engine), 1, partitions=True)


@ENGINES
def test_many_partitions_many_clients_3a(request, engine):
    generic_test(Tester(request.node.name, 5, engine=engine), 5, partitions=True)


@ENGINES
def test_persist_one_client_3a(request, engine):
    generic_test(Tester(request.node.name, 5, engine=engine), 1, crash=True)


@ENGINES_PAXOS_DEEP
def test_persist_concurrent_3a(request, engine):
    generic_test(Tester(request.node.name, 5, engine=engine), 5, crash=True)


@ENGINES
def test_persist_concurrent_unreliable_3a(request, engine):
    generic_test(Tester(request.node.name, 5, engine=engine, unreliable=True), 5, crash=True)


@ENGINES_PAXOS_DEEP
def test_persist_partition_3a(request, engine):
    generic_test(Tester(request.node.name, 5, engine=engine), 5, crash=True, partitions=True)


@ENGINES
def test_persist_partition_unreliable_3a(request, engine):
    generic_test(Tester(request.node.name, 5, engine=engine, unreliable=True), 5, crash=True,
                 partitions=True)


@ENGINES
def test_persist_partition_unreliable_linearizable_3a(request, engine):
    generic_test(Tester(request.node.name, 7, engine=engine, unreliable=True), 15, crash=True,
                 partitions=True, randomkeys=True)
