"""The twelve tests of the 2015 paxos lab (src/paxos/test_test.go, CATALOG A.3.1), ported to
the World in virtual time with their thresholds. Sleeps are virtual seconds."""

from __future__ import annotations

import random
from collections.abc import Callable

from faultlab.paxos.harness import Tester
from faultlab.paxos.peer import Fate

MakeTester = Callable[..., Tester]
TIME_LIMIT = 120.0  # the labs' per-test limit, here in virtual seconds


def test_basic(make_tester: MakeTester) -> None:
    t = make_tester(3)
    # single proposer
    t.start(0, 0, "hello")
    t.waitn(0, 3)
    # many proposers, same value
    for i in range(3):
        t.start(i, 1, 77)
    t.waitn(1, 3)
    # many proposers, different values
    for i in range(3):
        t.start(i, 2, 100 + i)
    t.waitn(2, 3)
    # out-of-order instances
    t.start(0, 7, 700)
    t.start(0, 6, 600)
    t.start(1, 5, 500)
    t.waitn(7, 3)
    t.start(0, 4, 400)
    t.start(1, 3, 300)
    for seq in (6, 5, 4, 3):
        t.waitn(seq, 3)
    assert t.px(0).max() == 7, f"wrong Max() {t.px(0).max()} (seed {t.seed})"


def test_deaf(make_tester: MakeTester) -> None:
    n = 5
    t = make_tester(n)
    t.start(0, 0, "hello")
    t.waitn(0, n)
    t.deafen(0)
    t.deafen(n - 1)
    t.start(1, 1, "goodbye")
    t.waitmajority(1)
    t.sleep(1.0)
    if t.ndecided(1) != n - 2:
        t.fatal("a deaf peer heard about a decision")
    t.start(0, 1, "xxx")
    t.waitn(1, n - 1)
    t.sleep(1.0)
    if t.ndecided(1) != n - 1:
        t.fatal("a deaf peer heard about a decision")
    t.start(n - 1, 1, "yyy")
    t.waitn(1, n)
    assert t.px(2).status(1) == (Fate.DECIDED, "goodbye")


def test_forget(make_tester: MakeTester) -> None:
    n = 6
    t = make_tester(n)
    for i in range(n):
        if t.px(i).min() > 0:
            t.fatal(f"wrong initial Min() {t.px(i).min()}")
    t.start(0, 0, "00")
    t.start(1, 1, "11")
    t.start(2, 2, "22")
    t.start(0, 6, "66")
    t.start(1, 7, "77")
    t.waitn(0, n)
    for i in range(n):
        if t.px(i).min() != 0:
            t.fatal(f"wrong Min() {t.px(i).min()}; expected 0")
    t.waitn(1, n)
    for i in range(n):
        if t.px(i).min() != 0:
            t.fatal(f"wrong Min() {t.px(i).min()}; expected 0")
    # everyone Done() -> Min() changes?
    for i in range(n):
        t.done(i, 0)
    for i in range(1, n):
        t.done(i, 1)
    for i in range(n):
        t.start(i, 8 + i, "xx")
    for _ in range(12):
        if all(t.px(i).min() == 1 for i in range(n)):
            break
        t.sleep(1.0)
    else:
        t.fatal("Min() did not advance after Done()")
    for i in range(n):
        assert t.px(i).status(0)[0] is Fate.FORGOTTEN
        assert t.px(i).status(1) == (Fate.DECIDED, "11")


def test_many_forget(make_tester: MakeTester, seed: int) -> None:
    n, maxseq = 3, 20
    t = make_tester(n, unreliable=True)
    rng = random.Random(seed)
    order = list(range(maxseq))
    rng.shuffle(order)
    proposed: dict[int, set[int]] = {}
    starts = [(rng.uniform(0, 0.5), seq, rng.randrange(n), rng.randrange(2**31))
              for seq in order]
    starts.sort()
    end = t.world.now + 5.0
    while t.world.now < end:
        while starts and starts[0][0] <= t.world.now:
            _, seq, i, v = starts.pop(0)
            proposed.setdefault(seq, set()).add(v)
            t.start(i, seq, v)
        # the lab's second thread: Done on random decided instances
        seq, i = rng.randrange(maxseq), rng.randrange(n)
        px = t.px(i)
        if seq >= px.min() and px.status(seq)[0] is Fate.DECIDED:
            t.done(i, seq)
        for s in range(maxseq):
            t.ndecided(s)
        t.sleep(rng.uniform(0, 0.010))
    t.setunreliable(False)
    t.sleep(2.0)
    # The lab only calls Status here; this port also requires agreement (ndecided), decided
    # values that were proposed, and every instance a peer still needs (above its own Done)
    # to be decided there; at or below its Done a peer may have stopped caring.
    for seq in range(maxseq):
        t.ndecided(seq)
        for i in range(n):
            px = t.px(i)
            fate, v = px.status(seq)
            if fate is Fate.DECIDED:
                assert v in proposed[seq], f"seq {seq}: decided {v!r} was never proposed"
            elif seq > px.my_done:
                t.fatal(f"peer {i}: seq {seq} > its Done {px.my_done} is {fate.value}")
            assert (fate is Fate.FORGOTTEN) == (seq < px.min())


def test_forget_mem(make_tester: MakeTester, seed: int) -> None:
    n = 3
    t = make_tester(n)
    rng = random.Random(seed)
    t.start(0, 0, "x")
    t.waitn(0, n)
    m0 = t.retained_total()
    for i in range(1, 11):
        big = rng.randbytes(500_000).hex()  # 1 MB
        t.start(0, i, big)
        t.waitn(i, n)
    m1 = t.retained_total()
    assert m1 > 10 * 1_000_000 > m0, (m0, m1)
    stored1 = sum(t.world.persisters[name].state_size() for name in t.names)
    for i in range(n):
        t.done(i, 10)
    for i in range(n):
        t.start(i, 11 + i, "z")
    t.sleep(3.0)
    for i in range(n):
        if t.px(i).min() != 11:
            t.fatal(f"expected Min() 11, got {t.px(i).min()}")
    m2 = t.retained_total()
    if m2 > m1 / 2:
        t.fatal(f"memory use did not shrink enough: {m1} bytes before Done, {m2} after")
    stored2 = sum(t.world.persisters[name].state_size() for name in t.names)
    if stored2 > stored1 / 2:
        t.fatal(f"persisted state did not shrink enough: {stored1} bytes, then {stored2}")
    again = {}
    for seq in range(min(n, 10)):
        again[seq] = f"again-{rng.randrange(10**9)}"
        for i in range(n):
            if t.px(i).status(seq)[0] is not Fate.FORGOTTEN:
                t.fatal(f"seq {seq} < Min() {t.px(i).min()} but not Forgotten")
            t.start(i, seq, again[seq])
    t.sleep(1.0)
    for seq, value in again.items():
        for i in range(n):
            fate, v = t.px(i).status(seq)
            if fate is not Fate.FORGOTTEN or v == value:
                t.fatal(f"seq {seq} < Min() {t.px(i).min()} but not Forgotten")


def test_done_max(make_tester: MakeTester) -> None:
    n = 3
    t = make_tester(n)
    t.start(0, 0, "x")
    t.waitn(0, n)
    for i in range(1, 11):
        t.start(0, i, "y")
        t.waitn(i, n)
    for i in range(n):
        t.done(i, 10)
    for i in range(n):  # propagate messages so everyone knows about Done(10)
        t.start(i, 10, "z")
    t.sleep(2.0)
    for i in range(n):
        if t.px(i).max() != 10:
            t.fatal(f"Max() did not return correct result {t.px(i).max()}, expected 10")


def test_rpc_count(make_tester: MakeTester) -> None:
    n = 3
    t = make_tester(n)
    ninst1, seq = 5, 0
    for _ in range(ninst1):
        t.start(0, seq, "x")
        t.waitn(seq, n)
        seq += 1
    t.sleep(2.0)
    total1 = t.rpc_total()
    expected1 = ninst1 * n * n  # per agreement: 3 prepares, 3 accepts, 3 decides
    if total1 > expected1:
        t.fatal(f"too many RPCs for serial Start()s; {ninst1} instances, got {total1}, "
                f"expected {expected1}")
    ninst2 = 5
    for i in range(ninst2):
        for j in range(n):
            t.start(j, seq, j + i * 10)
        t.waitn(seq, n)
        seq += 1
    t.sleep(2.0)
    total2 = t.rpc_total() - total1
    expected2 = ninst2 * n * 15  # worst case per agreement with three proposers
    if total2 > expected2:
        t.fatal(f"too many RPCs for concurrent Start()s; {ninst2} instances, got {total2}, "
                f"expected {expected2}")
    print(f"RPCs received: serial {total1} (limit {expected1}), "
          f"contended {total2} (limit {expected2})")


def _many(t: Tester, window: int) -> None:
    n, ninst = t.npaxos, 50
    for i in range(n):
        t.start(i, 0, 0)
    for seq in range(1, ninst):
        while seq >= window and t.ndecided(seq - window) < n:
            if t.world.now > TIME_LIMIT:
                t.fatal(f"seq {seq - window} not decided by all within {TIME_LIMIT}s")
            t.sleep(0.020)
        for i in range(n):
            t.start(i, seq, seq * 10 + i)
    while not all(t.ndecided(seq) >= n for seq in range(1, ninst)):
        if t.world.now > TIME_LIMIT:
            t.fatal(f"not every instance decided within {TIME_LIMIT}s")
        t.sleep(0.100)


def test_many(make_tester: MakeTester) -> None:
    _many(make_tester(3), 5)


def test_old(make_tester: MakeTester) -> None:
    n = 5
    t = make_tester(n)
    t.kill(0)  # peers 0 and 4 are not running yet
    t.kill(4)
    t.start(1, 1, 111)
    t.waitmajority(1)
    t.revive(0)
    t.start(0, 1, 222)
    t.waitn(1, 4)
    assert t.px(0).status(1) == (Fate.DECIDED, 111)


def test_many_unreliable(make_tester: MakeTester) -> None:
    _many(make_tester(3, unreliable=True), 3)


def test_partition(make_tester: MakeTester) -> None:
    n = 5
    t = make_tester(n)
    seq = 0
    # no decision if partitioned
    t.part([0, 2], [1, 3], [4])
    t.start(1, seq, 111)
    t.checkmax(seq, 0)
    # decision in majority partition
    t.part([0], [1, 2, 3], [4])
    t.sleep(2.0)
    t.waitmajority(seq)
    # all agree after full heal
    t.start(0, seq, 1000)  # poke them
    t.start(4, seq, 1004)
    t.part([0, 1, 2, 3, 4])
    t.waitn(seq, n)
    # one peer switches partitions
    for _ in range(20):
        seq += 1
        t.part([0, 1, 2], [3, 4])
        t.start(0, seq, seq * 10)
        t.start(3, seq, seq * 10 + 1)
        t.waitmajority(seq)
        if t.ndecided(seq) > 3:
            t.fatal("too many decided")
        t.part([0, 1], [2, 3, 4])
        t.waitn(seq, n)
    # one peer switches partitions, unreliable
    for _ in range(20):
        seq += 1
        t.setunreliable(True)
        t.part([0, 1, 2], [3, 4])
        for i in range(n):
            t.start(i, seq, seq * 10 + i)
        t.waitn(seq, 3)
        if t.ndecided(seq) > 3:
            t.fatal("too many decided")
        t.part([0, 1], [2, 3, 4])
        t.setunreliable(False)
        t.waitn(seq, n)


def test_lots(make_tester: MakeTester, seed: int) -> None:
    n = 5
    t = make_tester(n, unreliable=True)
    rng = random.Random(seed)
    seq = 0
    now = t.world.now
    end = now + 20.0
    next_part, next_start, next_check = now, now, now
    while True:
        upcoming = min(next_part, next_start, next_check)
        if upcoming >= end:
            break
        t.world.run_for(upcoming - t.world.now)
        if next_part <= upcoming:  # re-partition periodically
            side = [rng.randrange(3) for _ in range(n)]
            t.part(*[[i for i in range(n) if side[i] == g] for g in range(3)])
            next_part += rng.randrange(200) / 1000
        if next_start <= upcoming:  # start a new instance while < 10 are undecided
            nd = sum(1 for s in range(seq) if t.ndecided(s) == n)
            if seq - nd < 10:
                for i in range(n):
                    t.start(i, seq, rng.randrange(10))
                seq += 1
            next_start += rng.randrange(300) / 1000
        if next_check <= upcoming:  # check that decisions are consistent
            for s in range(seq):
                t.ndecided(s)
            next_check += rng.randrange(300) / 1000
    t.world.run_for(end - t.world.now)
    # repair, then check that all instances decided
    t.setunreliable(False)
    t.part(list(range(n)))
    t.sleep(5.0)
    assert seq >= 10, f"only {seq} instances started (seed {t.seed})"
    for s in range(seq):
        t.waitmajority(s)
