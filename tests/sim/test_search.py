"""Bounded exhaustive search: finds the shortest counterexample, covers every state within
its bounds, merges only states that behave alike, and its results replay."""

from __future__ import annotations

import copy

from faultlab.cli import main
from faultlab.paxos.machine import MiscountedMajorityMachine, VolatilePromiseMachine
from faultlab.pb.explore import BuggyReplyBeforeAckMachine
from faultlab.raft.machine import RaftMachine
from faultlab.sim import message
from faultlab.sim.node import Node
from faultlab.sim.world import World
from faultlab.tools.example_register import BuggyRegisterMachine, RegisterMachine, build
from faultlab.tools.explore import WorldMachine
from faultlab.tools.replay import load_replay, replay
from faultlab.tools.search import search
from faultlab.tools.search import state_key as _key


def test_seeded_register_bug_is_found_with_the_fewest_steps_and_replays(replays):
    found = search(BuggyRegisterMachine, max_depth=10)
    assert found.verdict == "violation" and found.error.startswith(
        "AssertionError: stale read"), found  # a SearchResult shows its seed and faults
    # write, its delivery, the early WriteOk, a read, the Read to the stale backup, its
    # answer: six steps, and breadth-first order guarantees none shorter exists ...
    assert len(found.steps) == 6, found
    shorter = search(BuggyRegisterMachine, max_depth=5)
    assert shorter.error is None and shorter.depth == 5 and not shorter.complete, shorter
    # ... and the replay file written for it fails the same way at the same step
    outcome = replay(load_replay(found.replay))
    assert outcome.reproduced and outcome.steps_applied == 6 and not outcome.in_end_checks


def test_correct_register_has_no_violation_in_thousands_of_states(replays):
    reports = []
    result = search(RegisterMachine, max_depth=8,
                    progress=lambda r, n, done: reports.append((r.depth, n, done)),
                    progress_every=0.0)  # a report before every state expanded, too
    assert result.error is None and result.depth == 8, result
    levels = [(depth, n) for depth, n, done in reports if done]
    assert [depth for depth, _ in levels] == list(range(1, 9))
    assert sum(n for _, n in levels) == result.states - 1  # every new state, level by level
    assert any(not done for _, _, done in reports)
    assert result.states > 1_000
    again = search(RegisterMachine, max_depth=8)
    assert (again.states, again.transitions) == (result.states, result.transitions)
    assert not list(replays.iterdir())


def test_paxos_seeded_bugs_are_found_by_search(replays):
    majority = search(MiscountedMajorityMachine, max_depth=6)
    assert (majority.error or "").startswith("AssertionError: Agreement violated"), majority
    assert len(majority.steps) == 4  # two starts, each proposer's own prepare: decided twice
    volatile = search(VolatilePromiseMachine, max_depth=6, faults={"crash"})
    assert (volatile.error or "").startswith("AssertionError: Acceptor stability violated"), \
        volatile
    assert any(step[0] == "crash" for step in volatile.steps)
    assert replay(load_replay(volatile.replay)).reproduced


def test_pb_seeded_bug_is_found_by_search(replays):
    found = search(BuggyReplyBeforeAckMachine, max_depth=6)
    assert (found.error or "").startswith("AssertionError: backup behind primary"), found
    assert len(found.steps) == 4  # the Append, the clerk learning the view, the primary's Put
    assert replay(load_replay(found.replay)).reproduced


@message
class Token:
    hops: int


class Relay(Node):
    """Passes a token around a ring until it has made three hops: a finite state space."""

    def __init__(self, nxt: str, first: bool) -> None:
        self.nxt, self.first, self.seen = nxt, first, 0

    def on_start(self) -> None:
        if self.first:
            self.ctx.send(self.nxt, Token(0))

    def on_message(self, src: str, msg: Token) -> None:
        self.seen += 1
        if msg.hops < 3:
            self.ctx.send(self.nxt, Token(msg.hops + 1))


class RingMachine(WorldMachine):
    @classmethod
    def build_world(cls, seed: int) -> World:
        w = World(seed)
        w.add_node("a", lambda: Relay("b", True))
        w.add_node("b", lambda: Relay("a", False))
        return w.start()


def test_a_finite_system_is_searched_completely():
    result = search(RingMachine, max_depth=50)
    # four deliveries in a row, one state after each: nothing else is ever enabled
    assert result.complete and result.verdict == "exhausted", result
    assert (result.states, result.depth) == (5, 5)
    # dropping adds, after 0..3 hops, the state where the token was lost and the one where
    # its sender was told so (the send-failure notice fired): 5 + 4 + 4
    lossy = search(RingMachine, max_depth=50, faults={"drop"})
    assert lossy.complete and (lossy.states, lossy.depth) == (13, 6), lossy


def test_states_merge_only_with_equal_histories():
    a, b = build(1, clerks=2), build(1, clerks=2)
    assert _key(a) == _key(b)
    a.invoke("c0", {"op": "read"})
    b.invoke("c1", {"op": "read"})
    assert a.fingerprint() != b.fingerprint() and _key(a) != _key(b)
    # the same World state reached through answers seen in another order is kept apart
    c, d = build(2, clerks=2), build(2, clerks=2)
    for w, first, second in ((c, "c0", "c1"), (d, "c1", "c0")):
        w.call(first, {"op": "write", "value": "x"})
        w.call(second, {"op": "read"})
    assert _key(c) != _key(d)


def test_copies_take_attached_monitors_along():
    m = RaftMachine()
    w = RaftMachine.build_world(3)
    dup = w.copy()
    assert dup.raft_monitor is not w.raft_monitor
    dup.run_for(1.0)
    m.world = w
    m.check_safety()  # the original's monitor saw none of the copy's steps
    assert w.now == 0 and dup.now >= 1.0
    # a deep copy (what the search takes) keeps the monitor observing its own World
    deep = copy.deepcopy(w)
    monitor = deep.raft_monitor
    assert monitor is not w.raft_monitor and monitor.world is deep
    assert any(getattr(o, "__self__", None) is monitor for o in deep.observers)


def test_search_cli_prints_the_steps_in_words_and_fails(replays, capsys):
    assert main(["search", "register-bug-early-ack", "--depth", "8"]) == 1
    out = capsys.readouterr().out
    assert "VIOLATION after 6 steps" in out
    assert "deliver WriteOk primary -> c0" in out and "replay file:" in out
    assert main(["search", "register", "--depth", "4"]) == 0
    assert "no violation within 4 steps" in capsys.readouterr().out
