"""The Hypothesis state machine that attacks Raft, and its seeded-bug variants.

:class:`RaftMachine` is a :class:`faultlab.tools.explore.WorldMachine` over a Raft cluster on the
ADVERSARIAL profile: Hypothesis decides every step. Besides the generic steps (deliver, drop,
duplicate any message; fire any timer; crash, restart; partition, heal; let the earliest
event happen) it has steps that speak Raft, so that short programs reach deep states:

* ``timeout(i)``: the election timer of a server fires (it starts an election);
* ``heartbeat(i)``: a leader's heartbeat timer fires (it replicates);
* ``submit(i)``: a clerk's command reaches server ``i`` (a leader appends it and replicates);
* ``flush()``: every message in flight is delivered, in the order sent, and so are the
  messages that causes (bounded).

Each is a sequence of primitive World steps, so replay files and traces stay exact.

After every World step a :class:`faultlab.raft.checks.SafetyMonitor` checks Election Safety,
Log Matching, Leader Append-Only, Leader Completeness, State Machine Safety (committed entries
never change; the applier sees one command per index) and that applied indices only grow.
At teardown the network heals, crashed servers restart, the network turns reliable, and
within ``settle_timeout`` virtual seconds a leader must be elected and a new entry must be
applied by every server.

``FAULTLAB_TRACE_DIR=DIR`` writes every example's abstract-state trace to
``DIR/<Machine>-<seed>-<n>.jsonl``.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from faultlab.raft.bugs import raft_with
from faultlab.raft.checks import Applier, SafetyMonitor
from faultlab.raft.messages import (
    AppendEntries,
    AppendEntriesReply,
    InstallSnapshot,
    InstallSnapshotReply,
    RequestVote,
    RequestVoteReply,
)
from faultlab.raft.raft import ELECTION_TIMER, HEARTBEAT_TIMER, LEADER
from faultlab.raft.server import build_cluster, server_names
from faultlab.sim.network import ADVERSARIAL, RELIABLE
from faultlab.sim.world import Envelope, World
from faultlab.tools.explore import WorldMachine
from faultlab.tools.trace import TraceRecorder, trace_path
from hypothesis import note
from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

__all__ = ["RaftMachine", "RaftMachine5", "MUTANT_MACHINES", "MUTANT_MACHINES5", "PROBE", "CLERK",
           "decode_action"]

CLERK = "c0"
PROBE = "probe"
FLUSH_LIMIT = 200
_trace_counter = itertools.count()
_LOG_TRAFFIC = (AppendEntries, InstallSnapshot)
_LOG_REPLIES = (AppendEntriesReply, InstallSnapshotReply)
PLAN_ACTIONS = ("elect", "replicate", "submit", "reboot")
PLAN_LENGTH = 40
PLAN_CODES = len(PLAN_ACTIONS) * 5 * 32


def decode_action(code: int) -> tuple[str, int, int]:
    """A plan code as (action, server index 0-4, server mask of 5 bits)."""
    kind, rest = code % len(PLAN_ACTIONS), code // len(PLAN_ACTIONS)
    return PLAN_ACTIONS[kind], rest % 5, rest // 5


class RaftMachine(WorldMachine):
    """Three servers, snapshots every 4 applied entries."""

    n_servers: ClassVar[int] = 3
    snapshot_interval: ClassVar[int | None] = 4
    bugs: ClassVar[frozenset[str]] = frozenset()   # names of faultlab.raft.bugs.BUGS
    settle_timeout: ClassVar[float] = 10.0

    @classmethod
    def build_world(cls, seed: int) -> World:
        names = server_names(cls.n_servers)
        context = f" ({cls.__name__}, seed {seed})"
        applier = Applier(names, cls.snapshot_interval, context, raise_at_once=False)
        world = build_cluster(seed, cls.n_servers, ADVERSARIAL, on_apply=applier.apply,
                              on_boot=applier.boot, raft=raft_with(cls.bugs), clerks=1)
        world.attach("raft_applier", applier)
        world.attach("raft_monitor", SafetyMonitor(world, applier, context))
        path = trace_path(f"{cls.__name__}-{seed}-{next(_trace_counter)}.jsonl")
        if path is not None:
            world.attach("raft_trace", TraceRecorder(world, "raft"))
            world.attach("raft_trace_path", path)
        return world

    def call_input(self) -> st.SearchStrategy:
        return st.fixed_dictionaries({
            "to": st.sampled_from(self.world.servers),
            "command": st.integers(0, 10**6),
        })

    def search_workload(self) -> dict[str, list]:
        """For bounded search: the clerk hands two commands to two different servers."""
        s = self.world.servers
        return {CLERK: [{"to": s[0], "command": 1}, {"to": s[1], "command": 2}]}

    # ---------------------------------------------------------------- Raft-aware steps

    def _server(self, i: int) -> str:
        return self.world.servers[i % len(self.world.servers)]

    def _mask(self, mask: int) -> set[str]:
        return {s for k, s in enumerate(self.world.servers) if mask >> k & 1}

    @rule(i=st.integers(0, 255), mask=st.integers(0, 255))
    def elect(self, i: int, mask: int) -> None:
        """Server i's election timeout passes; its RequestVotes to the servers in ``mask``
        arrive, and their replies (other messages stay in flight)."""
        self._guard(lambda: self._elect(self._server(i), self._mask(mask)))

    def _elect(self, name: str, reach: set[str]) -> None:
        self._exchange(name, ELECTION_TIMER, (RequestVote,), (RequestVoteReply,), reach)

    def _exchange(self, name: str, timer: str, requests: tuple[type, ...],
                  replies: tuple[type, ...], reach: set[str]) -> None:
        """Fire ``timer`` of ``name``; then deliver its ``requests`` to the servers in
        ``reach`` and the ``replies`` to it, including those this causes, in order."""
        w = self.world
        pending = [p.id for p in w.timers(name) if p.is_timer and p.name == timer]
        if not pending:
            return
        w.fire(pending[0])
        self._deliver_while(lambda e: isinstance(e.msg, requests) and e.src == name
                            and e.dst in reach
                            or isinstance(e.msg, replies) and e.dst == name)

    @rule(i=st.integers(0, 255), mask=st.integers(0, 255))
    def replicate(self, i: int, mask: int) -> None:
        """Leader i's heartbeat timer fires; its AppendEntries (or InstallSnapshot) to the
        servers in ``mask`` arrive, with the replies and the retries they cause."""
        self._guard(lambda: self._replicate(self._server(i), self._mask(mask)))

    def _replicate(self, name: str, reach: set[str]) -> None:
        self._exchange(name, HEARTBEAT_TIMER, _LOG_TRAFFIC, _LOG_REPLIES, reach)

    @rule(i=st.integers(0, 255))
    def submit(self, i: int) -> None:
        """A clerk's command reaches server i (a leader appends it and replicates it)."""
        self._guard(lambda: self._submit(self._server(i)))

    def _submit(self, server: str) -> None:
        self.commands = getattr(self, "commands", 0) + 1
        w = self.world
        w.invoke(CLERK, {"to": server, "command": self.commands})
        sent = [e.id for e in w.in_flight.values() if e.src == CLERK]
        if sent:
            w.deliver(sent[-1])

    @rule(seed=st.integers(0, 2**32 - 1), length=st.integers(1, PLAN_LENGTH))
    def plan(self, seed: int, length: int) -> None:
        """A run of ``length`` Raft-level actions in one step, drawn uniformly from a
        generator seeded with ``seed`` (uniform draws find the deep cases far more often
        than Hypothesis's own integer choices; a shorter ``length`` keeps a prefix of the
        same run, so shrinking still works) and noted in words in the counterexample. Each
        action is (action, i, mask):

        * ``elect``: the i-th server that is not leading times out; votes travel to and from
          the servers in ``mask``;
        * ``replicate``: the leader of the highest term sends AppendEntries, which reach the
          servers in ``mask`` (replies and retries included);
        * ``submit``: a command reaches that leader;
        * ``reboot``: server i crashes and restarts at once (the one fault a plan brings
          along whatever the example's fault set: it is what persistence bugs need).

        Long runs of elections with partial votes and partial replication are where the
        Figure 8 cases live; the generic rules still interleave with them.
        """
        rng = random.Random(seed)
        actions = [decode_action(rng.randrange(PLAN_CODES)) for _ in range(length)]
        note(f"plan: {', '.join(f'{a}({i}, mask={m:05b})' for a, i, m in actions)}")
        self._guard(lambda: self._plan(actions))

    def _plan(self, actions: list[tuple[str, int, int]]) -> None:
        w = self.world
        for action, i, mask in actions:
            name = self._server(i)
            if action == "elect":
                # a follower or candidate times out (i picks among them)
                waiting = self._servers_with_timer(ELECTION_TIMER)
                if waiting:
                    self._elect(waiting[i % len(waiting)], self._mask(mask))
            elif action == "replicate":
                leader = self.leader()
                if leader is not None:
                    self._replicate(leader, self._mask(mask))
            elif action == "submit":
                leader = self.leader()
                if leader is not None:
                    self._submit(leader)
            elif action == "reboot" and name not in w.crashed:
                w.crash(name)
                w.restart(name)

    def _servers_with_timer(self, timer: str) -> list[str]:
        return sorted({p.node for p in self.world.timers() if p.is_timer and p.name == timer})

    def _deliver_while(self, wanted: Callable[[Envelope], bool]) -> None:
        w = self.world
        for _ in range(FLUSH_LIMIT):
            ready = next((e.id for e in w.in_flight.values() if wanted(e)), None)
            if ready is None:
                return
            w.deliver(ready)

    @precondition(lambda self: self.world.in_flight)
    @rule()
    def flush(self) -> None:
        self._guard(self._flush)

    def _flush(self) -> None:
        w = self.world
        for _ in range(FLUSH_LIMIT):
            if not w.in_flight:
                return
            w.deliver(next(iter(w.in_flight)))

    # ---------------------------------------------------------------- failures

    # ---------------------------------------------------------------- checks

    def check_safety(self) -> None:
        self.world.attached("raft_monitor").check()

    def leader(self) -> str | None:
        """The leader of the highest term among live servers that have a leader."""
        w = self.world
        best = None
        for name in w.servers:
            node = w.nodes.get(name)
            if node is not None and node.raft.role == LEADER and (
                    best is None or node.raft.current_term > w.nodes[best].raft.current_term):
                best = name
        return best

    def settled(self) -> bool:
        """Every server applied the probe submitted after healing."""
        applier: Applier = self.world.attached("raft_applier")
        return all(PROBE in applier.logs[s].values() for s in self.world.servers)

    def settle_and_check(self) -> None:
        """Heal, restart, go reliable; then, as the tester's one(): find the leader, give it
        the probe, wait up to 2 s for every server to apply it, retry until the bound."""
        w = self.world
        try:
            if w.blocked or w.deaf:
                w.heal()
            for name in sorted(w.crashed):
                w.restart(name)
            w.set_profile(RELIABLE)
            deadline = w.now + self.settle_timeout
            while not self.settled() and w.now < deadline:
                if not w.run_until(lambda: self.leader() is not None, deadline - w.now):
                    break
                w.invoke(CLERK, {"to": self.leader(), "command": PROBE})
                w.run_until(self.settled, min(2.0, deadline - w.now))
            if not self.settled():
                raise AssertionError(
                    f"after healing, no new entry was applied by every server within "
                    f"{self.settle_timeout}s of virtual time (leader: {self.leader()})"
                    f"{w.attached('raft_monitor').context}")
            self.final_checks()
        finally:
            self._write_trace()

    def _write_trace(self) -> None:
        trace = self.world.attached("raft_trace", None)
        if trace is not None:
            path: Path = self.world.attached("raft_trace_path")
            path.write_text("".join(json.dumps(line, separators=(",", ":")) + "\n"
                                    for line in trace.lines))


class RaftMachine5(RaftMachine):
    """Five servers, no snapshots (longer logs for Log Matching and Leader Completeness)."""

    n_servers = 5
    snapshot_interval = None


# ------------------------------------------------------------------------ seeded bugs

class VoteWithoutUpToDateCheck(RaftMachine):
    bugs = frozenset({"vote_without_up_to_date_check"})


class CommitOldTermByCounting(RaftMachine):
    bugs = frozenset({"commit_old_term_by_counting"})


class ForgetVotedFor(RaftMachine):
    bugs = frozenset({"forget_voted_for"})


class KeepConflictingSuffix(RaftMachine):
    bugs = frozenset({"keep_conflicting_suffix"})


class ApplyBeyondCommit(RaftMachine):
    bugs = frozenset({"apply_beyond_commit"})


MUTANT_MACHINES: dict[str, type[RaftMachine]] = {
    next(iter(m.bugs)): m
    for m in (VoteWithoutUpToDateCheck, CommitOldTermByCounting, ForgetVotedFor,
              KeepConflictingSuffix, ApplyBeyondCommit)
}


def _five_server_variant(machine: type[RaftMachine]) -> type[RaftMachine]:
    name = f"{machine.__name__}5"
    variant = type(name, (machine,), {"n_servers": 5, "snapshot_interval": None,
                                      "__module__": __name__, "__qualname__": name})
    globals()[name] = variant  # importable by name, for replay files
    return variant


MUTANT_MACHINES5: dict[str, type[RaftMachine]] = {
    bug: _five_server_variant(m) for bug, m in MUTANT_MACHINES.items()}
