"""The 2015 kvpaxos tests (CATALOG A.3.2) on both consensus engines, on the 2015 harness's
networks (:data:`~faultlab.kv.cluster.KV_RELIABLE_2015`, ``KV_UNRELIABLE_2015``: every
message of an unreliable server is lossy, peer traffic included).

Clerks either know every server (in shuffled order) or only one (``only=True``, the test's
``MakeClerk([]string{port(i)})``); partitions cut the links between servers, never those of
a clerk to its servers. Beyond the Go tests, every test's history is audited.
"""

from __future__ import annotations

import pytest
from faultlab.kv.cluster import KV_RELIABLE_2015, KV_UNRELIABLE_2015
from kv_generic import appends_to_one_key
from kv_tester import Tester

ENGINES = pytest.mark.parametrize("engine", ["paxos", "raft"])


def _tester(request, n: int, engine: str, *, unreliable: bool = False,
            maxraftstate: int = -1) -> Tester:
    return Tester(request.node.name, n, engine=engine, maxraftstate=maxraftstate,
                  profile=KV_UNRELIABLE_2015 if unreliable else KV_RELIABLE_2015)


def _single_server_clerks(t: Tester) -> list[str]:
    return [t.make_client([i], only=True) for i in range(t.n)]


def _concurrent_clients(t: Tester, cka: list[str], *, rounds: int, single: bool) -> None:
    """``rounds`` rounds of 15 one-shot clerks (half Put a random value to "b", half Get
    it), each on one random server (``single``) or knowing all; after each round every
    server returns the same "b"."""
    for _ in range(rounds):
        def one_shot():
            if t.rng.randrange(1000) < 500:
                yield ("call", {"op": "put", "key": "b", "value": str(t.rng.randrange(10**9))})
            else:
                yield ("call", {"op": "get", "key": "b"})
        clerks = [t.make_client([t.rng.randrange(t.n)], only=True) if single
                  else t.make_client() for _ in range(15)]
        t.clients({c: one_shot() for c in clerks}).run()
        values = [t.get(ck, "b") for ck in cka]
        t.expect(len(set(values)) == 1, f"servers disagree on 'b': {values}")


def _put_through_one_get_through_all(t: Tester, ck: str, cka: list[str]) -> None:
    t.put(ck, "a", "aa")
    t.check(ck, "a", "aa")
    t.put(cka[1], "a", "aaa")
    t.check(cka[2], "a", "aaa")
    t.check(cka[1], "a", "aaa")
    t.check(ck, "a", "aaa")


@ENGINES
def test_basic(request, engine):
    t = _tester(request, 3, engine)
    ck = t.make_client()
    cka = _single_server_clerks(t)
    # basic put/puthash/get
    t.append(ck, "app", "x")
    t.append(ck, "app", "y")
    t.check(ck, "app", "xy")
    _put_through_one_get_through_all(t, ck, cka)
    # concurrent clients
    _concurrent_clients(t, cka, rounds=20, single=True)
    t.audit()


@ENGINES
def test_done(request, engine):
    """The servers free the log's memory: what they hold after 20 one-megabyte Puts stays
    within the Go test's allowance (the start plus nservers x items x size x 2)."""
    t = _tester(request, 3, engine, maxraftstate=1000)
    ck = t.make_client()
    cka = _single_server_clerks(t)
    t.put(ck, "a", "aa")
    t.check(ck, "a", "aa")
    m0 = t.held_bytes()
    size, items = 1_000_000, 10
    printable = bytes((b % 100) + 1 for b in range(256))  # the Go test's bytes 1..100
    for _ in range(2):
        for i in range(items):
            value = t.rng.randbytes(size).translate(printable).decode("ascii")
            t.put(ck, str(i), value)
            t.check(cka[i % t.n], str(i), value)
    # Put and Get through each replica, in case Done information rides on proposals
    for _ in range(2):
        for c in cka:
            t.put(c, "a", "aa")
            t.check(c, "a", "aa")
    t.sleep(1.0)
    m1 = t.held_bytes()
    allowed = m0 + t.n * items * size * 2
    t.expect(m1 <= allowed,
             f"memory use did not shrink enough (held {m1} bytes, allowed {allowed})")
    t.audit()


@ENGINES
def test_partition(request, engine):
    t = _tester(request, 5, engine)
    cka = _single_server_clerks(t)
    # no partition
    t.connect_all()
    t.put(cka[0], "1", "12")
    t.put(cka[2], "1", "13")
    t.check(cka[3], "1", "13")
    # progress in majority
    t.partition([2, 3, 4], [0, 1])
    t.put(cka[2], "1", "14")
    t.check(cka[4], "1", "14")
    # no progress in minority
    put15 = t.start_call(cka[0], {"op": "put", "key": "1", "value": "15"})
    get = t.start_call(cka[1], {"op": "get", "key": "1"})
    t.sleep(1.0)
    t.expect(not put15.done, "Put in minority completed")
    t.expect(not get.done, "Get in minority completed")
    t.check(cka[4], "1", "14")
    t.put(cka[3], "1", "16")
    t.check(cka[4], "1", "16")
    # completion after heal
    t.partition([0, 2, 3, 4], [1])
    t.world.run_until(lambda: put15.done, 3.0)
    t.expect(put15.done, "Put did not complete")
    t.expect(not get.done, "Get completed in the minority")
    t.check(cka[4], "1", "15")
    t.check(cka[0], "1", "15")
    t.partition([0, 1, 2], [3, 4])
    t.world.run_until(lambda: get.done, 10.0)
    t.expect(get.done, "Get did not complete")
    t.check(cka[1], "1", "15")
    t.audit()


@ENGINES
def test_unreliable(request, engine):
    t = _tester(request, 3, engine, unreliable=True)
    ck = t.make_client()
    cka = _single_server_clerks(t)
    # basic put/get, unreliable
    _put_through_one_get_through_all(t, ck, cka)
    # sequence of puts, unreliable
    for _ in range(6):
        def sequence(me: int):
            key = str(me)
            vv = yield ("call", {"op": "get", "key": key})
            for part in "012":
                yield ("call", {"op": "append", "key": key, "value": part})
                vv += part
            yield ("sleep", 0.1)
            for _ in range(2):
                got = yield ("call", {"op": "get", "key": key})
                if got != vv:
                    t.fail(f"wrong value for {key!r}: wanted {vv!r}, got {got!r}")
        t.clients({t.make_client(): sequence(me) for me in range(5)}).run()
    # concurrent clients, unreliable
    _concurrent_clients(t, cka, rounds=20, single=False)
    # concurrent append to same key, unreliable
    t.put(ck, "k", "")
    vx0 = appends_to_one_key(t, ck, nclients=5, count=5)
    for c in cka:
        t.expect(t.get(c, "k") == vx0, "servers disagree on 'k'")
    t.audit()


@ENGINES
def test_hole(request, engine):
    """The majority makes progress although the minority abandoned agreements midway."""
    t = _tester(request, 5, engine)
    for _ in range(5):
        t.connect_all()
        ck2 = t.make_client([2], only=True)
        t.put(ck2, "q", "q")
        nclients = 10
        done = [False]  # the Go test's done flag: set by control once the network is whole

        def hammer(cli: int, cka: list[str], done: list[bool] = done):
            """Through server 0 or 1 at random (one clerk for each), Put or Get-check."""
            key, last = str(cli), ""
            yield ("call_on", (cka[0], {"op": "put", "key": key, "value": last}))
            while not done[0]:
                ck = cka[t.rng.randrange(2)]
                if t.rng.randrange(1000) < 500:
                    nv = str(t.rng.randrange(10**9))
                    yield ("call_on", (ck, {"op": "put", "key": key, "value": nv}))
                    last = nv
                else:
                    v = yield ("call_on", (ck, {"op": "get", "key": key}))
                    if v != last:
                        t.fail(f"{cli}: wrong value for {key!r}: wanted {last!r}, got {v!r}")

        def control(done: list[bool] = done):
            yield ("sleep", 3.0)
            yield ("do", lambda: t.partition([2, 3, 4], [0, 1]))
            v = yield ("call", {"op": "get", "key": "q"})
            if v != "q":
                t.fail(f"Get('q') in the majority: wanted 'q', got {v!r}")
            yield ("call", {"op": "put", "key": "q", "value": "qq"})
            v = yield ("call", {"op": "get", "key": "q"})
            if v != "qq":
                t.fail(f"Get('q') in the majority: wanted 'qq', got {v!r}")
            yield ("do", t.connect_all)
            done[0] = True

        bodies = {f"hammer{cli}": hammer(cli, [t.make_client([i], only=True) for i in (0, 1)])
                  for cli in range(nclients)}
        bodies[ck2] = control()
        t.clients(bodies).run()
        t.check(ck2, "q", "qq")
    t.audit()


@ENGINES
def test_many_partition(request, engine):
    t = _tester(request, 5, engine, unreliable=True)
    nclients, seconds = 10, 20.0

    def partitioner():
        while True:
            side = [t.rng.randrange(3) for _ in range(t.n)]
            groups = [[i for i in range(t.n) if side[i] == g] for g in range(3)]
            yield ("do", lambda groups=groups: t.partition(*[g for g in groups if g]))
            yield ("sleep", t.rng.randrange(200) / 1000)
            if t.world.now >= stop:
                yield ("do", t.connect_all)
                return

    def client(cli: int):
        key, last = str(cli), ""
        yield ("call", {"op": "put", "key": key, "value": last})
        while True:
            if t.rng.randrange(1000) < 500:
                nv = str(t.rng.randrange(10**9))
                yield ("call", {"op": "append", "key": key, "value": nv})
                last += nv
            else:
                v = yield ("call", {"op": "get", "key": key})
                if v != last:
                    t.fail(f"{cli}: get wrong value, key {key!r}, wanted {last!r}, got {v!r}")

    stop = t.world.now + seconds
    bodies = {t.make_client(): client(cli) for cli in range(nclients)}
    bodies["partitioner"] = partitioner()
    t.clients(bodies).run(duration=seconds)
    t.audit()
