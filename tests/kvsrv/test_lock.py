"""Lab 2's lock (6.5840, spring 2025: ``src/kvsrv1/lock/lock_test.go``), built on the
clerk's Get and versioned Put, on the simulated network in virtual time.

Ported: TestReliableBasic, TestReliableNested, TestOneClientReliable, TestManyClientsReliable,
TestOneClientUnreliable, TestManyClientsUnreliable (NCLNT 10 clients for NSEC 2 s). As in the
Go test, a client inside the critical section finds the key "l0" empty, writes its name
there, sleeps 10 ms and empties it again: a second client inside would find it taken. Beyond
the Go test, mutual exclusion is checked as a property of virtual time: the intervals from a
client's Acquire returning to its Release starting never overlap; and the locks are free at
the end of the single-client tests. Every history is checked against the versioned-kv model.
"""

from __future__ import annotations

import math

import pytest
from faultlab.kv.messages import ERR_MAYBE, OK
from faultlab.kvsrv.lock import Lock
from kvsrv_tester import ClntRes, Tester

NCLNT = 10
NSEC = 2.0
#: The unreliable network here delays requests and replies (labrpc only requests), and the
#: clerk resends only after the longest round trip (a Go Call returns false at once): a call
#: takes about three times as long as in the Go test, so the unreliable runs last three times
#: as long, for about as many critical sections (some 15 with 10 clients, not 1 to 4).
NSEC_UNRELIABLE = 6.0
CRITICAL = 0.01   # the Go test's time.Sleep(10 * time.Millisecond) inside the section


def put_input(key: str, value: str, version: int) -> dict:
    return {"op": "put", "key": key, "value": value, "version": version}


def make_lock(t: Tester, name: str) -> Lock:
    """The lab's MakeLock(ck, name): a lock with a fresh random holder id."""
    return Lock(name, t.rand_value(8))


def expect_free(t: Tester, ck: str, *names: str) -> None:
    for name in names:
        value, _, err = t.get(ck, name)
        t.expect(err == OK and value == "", f"lock {name!r} not free at the end: {value!r}")


def test_reliable_basic(request):
    """A single Acquire and Release."""
    t = Tester(request.node.name)
    ck = t.make_clerk()
    lk1 = make_lock(t, t.rand_value(12))

    def body():
        yield from lk1.acquire()
        yield from lk1.release()

    t.run({ck: body()})
    expect_free(t, ck, lk1.key)
    t.audit()


def test_reliable_nested(request):
    """One client, two locks: locks with different names can be held at the same time."""
    t = Tester(request.node.name)
    ck = t.make_clerk()
    lk1, lk2 = make_lock(t, t.rand_value(12)), make_lock(t, t.rand_value(12))

    def body():
        for step in (lk1.acquire, lk2.acquire, lk2.release, lk1.release,
                     lk2.acquire, lk1.acquire, lk1.release, lk1.acquire, lk2.release,
                     lk1.release):
            yield from step()

    t.run({ck: body()})
    expect_free(t, ck, lk1.key, lk2.key)
    t.audit()


def check_mutual_exclusion(t: Tester, inside: list[list]) -> None:
    """No two clients were inside the critical section at one instant of virtual time."""
    last_out, holder = -math.inf, None
    for enter, leave, me in sorted(inside):
        t.expect(enter >= last_out,
                 f"clients {holder} and {me} both inside the critical section at "
                 f"t={enter:.4f}s (client {holder} left at {last_out:.4f}s)")
        if leave > last_out:
            last_out, holder = leave, me


def run_clients(request, nclnt: int, reliable: bool, nsec: float) -> int:
    """Each of ``nclnt`` clients takes the lock and goes through the critical section,
    again and again, for ``nsec`` seconds; the number of critical sections gone through."""
    t = Tester(request.node.name, reliable=reliable)
    name1, name2 = t.rand_value(12), t.rand_value(12)
    inside: list[list] = []   # [entered, left (inf: never), client]

    def one_client(me: int, ck: str, res: ClntRes):
        lk1, lk2 = make_lock(t, name1), make_lock(t, name2)
        for step in (lk1.acquire, lk2.acquire, lk1.release, lk2.release):
            yield from step()
        yield ("call", put_input("l0", "", 0))
        while True:
            yield from lk1.acquire()
            record = [(yield ("do", t.now)), math.inf, me]
            inside.append(record)
            val, ver, err = yield ("call", {"op": "get", "key": "l0"})
            t.expect(err == OK, f"{me}: get failed {err}")
            t.expect(val == "", f"{me}: two clients acquired lock {val}")
            err = yield ("call", put_input("l0", str(me), ver))
            t.expect(err in (OK, ERR_MAYBE), f"{me}: put failed {err}")
            yield ("sleep", CRITICAL)
            err = yield ("call", put_input("l0", "", ver + 1))
            t.expect(err in (OK, ERR_MAYBE), f"{me}: put failed {err}")
            record[1] = yield ("do", t.now)
            yield from lk1.release()
            res.nok += 1

    results = t.spawn_clients(nclnt, nsec, one_client)
    check_mutual_exclusion(t, inside)
    rounds = sum(r.nok for r in results)
    t.expect(rounds > 0, "no client ever went through the critical section")
    print(f"  {rounds} critical sections by {sum(r.nok > 0 for r in results)} of {nclnt} "
          f"clients, {t.resends()} resent requests")
    t.audit()
    return rounds


@pytest.mark.parametrize("nclnt", [1, NCLNT], ids=["one", "many"])
@pytest.mark.parametrize("reliable", [True, False], ids=["reliable", "unreliable"])
def test_clients(request, nclnt, reliable):
    """TestOneClientReliable, TestManyClientsReliable, TestOneClientUnreliable,
    TestManyClientsUnreliable."""
    run_clients(request, nclnt, reliable, nsec=NSEC if reliable else NSEC_UNRELIABLE)
