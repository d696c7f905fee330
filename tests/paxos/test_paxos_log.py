"""What is particular to the Paxos log (the contract both engines keep is tested in
tests/consensus): terms per peer and incarnation, no-op hole filling that the service never
sees, forgetting at each peer's own snapshot, and a lagging peer brought up to date by a
snapshot transfer, under an unreliable, partitioned network with crashes."""

from __future__ import annotations

import random
from typing import Any

from faultlab.consensus import ApplyMsg
from faultlab.paxos.harness import RELIABLE_2015, UNRELIABLE_2015, peer_names
from faultlab.paxos.log import NOOP, LogEntry, PaxosLog
from faultlab.paxos.peer import Fate
from faultlab.sim import codec
from faultlab.sim.network import NetworkProfile
from faultlab.sim.node import Node
from faultlab.sim.world import World


class Cluster:
    """Servers that each embed a PaxosLog and a trivial service (the list of commands)."""

    def __init__(self, n: int, seed: int, profile: NetworkProfile = RELIABLE_2015, *,
                 snapshot_every: int = 0) -> None:
        self.seed = seed
        self.names = peer_names(n)
        self.world = World(seed, profile)
        self.committed: dict[int, tuple[Any, int]] = {}  # index -> (command, term), any peer
        for name in self.names:
            self.world.add_node(name, lambda: Service(self, snapshot_every))
        self.world.start()

    def node(self, i: int) -> Service:
        node = self.world.node(self.names[i])
        assert isinstance(node, Service)
        return node

    def check(self, me: int, index: int, command: Any, term: int) -> None:
        seen = self.committed.setdefault(index, (command, term))
        assert seen == (command, term), (
            f"peer {me} applied {(command, term)} at index {index}, another applied {seen} "
            f"(seed {self.seed})")


class Service(Node):
    def __init__(self, cluster: Cluster, snapshot_every: int) -> None:
        self.cluster = cluster
        self.snapshot_every = snapshot_every
        self.state: list[Any] = []   # the service state: every command, in order
        self.last = 0                # index of the last ApplyMsg
        self.applied = 0             # ApplyMsgs of commands this incarnation

    def on_start(self) -> None:
        self.me = self.cluster.names.index(self.ctx.name)
        self.log = PaxosLog(self.ctx, self.cluster.names, self.ctx.name, self.apply)
        self.log.on_start()

    def apply(self, m: ApplyMsg) -> None:
        if m.snapshot_valid:
            self.last, self.state = m.snapshot_index, list(codec.decode(m.snapshot))
            return
        assert m.command_valid and m.command_index > self.last, (
            f"peer {self.me}: index {m.command_index} after {self.last}")
        self.last = m.command_index
        self.applied += 1
        self.cluster.check(self.me, m.command_index, m.command, m.command_term)
        self.state.append(m.command)
        if self.snapshot_every and self.applied % self.snapshot_every == 0:
            self.log.snapshot(self.last, codec.encode(self.state))

    def on_message(self, src: str, msg: Any) -> None:
        self.log.on_message(src, msg)

    def on_timer(self, name: str) -> None:
        self.log.on_timer(name)

    def on_send_failed(self, dst: str, msg: Any) -> None:
        self.log.on_send_failed(dst, msg)


def submit_all(c: Cluster, commands: list[str], rng: random.Random, *,
               chaos: bool = False, timeout: float = 120.0) -> None:
    """Propose every command at random live peers, again whenever it lost, until each is in
    the log; with ``chaos``, partition, crash and restart peers meanwhile."""
    waiting = {cmd: None for cmd in commands}  # command -> (index, term) of its proposal
    deadline = c.world.now + timeout
    while c.world.now < deadline:
        live = [i for i, n in enumerate(c.names) if n not in c.world.crashed]
        for cmd, prop in list(waiting.items()):
            if prop is not None:
                index, term = prop
                if index in c.committed:
                    if c.committed[index] == (cmd, term):
                        del waiting[cmd]
                        continue
                    prop = None  # lost: propose again
                elif c.committed and max(c.committed) > index:
                    prop = None  # a no-op won the instance (its index was skipped): lost
            if prop is None and live:
                index, term, leader = c.node(rng.choice(live)).log.start(cmd)
                assert leader
                waiting[cmd] = (index, term)
        if not waiting:
            return
        if chaos:
            r = rng.random()
            if r < 0.1 and len(live) > 2:
                c.world.crash(c.names[rng.choice(live)])
            elif r < 0.3 and c.world.crashed:
                c.world.restart(rng.choice(sorted(c.world.crashed)))
            elif r < 0.45:
                side = [n for n in c.names if rng.random() < 0.5]
                c.world.partition(side, [n for n in c.names if n not in side])
            elif r < 0.6:
                c.world.heal()
        c.world.run_for(rng.uniform(0.05, 0.3))
    raise AssertionError(f"{len(waiting)} commands never committed (seed {c.seed})")


def assert_same_logs(c: Cluster) -> None:
    top = max(c.committed)
    for i in range(len(c.names)):
        s = c.node(i)
        assert s.last == top, f"peer {i} applied up to {s.last}, the log is {top} long"
        expected = [c.committed[k][0] for k in sorted(c.committed)]
        assert s.state == expected, f"peer {i}'s service state differs"


def test_log_success_iff_term_matches(seed: int) -> None:
    c = Cluster(3, seed)
    # two peers propose in the same instance at once: exactly one of them wins it
    i1, t1, _ = c.node(0).log.start("a")
    i2, t2, _ = c.node(1).log.start("b")
    assert i1 == i2 == 1 and t1 != t2
    c.world.run_for(1.0)
    command, term = c.committed[1]
    assert (command, term) in (("a", t1), ("b", t2))
    assert c.node(0).log.get_state() == (t1, True)  # unchanged while "a" was pending
    # a peer's next proposal goes above every instance it knows, under the same term
    i3, t3, _ = c.node(0).log.start("c")
    assert i3 > i1 and t3 == t1
    c.world.crash("p0")
    c.world.restart("p0")
    assert c.node(0).log.get_state()[0] not in (t1, t2), "a new incarnation needs a new term"


def test_log_fills_holes_with_noops_the_service_never_sees(seed: int) -> None:
    c = Cluster(3, seed)
    c.node(0).log.px.start(3, LogEntry(99, "x"))  # instances 0..2 (indexes 1..3) are holes
    c.world.run_for(2.0)
    for i in range(3):
        assert [c.node(i).log.px.status(k) for k in range(3)] == [(Fate.DECIDED, NOOP)] * 3
    assert c.committed == {4: ("x", 99)}, "a no-op reached the service"
    assert_same_logs(c)
    # a proposal whose instance a no-op won is lost: its index is skipped
    index, term, _ = c.node(1).log.start("y")
    c.world.run_for(1.0)
    assert c.committed[index] == ("y", term)


def test_log_snapshots_forget_and_restore(seed: int) -> None:
    c = Cluster(3, seed, snapshot_every=5)
    rng = random.Random(seed)
    submit_all(c, [f"cmd{k}" for k in range(40)], rng)
    c.world.run_for(1.0)
    assert_same_logs(c)
    for i in range(3):  # each peer forgets below its own snapshot, whatever the others did
        px = c.node(i).log.px
        assert px.min() == c.node(i).log.snapshot_index >= 35, (
            f"peer {i} still holds instances from {px.min()}")
        held = (set(px.acceptor.instances) | set(px.learner.decided)
                | set(px.proposer.proposals))
        assert all(seq >= px.min() for seq in held), f"peer {i} holds forgotten instances"
        assert px.retained_bytes() < 40 + 100 * len(held)
    c.world.crash("p1")
    c.world.restart("p1")
    c.world.run_for(1.0)
    assert c.node(1).log.snapshot_index >= 35
    assert_same_logs(c)


def test_a_lagging_peer_catches_up_from_a_snapshot(seed: int) -> None:
    c = Cluster(3, seed, snapshot_every=5)
    c.world.crash("p2")
    rng = random.Random(seed)
    submit_all(c, [f"cmd{k}" for k in range(30)], rng)
    assert min(c.node(i).log.px.min() for i in (0, 1)) >= 25
    c.world.restart("p2")
    submit_all(c, ["wake"], rng)  # new traffic shows p2 what it missed
    c.world.run_for(2.0)
    lagging = c.node(2).log
    assert lagging.snapshot_index >= 25, "p2 did not install a peer's snapshot"
    assert_same_logs(c)


def test_log_survives_chaos(seed: int) -> None:
    c = Cluster(5, seed, UNRELIABLE_2015, snapshot_every=7)
    rng = random.Random(seed)
    submit_all(c, [f"cmd{k}" for k in range(60)], rng, chaos=True)
    c.world.heal()
    for name in sorted(c.world.crashed):
        c.world.restart(name)
    c.world.set_profile(RELIABLE_2015)
    submit_all(c, ["final"], rng)
    c.world.run_for(3.0)
    assert_same_logs(c)
    logged = [cmd for cmd, _ in c.committed.values()]
    assert len(logged) == len(set(logged)) == 61
