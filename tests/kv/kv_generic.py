"""kvraft's GenericTest and GenericTestSpeed (CATALOG B.3), on the Tester.

GenericTest runs 3 iterations of: clerk loops for 5 s (50 % Append of "x cli j y", with
random keys 10 % of the rest Put, else Get; without random keys each Get must equal the
clerk's predicted value); with partitions, a partitioner that re-splits the servers every
1.0-1.2 s from the first second on; then, while the last calls finish, heal (and wait one
election timeout) or crash every server, wait, restart them all; then per clerk a final Get
(its appends all present once, in order, without random keys), and the log-size bounds.
Finally the whole history must be linearizable (decided: unknown fails).
"""

from __future__ import annotations

from faultlab.kv.checks import append_value, check_appends
from faultlab.tools.clients import Body
from kv_tester import ELECTION_TIMEOUT, Tester

ITERATIONS = 3
CLIENT_SECONDS = 5.0


def generic_test(t: Tester, nclients: int, *, crash: bool = False, partitions: bool = False,
                 randomkeys: bool = False) -> None:
    rng = t.rng
    n = t.n
    maxraftstate = t.maxraftstate
    ck = t.make_client(t.all())
    for _ in range(ITERATIONS):
        counts = [0] * nclients
        clerks = [t.make_client(t.all()) for _ in range(nclients)]

        def client(cli: int, counts: list[int] = counts) -> Body:
            last = ""
            if not randomkeys:
                yield ("call", {"op": "put", "key": str(cli), "value": last})
            while True:
                key = str(rng.randrange(nclients)) if randomkeys else str(cli)
                nv = append_value(cli, counts[cli])
                if rng.randrange(1000) < 500:
                    yield ("call", {"op": "append", "key": key, "value": nv})
                    if not randomkeys:
                        last += nv
                    counts[cli] += 1
                elif randomkeys and rng.randrange(1000) < 100:
                    yield ("call", {"op": "put", "key": key, "value": nv})
                    counts[cli] += 1
                else:
                    v = yield ("call", {"op": "get", "key": key})
                    if not randomkeys and v != last:
                        t.fail(f"get wrong value, key {key}, wanted {last!r}, got {v!r}")

        def control() -> Body:
            """The partitioner, then the heal or crash-and-restart of the Go test's main."""
            stop = t.world.now + CLIENT_SECONDS
            if partitions:
                yield ("sleep", 1.0)
                while t.world.now < stop:
                    side = [rng.randrange(2) for _ in range(n)]
                    yield ("do", lambda side=side: t.partition(
                        [i for i in range(n) if side[i] == 0],
                        [i for i in range(n) if side[i] == 1]))
                    yield ("sleep", ELECTION_TIMEOUT + rng.randrange(200) / 1000)
            else:
                yield ("sleep", CLIENT_SECONDS)
            if partitions:
                yield ("do", t.connect_all)
                yield ("sleep", ELECTION_TIMEOUT)
            if crash:
                yield ("do", lambda: [t.shutdown_server(i) for i in range(n)])
                yield ("sleep", ELECTION_TIMEOUT)
                yield ("do", lambda: [t.start_server(i) for i in range(n)])
                yield ("do", t.connect_all)

        bodies = {name: client(i) for i, name in enumerate(clerks)}
        bodies["control"] = control()
        t.clients(bodies).run(duration=CLIENT_SECONDS)

        for i in range(nclients):
            v = t.get(ck, str(i))
            if not randomkeys:
                problem = check_appends(v, i, counts[i])
                if problem:
                    t.fail(f"client {i}: {problem}")
        if maxraftstate > 0:
            size = t.log_size()
            t.expect(size <= 8 * maxraftstate,
                     f"logs were not trimmed ({size} > 8*{maxraftstate})")
        if maxraftstate < 0:
            t.expect(t.snapshot_size() == 0,
                     f"snapshot too large ({t.snapshot_size()}), should not be used when "
                     f"maxraftstate = {maxraftstate}")
    t.audit()


def generic_test_speed(t: Tester, num_ops: int = 1000) -> float:
    """1000 sequential Appends by one clerk, after a first Get; returns seconds per op
    (virtual) and fails above 100 ms / 3 (Start must replicate at once)."""
    ck = t.make_client(t.all())
    t.get(ck, "x")
    start = t.world.now
    for i in range(num_ops):
        t.append(ck, "x", append_value(0, i))
    per_op = (t.world.now - start) / num_ops
    problem = check_appends(t.get(ck, "x"), 0, num_ops)
    if problem:
        t.fail(problem)
    time_per_op = 0.100 / 3
    t.expect(per_op <= time_per_op,
             f"Operations completed too slowly {per_op * 1000:.1f}ms/op > "
             f"{time_per_op * 1000:.1f}ms/op")
    t.audit()
    return per_op


def appends_to_one_key(t: Tester, ck: str, nclients: int, count: int) -> str:
    """``nclients`` clerks each Append ``count`` values to key "k" concurrently; the final
    value (read through ``ck``) must hold each clerk's appends once, in order."""
    def appender(me: int) -> Body:
        for n in range(count):
            yield ("call", {"op": "append", "key": "k", "value": append_value(me, n)})

    t.clients({t.make_client(): appender(me) for me in range(nclients)}).run()
    value = t.get(ck, "k")
    for me in range(nclients):
        problem = check_appends(value, me, count)
        if problem:
            t.fail(problem)
    return value
