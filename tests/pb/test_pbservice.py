"""Ports of the 2015 ``src/pbservice/test_test.go`` (10 tests), in virtual time.

Go's goroutine clerks are :class:`Clients` loops, ``time.Sleep`` is virtual, ``kill()`` is a
crash and ``StartServer`` a fresh server. ``setunreliable`` is the ``UNRELIABLE_2015``
network profile; the partition tests cut a server from the viewservice and put a delaying
proxy in front of it (``World.slow``). Histories of the concurrent, unreliable and
partition tests are audited with the checker's kv model: not linearizable fails, unknown is
reported.
"""

from __future__ import annotations

import random

import pytest
from faultlab.pb.cluster import RELIABLE_2015, UNRELIABLE_2015
from faultlab.pb.common import DEAD_PINGS, PING_INTERVAL, VIEWSERVICE
from pb_harness import DEADTIME, Clients, Lab


@pytest.fixture
def lab(seed: int) -> Lab:
    return Lab(seed, RELIABLE_2015)


def unreliable(lab: Lab) -> None:
    lab.world.set_profile(UNRELIABLE_2015)


def wait_primary_and_backup(lab: Lab, iters: int) -> None:
    lab.wait_view(lambda v: bool(v[1] and v[2]), iters)


def check_appends(lab: Lab, v: str, counts: list[int]) -> None:
    """Every known append is present exactly once, in per-client order."""
    for i, n in enumerate(counts):
        last = -1
        for j in range(n):
            wanted = f"x {i} {j} y"
            off = v.find(wanted)
            lab.expect(off >= 0, f"missing element {wanted!r} in Append result")
            lab.expect(v.rfind(wanted) == off, f"duplicate element {wanted!r} in Append result")
            lab.expect(off > last, f"wrong order for element {wanted!r} in Append result")
            last = off


def check_append_order(lab: Lab, v: str, key: str) -> None:
    """Appends of unique values to ``key`` appear in ``v`` in an order that respects real
    time: if append A returned before append B was called, A comes first. (With the final
    value known, this decides linearizability of an append-only history, which the generic
    search often cannot do in time: only the final Get constrains the order.)"""
    appends = [r for r in lab.world.history
               if r.input["op"] == "append" and r.input["key"] == key]
    pos = {r.input["value"]: v.find(r.input["value"]) for r in appends}
    done = sorted((r for r in appends if r.done), key=lambda r: r.ret)
    for r in done:
        lab.expect(pos[r.input["value"]] >= 0, f"completed append {r.input['value']!r} lost")
    by_call = sorted(appends, key=lambda r: r.call)
    latest_pos, latest = -1, None  # among appends returned before the current call
    k = 0
    for b in by_call:
        while k < len(done) and done[k].ret < b.call:
            p = pos[done[k].input["value"]]
            if p > latest_pos:
                latest_pos, latest = p, done[k]
            k += 1
        if pos[b.input["value"]] >= 0 and latest is not None:
            lab.expect(pos[b.input["value"]] > latest_pos,
                       f"append {b.input['value']!r} precedes {latest.input['value']!r} in "
                       f"the value although it was called after that one returned")


def test_BasicFail(lab: Lab, record_property) -> None:
    lab.sleep(1.0)
    ck = lab.make_clerk("c1")

    # Single primary, no backup
    lab.start_server("s1")
    lab.sleep(DEADTIME * 2)
    lab.expect(lab.primary() == "s1", "first primary never formed view")
    lab.put(ck, "111", "v1")
    lab.check(ck, "111", "v1")
    lab.put(ck, "2", "v2")
    lab.check(ck, "2", "v2")
    lab.put(ck, "1", "v1a")
    lab.check(ck, "1", "v1a")
    lab.append(ck, "ak", "hello")
    lab.check(ck, "ak", "hello")
    lab.put(ck, "ak", "xx")
    lab.append(ck, "ak", "yy")
    lab.check(ck, "ak", "xxyy")

    # Add a backup
    lab.start_server("s2")
    lab.wait_view(lambda v: v[2] == "s2", DEAD_PINGS * 2)
    lab.expect(lab.view()[2] == "s2", "backup never came up")
    lab.put(ck, "3", "33")
    lab.check(ck, "3", "33")
    lab.sleep(3 * PING_INTERVAL)  # give the backup time to initialize
    lab.put(ck, "4", "44")
    lab.check(ck, "4", "44")

    # Count RPCs to viewserver: clerks and servers cache the view; each of the two servers
    # may ping 10 times a second.
    count1 = lab.world.counters.received[VIEWSERVICE]
    t1 = lab.world.now
    for i in range(100):
        lab.put(ck, f"xk{i}", str(i))
    count2 = lab.world.counters.received[VIEWSERVICE]
    dt = lab.world.now - t1
    allowed = 2 * int(dt / 0.1)
    record_property("viewservice_rpcs", f"{count2 - count1} for 100 Puts in {dt:.3f}s "
                    f"virtual, allowed {allowed} + 20")
    print(f"Count RPCs to viewserver: {count2 - count1} in {dt:.3f}s, allowed {allowed}+20")
    lab.expect(count2 - count1 <= allowed + 20,
               f"too many viewserver RPCs: {count2 - count1} > {allowed} + 20")

    # Primary failure
    lab.kill("s1")
    lab.wait_view(lambda v: v[1] == "s2", DEAD_PINGS * 2)
    lab.expect(lab.view()[1] == "s2", "backup never switched to primary")
    lab.check(ck, "1", "v1a")
    lab.check(ck, "3", "33")
    lab.check(ck, "4", "44")

    # Kill last server, new one should not be active
    lab.kill("s2")
    lab.start_server("s3")
    lab.sleep(1.0)
    rec = lab.world.invoke(ck, {"op": "get", "key": "1"})
    lab.world.run_until(lambda: rec.done, 2.0)
    lab.expect(not rec.done, "ck.Get() returned even though no initialized primary")
    lab.audit()


def test_AtMostOnce(lab: Lab) -> None:
    lab.sleep(1.0)
    lab.start_server("s1")
    unreliable(lab)
    wait_primary_and_backup(lab, DEAD_PINGS * 2)  # there is one server: no backup ever
    lab.sleep(DEADTIME)  # give p+b time to ack, initialize
    ck = lab.make_clerk("c1")
    val = ""
    for i in range(100):
        lab.append(ck, "counter", str(i))
        val += str(i)
    v = lab.get(ck, "counter")
    lab.expect(v == val, f"ck.Get() returned {v!r} but expected {val!r}")
    lab.audit()


def test_FailPut(lab: Lab) -> None:
    """Put right after a backup dies, and right after a primary dies."""
    lab.sleep(1.0)
    lab.start_server("s1")
    lab.sleep(1.0)
    lab.start_server("s2")
    lab.sleep(1.0)
    lab.start_server("s3")
    wait_primary_and_backup(lab, DEAD_PINGS * 3)
    lab.sleep(1.0)  # wait for backup initialization
    v1 = lab.view()
    lab.expect(v1[1:] == ("s1", "s2"), f"wrong primary or backup: {v1}")

    ck = lab.make_clerk("c1")
    lab.put(ck, "a", "aa")
    lab.put(ck, "b", "bb")
    lab.put(ck, "c", "cc")
    lab.check(ck, "a", "aa")
    lab.check(ck, "b", "bb")
    lab.check(ck, "c", "cc")

    # Put() immediately after backup failure
    lab.kill("s2")
    lab.put(ck, "a", "aaa")
    lab.check(ck, "a", "aaa")
    lab.wait_view(lambda v: v[0] > v1[0] and bool(v[1] and v[2]), DEAD_PINGS * 3)
    lab.sleep(1.0)  # wait for backup initialization
    v2 = lab.view()
    lab.expect(v2[1:] == ("s1", "s3"), f"wrong primary or backup: {v2}")
    lab.check(ck, "a", "aaa")

    # Put() immediately after primary failure
    lab.kill("s1")
    lab.put(ck, "b", "bbb")
    lab.check(ck, "b", "bbb")
    lab.wait_view(lambda v: v[0] > v2[0] and bool(v[1]), DEAD_PINGS * 3)
    lab.sleep(1.0)
    lab.check(ck, "a", "aaa")
    lab.check(ck, "b", "bbb")
    lab.check(ck, "c", "cc")
    lab.audit()


def _concurrent_same(lab: Lab, setup_values: bool) -> None:
    """TestConcurrentSame(Unreliable): 3 clerks Put random values to 2 keys for 5 s; the
    backup must then hold exactly the values the primary returned."""
    nservers, nclients, nkeys = 2, 3, 2
    for i in range(1, nservers + 1):
        lab.start_server(f"s{i}")
    wait_primary_and_backup(lab, DEAD_PINGS * 2)
    lab.sleep(DEADTIME)  # give p+b time to ack, initialize
    if setup_values:
        ck = lab.make_clerk("c0")
        lab.put(ck, "0", "x")
        lab.put(ck, "1", "x")
    view1 = lab.view()

    def body(i: int):
        rr = random.Random(lab.seed + i)
        while True:
            yield "call", {"op": "put", "key": str(rr.randrange(nkeys)),
                           "value": str(rr.getrandbits(62))}

    names = [lab.make_clerk(f"c{i + 1}") for i in range(nclients)]
    Clients(lab, {n: body(i) for i, n in enumerate(names)}).run(duration=5.0)
    lab.sleep(1.0)

    ck = lab.make_clerk("reader")
    vals = [lab.get(ck, str(i)) for i in range(nkeys)]
    for i, v in enumerate(vals):
        lab.expect(v != "", f"Get({i}) failed from primary")
    lab.kill(view1[1])
    lab.wait_view(lambda v: v[1] == view1[2], DEAD_PINGS * 2)
    lab.expect(lab.view()[1] == view1[2], "wrong Primary")
    for i in range(nkeys):
        z = lab.get(ck, str(i))
        lab.expect(z == vals[i], f"Get({i}) from backup; wanted {vals[i]!r}, got {z!r}")
    done = sum(1 for r in lab.world.history if r.done)
    print(f"{done} calls returned in {lab.world.now:.1f}s virtual")
    lab.audit()


def test_ConcurrentSame(lab: Lab) -> None:
    lab.sleep(1.0)
    _concurrent_same(lab, setup_values=False)


def test_ConcurrentSameAppend(lab: Lab) -> None:
    lab.sleep(1.0)
    nservers, nclients = 2, 3
    for i in range(1, nservers + 1):
        lab.start_server(f"s{i}")
    wait_primary_and_backup(lab, DEAD_PINGS * 2)
    lab.sleep(DEADTIME)
    view1 = lab.view()
    counts = [0] * nclients

    def body(i: int):
        for n in range(50):
            yield "call", {"op": "append", "key": "k", "value": f"x {i} {n} y"}
            counts[i] = n + 1

    names = [lab.make_clerk(f"c{i + 1}") for i in range(nclients)]
    Clients(lab, {n: body(i) for i, n in enumerate(names)}).run()
    lab.expect(counts == [50] * nclients, f"child failed: counts {counts}")

    ck = lab.make_clerk("reader")
    primaryv = lab.get(ck, "k")
    check_appends(lab, primaryv, counts)
    lab.kill(view1[1])
    lab.wait_view(lambda v: v[1] == view1[2], DEAD_PINGS * 2)
    lab.expect(lab.view()[1] == view1[2], "wrong Primary")
    backupv = lab.get(ck, "k")
    check_appends(lab, backupv, counts)
    lab.expect(backupv == primaryv, "primary and backup had different values")
    check_append_order(lab, backupv, "k")
    lab.audit()


def test_ConcurrentSameUnreliable(lab: Lab) -> None:
    lab.sleep(1.0)
    unreliable(lab)
    _concurrent_same(lab, setup_values=True)


def _repeated_crash(lab: Lab, body_for, nclients: int = 2):
    """Three servers; one at a time is killed, restarted 1 s later, and 1 s later the next
    one goes, for 20 s while the clerk loops run."""
    nservers = 3
    for i in range(1, nservers + 1):
        lab.start_server(f"s{i}")
    wait_primary_and_backup(lab, DEAD_PINGS)
    lab.sleep(DEADTIME)  # wait a bit for primary to initialize backup

    def crasher(stop: float):
        rr = random.Random(lab.seed)
        while lab.world.now < stop:
            name = f"s{rr.randrange(nservers) + 1}"
            yield "do", lambda name=name: lab.kill(name)
            yield "sleep", 2 * PING_INTERVAL * DEAD_PINGS
            yield "do", lambda name=name: lab.start_server(name)
            yield "sleep", 2 * PING_INTERVAL * DEAD_PINGS

    names = [lab.make_clerk(f"c{i + 1}") for i in range(nclients)]
    bodies = {n: body_for(i) for i, n in enumerate(names)}
    bodies["crasher"] = crasher(lab.world.now + 20.0)
    Clients(lab, bodies).run(duration=20.0)
    return names


def test_RepeatedCrash(lab: Lab) -> None:
    lab.sleep(1.0)
    failures: list[str] = []

    def body(i: int):
        rr = random.Random(lab.seed + 1 + i)
        data: dict[str, str] = {}
        while True:
            k = str(i * 1000000 + rr.randrange(10))
            if k in data:
                v = yield "call", {"op": "get", "key": k}
                if v != data[k]:
                    failures.append(f"key={k} wanted={data[k]!r} got={v!r}")
            nv = str(rr.getrandbits(62))
            yield "call", {"op": "put", "key": k, "value": nv}
            data[k] = nv
            yield "sleep", 0.010

    _repeated_crash(lab, body)
    lab.expect(not failures, f"child failed: {failures[:3]}")
    ck = lab.make_clerk("final")
    lab.put(ck, "aaa", "bbb")
    lab.expect(lab.get(ck, "aaa") == "bbb", "final Put/Get failed")
    done = sum(1 for r in lab.world.history if r.done)
    print(f"{done} calls returned in {lab.world.now:.1f}s virtual")
    lab.audit()


def test_RepeatedCrashUnreliable(lab: Lab) -> None:
    lab.sleep(1.0)
    unreliable(lab)
    counts = [0, 0]

    def body(i: int):
        n = 0
        while True:
            yield "call", {"op": "append", "key": "0", "value": f"x {i} {n} y"}
            n += 1
            counts[i] = n
            yield "sleep", 0.010

    _repeated_crash(lab, body)
    ck = lab.make_clerk("final")
    final = lab.get(ck, "0")
    check_appends(lab, final, counts)
    check_append_order(lab, final, "0")
    lab.put(ck, "aaa", "bbb")
    lab.expect(lab.get(ck, "aaa") == "bbb", "final Put/Get failed")
    print(f"appends per clerk: {counts} in {lab.world.now:.1f}s virtual")
    lab.audit()


def _partition_setup(lab: Lab, delay: float) -> tuple[str, object]:
    """s1 is primary and s2 backup; then s1 is cut from the viewservice and a Get to s1 is
    held by the proxy for ``delay`` seconds. Returns the first clerk and that Get's record."""
    lab.sleep(1.0)
    # ck1 waits for an answer like a Go RPC does (an error answer still makes it retry).
    ck1 = lab.make_clerk("ck1", retry=60.0)
    lab.start_server("s1")
    lab.sleep(DEADTIME * 2)
    lab.expect(lab.primary() == "s1", "primary never formed initial view")
    lab.start_server("s2")
    lab.sleep(DEADTIME * 2)
    v1 = lab.view()
    lab.expect(v1[1:] == ("s1", "s2"), f"backup did not join view: {v1}")
    lab.put(ck1, "a", "1")
    lab.check(ck1, "a", "1")

    lab.world.block("s1", VIEWSERVICE)  # os.Remove(vshosta): s1 can no longer ping
    lab.world.slow("s1", delay)  # the proxy delays requests to s1
    stale_get = lab.world.invoke(ck1, {"op": "get", "key": "a"})
    for _ in range(DEAD_PINGS * 3):
        if lab.primary() == "s2":
            break
        lab.sleep(PING_INTERVAL)
    lab.expect(lab.primary() == "s2", "primary never changed")
    return ck1, stale_get


def test_Partition1(lab: Lab) -> None:
    """Old primary does not serve Gets."""
    _, stale_get = _partition_setup(lab, 4.0)
    lab.sleep(2 * PING_INTERVAL)  # s2 has pinged, so it knows the new view
    ck2 = lab.make_clerk("ck2")
    lab.put(ck2, "a", "111")
    lab.check(ck2, "a", "111")
    lab.world.run_until(lambda: stale_get.done, 5.0)
    lab.expect(not (stale_get.done and stale_get.output == "1"),
               "Get to old primary succeeded and produced stale value")
    lab.check(ck2, "a", "111")
    lab.audit()


def test_Partition2(lab: Lab) -> None:
    """Partitioned old primary does not complete Gets."""
    _, stale_get = _partition_setup(lab, 5.0)
    lab.start_server("s3")
    lab.wait_view(lambda v: v[1:] == ("s2", "s3"), DEAD_PINGS * 3)
    v2 = lab.view()
    lab.expect(v2[1:] == ("s2", "s3"), f"new backup never joined: {v2}")
    lab.sleep(2.0)
    ck2 = lab.make_clerk("ck2")
    lab.put(ck2, "a", "2")
    lab.check(ck2, "a", "2")
    lab.kill("s2")
    lab.world.run_until(lambda: stale_get.done, 6.0)
    lab.expect(not (stale_get.done and stale_get.output == "1"),
               "partitioned primary replied to a Get with a stale value")
    lab.check(ck2, "a", "2")
    lab.audit()
