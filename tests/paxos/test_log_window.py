"""The Paxos log's window: while the first unapplied instance cannot be decided (no majority),
clerks' retries keep handing a server commands, and it must not start a Paxos instance for
each (on a real machine every round is a write to disk at every acceptor, and rounds for a
hundred instances crowd out the one that could unblock the log). Commands past the window
wait; once a majority is back, every call completes."""

from __future__ import annotations

from faultlab.kv.cluster import build
from faultlab.paxos.log import WINDOW


def test_a_blocked_log_runs_rounds_in_at_most_a_window_of_instances(seed):
    world = build(seed, 3, engine="paxos", clerks=3)
    world.crash("s1")
    world.crash("s2")
    calls = {c: world.invoke(c, {"op": "append", "key": "k", "value": c})
             for c in ("c0", "c1", "c2")}
    world.run_for(10.0)  # every clerk retries every server, s0 again and again
    log = world.node("s0").log
    assert len(log.waiting) > 0, "the test gave s0 too few commands to fill its window"
    assert len(log.px.proposer.proposals) <= WINDOW, sorted(log.px.proposer.proposals)
    world.restart("s1")
    world.restart("s2")
    assert world.run_until(lambda: all(r.done for r in calls.values()), 30.0)
    value = world.call("c0", {"op": "get", "key": "k"}, 10.0)
    assert sorted(value) == ["0", "1", "2", "c", "c", "c"]  # each append once
