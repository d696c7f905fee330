"""A cluster of hosts, each embedding one consensus log through ``make_log``, and the
contract's checks made as the logs apply (see faultlab.consensus).

The service in each host is the smallest one: the list of ``(index, command)`` it was handed,
snapshotted whenever the log's persisted state reaches ``snapshot_bytes``. Every ApplyMsg is
checked at once against the contract: increasing indexes within an incarnation (so each
index at most once), the snapshot first after a restart, one command per index across every
server and incarnation, and each proposal's reported outcome against what the log holds.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from faultlab.consensus import ApplyMsg, Outcome, Proposals, make_log
from faultlab.sim import codec
from faultlab.sim.network import RELIABLE, NetworkProfile
from faultlab.sim.node import Node
from faultlab.sim.world import World

ENGINES = ("raft", "paxos")


class ContractViolation(AssertionError):
    pass


@dataclass
class Proposal:
    command: Any
    server: str
    index: int
    term: int
    at: float
    outcome: Outcome | None = None


@dataclass
class Record:
    """What the checks remember across incarnations (the "ghost" state of the test)."""

    committed: dict[int, tuple[Any, int]] = field(default_factory=dict)  # index -> (cmd, term)
    proposals: list[Proposal] = field(default_factory=list)
    max_state: dict[str, int] = field(default_factory=dict)
    snapshots_taken: int = 0
    snapshots_installed: int = 0


class Host(Node):
    """One server: a consensus log and the list service on top of it."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.state: list[tuple[int, Any]] = []   # (index, command) in apply order
        self.last = 0                            # highest index handed to the service
        self.first_apply = True
        self.proposals: Proposals[Proposal] = Proposals()

    def on_start(self) -> None:
        c = self.cluster
        self.restarting_from_snapshot = self.ctx.persister.snapshot_size() > 0
        self.log = make_log(c.engine, self.ctx, c.names, self.ctx.name, self.apply)
        self.log.on_start()
        if self.first_apply and self.restarting_from_snapshot:
            c.fail(f"{self.ctx.name} restarted with a snapshot but was not handed it in "
                   "on_start")

    def apply(self, m: ApplyMsg) -> None:
        c = self.cluster
        name = self.ctx.name
        first, self.first_apply = self.first_apply, False
        if m.snapshot_valid:
            if m.snapshot_index <= self.last:
                c.fail(f"{name} was handed snapshot {m.snapshot_index} after index {self.last}")
            if not (first and self.restarting_from_snapshot):
                c.record.snapshots_installed += 1  # sent by a peer, not our own
            index, state = codec.decode(m.snapshot)
            if index != m.snapshot_index:
                c.fail(f"{name}: snapshot of index {index} handed as {m.snapshot_index}")
            self.state = [tuple(e) for e in state]
            for i, cmd in self.state:
                c.check_committed(name, i, cmd, None)
            self.last = m.snapshot_index
        elif m.command_valid:
            if m.command_index <= self.last:
                c.fail(f"{name} was handed index {m.command_index} after {self.last} in one "
                       "incarnation")
            if first and self.restarting_from_snapshot:
                c.fail(f"{name} restarted with a snapshot but was handed a command first")
            c.check_committed(name, m.command_index, m.command, m.command_term)
            self.state.append((m.command_index, m.command))
            self.last = m.command_index
        else:
            c.fail(f"{name} was handed an ApplyMsg that is neither command nor snapshot: {m}")
        for p, outcome in self.proposals.applied(m):
            c.resolve(p, outcome)
        bound = c.snapshot_bytes
        if bound and self.log.state_size() >= bound:
            c.record.snapshots_taken += 1
            self.log.snapshot(self.last, codec.encode((self.last, self.state)))

    def on_message(self, src: str, msg: Any) -> None:
        if not self.log.on_message(src, msg):
            self.cluster.fail(f"{self.ctx.name}: the log refused its own kind of message {msg}")

    def on_timer(self, name: str) -> None:
        self.log.on_timer(name)

    def on_send_failed(self, dst: str, msg: Any) -> None:
        self.log.on_send_failed(dst, msg)

    def fingerprint_state(self) -> Any:
        return (self.state, self.last)


class Cluster:
    """``n`` hosts on one World; every check fails with the seed that replays it."""

    def __init__(self, engine: str, n: int, seed: int, profile: NetworkProfile = RELIABLE, *,
                 snapshot_bytes: int = 0) -> None:
        self.engine = engine
        self.seed = seed
        self.snapshot_bytes = snapshot_bytes
        self.names = [f"s{i}" for i in range(n)]
        self.record = Record()
        self.rng = random.Random(f"contract:{seed}")
        self.world = World(seed, profile, record_steps=False)
        for name in self.names:
            self.world.add_node(name, lambda: Host(self))
        self.world.observers.append(self._after_step)
        self.world.start()

    # ------------------------------------------------------------------ checks

    def fail(self, message: str) -> None:
        raise ContractViolation(f"[{self.engine}] {message} (t={self.world.now:.3f}s, seed "
                                f"{self.seed})")

    def check_committed(self, name: str, index: int, command: Any, term: int | None) -> None:
        seen = self.record.committed.get(index)
        if seen is None:
            if term is None:
                self.fail(f"{name}'s snapshot holds index {index}, never applied anywhere")
            self.record.committed[index] = (command, term)
        elif seen[0] != command or (term is not None and seen[1] != term):
            self.fail(f"{name} applied {(command, term)} at index {index}, another server "
                      f"{seen}")

    def resolve(self, p: Proposal, outcome: Outcome) -> None:
        p.outcome = outcome
        held = self.record.committed.get(p.index)
        if outcome is Outcome.COMMITTED and held != (p.command, p.term):
            self.fail(f"{p.server} reported {p.command!r} committed at {p.index}; the log "
                      f"holds {held}")
        if outcome is Outcome.LOST and held == (p.command, p.term):
            self.fail(f"{p.server} reported {p.command!r} lost, yet it is at index {p.index}")

    def _after_step(self, world: World, step: tuple) -> None:
        for name in self.names:
            if name not in world.crashed:
                size = world.persisters[name].state_size()
                if size > self.record.max_state.get(name, 0):
                    self.record.max_state[name] = size

    # ------------------------------------------------------------------ driving

    def host(self, name: str) -> Host:
        node = self.world.node(name)
        assert isinstance(node, Host)
        return node

    def live(self) -> list[str]:
        return [n for n in self.names if n not in self.world.crashed]

    def propose(self, command: Any, at: str | None = None) -> Proposal | None:
        """Start ``command`` at ``at`` (default: a live server, following leader hints);
        None when no live server takes proposals now."""
        tried: set[str] = set()
        name = at if at is not None else self.rng.choice(self.live())
        while name is not None and name not in tried and name not in self.world.crashed:
            tried.add(name)
            host = self.host(name)
            index, term, leader = host.log.start(command)
            if leader:
                p = Proposal(command, name, index, term, self.world.now)
                self.record.proposals.append(p)
                host.proposals.add(index, term, p)
                return p
            if at is not None:
                return None
            name = host.log.leader_hint()
        return None

    def settle_terms(self) -> None:
        """Tell each host's proposal book that its engine's term may have moved on."""
        for name in self.live():
            host = self.host(name)
            for p, outcome in host.proposals.term_moved(*host.log.get_state()):
                self.resolve(p, outcome)

    def submit(self, commands: Iterable[Any], *, timeout: float = 120.0, window: int = 5,
               retry_after: float = 1.0, chaos: bool = False) -> None:
        """Propose each command until one proposal of it commits, at most ``window`` at a
        time (as that many clerks would), again elsewhere when a proposal stays unresolved
        for ``retry_after`` seconds (its server may be cut off); with ``chaos``, crash,
        restart and partition servers meanwhile (a majority stays possible)."""
        waiting = {cmd: None for cmd in commands}
        world = self.world
        deadline = world.now + timeout
        while waiting and world.now < deadline:
            for cmd, p in list(waiting.items())[:window]:
                if p is not None and p.outcome is Outcome.COMMITTED:
                    del waiting[cmd]
                elif (p is None or p.outcome is not None or p.server in world.crashed
                      or world.now - p.at > retry_after):
                    waiting[cmd] = self.propose(cmd)
            if not waiting:
                break
            if chaos:
                self._chaos()
            world.run_for(self.rng.uniform(0.05, 0.3))
            self.settle_terms()
        if waiting:
            self.fail(f"{len(waiting)} commands never committed, e.g. {next(iter(waiting))!r}")

    def _chaos(self) -> None:
        world, rng = self.world, self.rng
        live = self.live()
        r = rng.random()
        if r < 0.1 and len(live) > len(self.names) // 2 + 1:
            world.crash(rng.choice(live))
        elif r < 0.3 and world.crashed:
            world.restart(rng.choice(sorted(world.crashed)))
        elif r < 0.42:
            side = [n for n in self.names if rng.random() < 0.5]
            world.partition(side, [n for n in self.names if n not in side])
        elif r < 0.6:
            world.heal()

    def heal_all(self) -> None:
        self.world.heal()
        for name in sorted(self.world.crashed):
            self.world.restart(name)

    def assert_converged(self) -> None:
        """Every server holds the same commands, in index order, as the committed record."""
        expected = sorted((i, c) for i, (c, _) in self.record.committed.items())
        for name in self.names:
            host = self.host(name)
            got = sorted(host.state)
            if [i for i, _ in host.state] != [i for i, _ in got]:
                self.fail(f"{name}'s service state is out of index order")
            if got != expected:
                missing = sorted(set(expected) - set(got))[:3]
                self.fail(f"{name} holds {len(got)} commands, the log {len(expected)}; "
                          f"missing e.g. {missing}")
