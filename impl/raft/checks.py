"""What the tests check about Raft, as code shared by the lab tester, the Hypothesis machine
and the demo.

:class:`Applier` is config.go's applier: it sees every ApplyMsg of every server and fails at
once when two servers apply different commands at one index or a server applies out of
order; with ``snapshot_interval`` it is the 2D snapshot applier (a snapshot holding the index
and every applied command after each ``interval``-th entry; snapshots installed through
ApplyMsg replace its record, also the one Raft hands back at each restart).

:class:`SafetyMonitor` observes a World after every step and checks Raft's safety properties
(section 5.2-5.4 of the paper, Figure 3) over the servers' abstract states and the history it
keeps of them (the "ghost" state):

* **Election Safety**: at most one leader is ever elected in a given term.
* **Leader Append-Only**: while a server leads in a term (one incarnation), it never
  overwrites or deletes entries of its log.
* **Log Matching**: if two logs contain an entry with the same index and term, the logs are
  identical in all entries up through that index; and the terms in each log never decrease.
* **Leader Completeness**: an entry committed in term T is in the log of every leader of a
  term above T (or inside its snapshot); and, looking ahead, no server that lacks a committed
  entry has a log as up-to-date as those of a majority (so none can ever be elected: in Raft
  a majority stores each committed entry after an entry of the committing term, and every
  log more up-to-date than one of theirs holds the entry).
* **State Machine Safety**: no two servers apply different commands at one index, and an
  entry once known committed never changes (the Applier and the committed record).
* **Applied index monotonic**: within one incarnation, lastApplied never decreases and never
  exceeds the applied record; commands are applied in order with no gap.
* **Apply after commit**: lastApplied never exceeds commitIndex (only committed entries reach
  the service; Figure 2's "if commitIndex > lastApplied: apply").
"""

from __future__ import annotations

from typing import Any

from faultlab.consensus import ApplyMsg
from faultlab.raft.raft import LEADER
from faultlab.raft.server import RaftServer
from faultlab.sim import codec
from faultlab.sim.world import World

__all__ = ["Applier", "SafetyMonitor", "SafetyViolation"]


class SafetyViolation(AssertionError):
    """A Raft safety property does not hold."""


class Applier:
    """config.go's applier checks (``applier`` and ``applierSnap``), online."""

    def __init__(self, servers: list[str], snapshot_interval: int | None = None,
                 context: str = "", *, raise_at_once: bool = True) -> None:
        self.servers = list(servers)
        self.raise_at_once = raise_at_once
        self.snapshot_interval = snapshot_interval
        self.context = context
        self.logs: dict[str, dict[int, Any]] = {s: {} for s in servers}
        self.last_applied: dict[str, int] = dict.fromkeys(servers, 0)
        self.max_index = 0
        self.error: str | None = None
        self.applied_count = 0

    def fail(self, message: str) -> None:
        """Record the first error; raise it now (the labs' log.Fatalf) unless the driver
        prefers to see it after the step (``raise_at_once=False``: the Hypothesis machine,
        whose replay files must include the step that failed)."""
        if self.error is None:
            self.error = message
        if self.raise_at_once:
            raise SafetyViolation(f"apply error: {message}{self.context}")

    def boot(self, server: RaftServer) -> None:
        """At each (re)start: forget lastApplied (the persisted snapshot, if any, comes next
        through ApplyMsg: the consensus contract's restart rule)."""
        self.last_applied[server.ctx.name] = 0

    def _ingest(self, name: str, snap: bytes, index: int) -> None:
        last_included, xlog = codec.decode(snap)
        if index != last_included:
            self.fail(f"server {name} snapshot doesn't match m.SnapshotIndex")
        self.logs[name] = {j: c for j, c in enumerate(xlog) if j > 0}
        self.last_applied[name] = last_included
        self.max_index = max(self.max_index, last_included)

    def apply(self, server: RaftServer, msg: ApplyMsg) -> None:
        name = server.ctx.name
        if msg.snapshot_valid:
            if self.snapshot_interval is None:
                self.fail(f"server {name} got a snapshot but no snapshots were taken")
            self._ingest(name, msg.snapshot, msg.snapshot_index)
            return
        if not msg.command_valid:
            return
        index, command = msg.command_index, msg.command
        self.applied_count += 1
        if self.snapshot_interval is not None and index != self.last_applied[name] + 1:
            self.fail(f"server {name} apply out of order, expected index "
                      f"{self.last_applied[name] + 1}, got {index}")
        for other, log in self.logs.items():
            old = log.get(index, _MISSING)
            if old is not _MISSING and old != command:
                self.fail(f"commit index={index} server={name} {command!r} != "
                          f"server={other} {old!r}")
        prev_ok = (index - 1) in self.logs[name]
        self.logs[name][index] = command
        self.max_index = max(self.max_index, index)
        if self.snapshot_interval is None and index > 1 and not prev_ok:
            self.fail(f"server {name} apply out of order {index}")
        self.last_applied[name] = index
        if self.snapshot_interval is not None and (index + 1) % self.snapshot_interval == 0:
            log = self.logs[name]
            data = codec.encode((index, tuple(log.get(j) for j in range(index + 1))))
            server.raft.snapshot(index, data)

    def n_committed(self, index: int) -> tuple[int, Any]:
        """How many servers applied ``index``, and the command (failing if they differ)."""
        if self.error is not None:
            raise SafetyViolation(f"apply error: {self.error}{self.context}")
        count, command = 0, None
        for name in self.servers:
            log = self.logs[name]
            if index in log:
                if count > 0 and command != log[index]:
                    raise SafetyViolation(f"committed values do not match: index {index}, "
                                          f"{command!r}, {log[index]!r}{self.context}")
                count += 1
                command = log[index]
        return count, command


_MISSING = object()


class SafetyMonitor:
    """Checks Raft's safety properties after every World step (see the module docstring)."""

    def __init__(self, world: World, applier: Applier | None = None, context: str = "") -> None:
        self.world = world
        self.applier = applier
        self.context = context
        self.leaders: dict[int, str] = {}                            # term -> leader
        self.committed: dict[int, tuple[tuple[int, Any], int]] = {}  # index -> (entry, term)
        self.leader_logs: dict[str, tuple[int, int, int, list]] = {}
        self.applied: dict[str, tuple[int, int]] = {}                # name -> (inc, applied)
        self.checks = 0
        self._stamp: tuple = ()
        world.observers.append(self._observe)

    def _observe(self, world: World, step: tuple) -> None:
        # Skip the full check when no server changed since the last one: every change of
        # persistent state is a persister write, and the volatile state that matters is
        # compared directly (heartbeats that change nothing are most steps).
        w = self.world
        stamp = tuple(
            (w.incarnation[n], w.persisters[n].writes, r.role, r.commit_index,
             r.last_applied, r.snapshot_index)
            for n in w.servers if (r := getattr(w.nodes.get(n), "raft", None)) is not None)
        if stamp == self._stamp and (self.applier is None or self.applier.error is None):
            return
        self._stamp = stamp
        self.check()

    def fail(self, prop: str, detail: str) -> None:
        raise SafetyViolation(f"{prop} violated: {detail}{self.context}")

    def check(self) -> None:
        self.checks += 1
        w = self.world
        if self.applier is not None and self.applier.error is not None:
            self.fail("state machine safety", f"apply error: {self.applier.error}")
        rafts = [(name, w.nodes[name].raft) for name in w.servers
                 if name in w.nodes and isinstance(w.nodes[name], RaftServer)]
        for name, r in rafts:
            inc = w.incarnation[name]
            # Applied index monotonic (per incarnation).
            prev = self.applied.get(name)
            if prev is not None and prev[0] == inc and r.last_applied < prev[1]:
                self.fail("applied index monotonic",
                          f"{name} lastApplied went from {prev[1]} to {r.last_applied}")
            self.applied[name] = (inc, r.last_applied)
            if r.last_applied > r.commit_index:
                self.fail("apply after commit", f"{name} applied through index "
                          f"{r.last_applied} but its commitIndex is {r.commit_index}")
            # Terms in a log never decrease and never exceed the current term.
            last = r.snapshot_term
            for t, _ in r.log:
                if t < last or t > r.current_term:
                    self.fail("log matching", f"{name}'s log has terms out of order: "
                              f"{[e[0] for e in r.log]} (snapshot term {r.snapshot_term}, "
                              f"current term {r.current_term})")
                last = t
            # Election Safety.
            if r.role == LEADER:
                other = self.leaders.setdefault(r.current_term, name)
                if other != name:
                    self.fail("election safety",
                              f"{other} and {name} were both leaders in term {r.current_term}")
                # Leader Append-Only.
                seen = self.leader_logs.get(name)
                now = (inc, r.current_term, r.snapshot_index, list(r.log))
                if seen is not None and seen[:2] == now[:2]:
                    old_snap, old_log = seen[2], seen[3]
                    for k, e in enumerate(old_log):
                        i = old_snap + 1 + k
                        if i <= r.snapshot_index:
                            continue
                        if i > r.last_log_index() or r.entry(i) != e:
                            self.fail("leader append-only",
                                      f"leader {name} (term {r.current_term}) changed or "
                                      f"deleted entry {i} {e!r}")
                self.leader_logs[name] = now
            else:
                self.leader_logs.pop(name, None)
            # Committed entries never change (State Machine Safety, on logs).
            for i in range(r.snapshot_index + 1, r.commit_index + 1):
                e = r.entry(i) if i <= r.last_log_index() else None
                if e is None:
                    self.fail("log matching", f"{name} commitIndex {r.commit_index} is beyond "
                              f"its log ({r.last_log_index()})")
                known = self.committed.get(i)
                if known is None:
                    self.committed[i] = (e, r.current_term)
                elif known[0] != e:
                    self.fail("state machine safety",
                              f"entry {i} was committed as {known[0]!r} but {name} has "
                              f"{e!r} committed")
        # Log Matching, pairwise.
        for a in range(len(rafts)):
            for b in range(a + 1, len(rafts)):
                self._log_matching(*rafts[a], *rafts[b])
        # Leader Completeness, prospectively: a server that lacks a committed entry must not
        # be able to win an election, i.e. its log must be less up-to-date than the logs of
        # more than half of the servers (live ones counted; crashed ones could only help it).
        if self.committed:
            majority = len(w.servers) // 2 + 1
            lasts = [(r.last_log_term(), r.last_log_index()) for _, r in rafts]
            for name, r in rafts:
                mine = (r.last_log_term(), r.last_log_index())
                if sum(1 for other in lasts if mine >= other) < majority:
                    continue
                for i, (e, _) in self.committed.items():
                    if i > r.snapshot_index and (i > r.last_log_index() or r.entry(i) != e):
                        self.fail("leader completeness",
                                  f"entry {i} {e!r} is committed, but {name} lacks it and its "
                                  f"log (last term {mine[0]}, index {mine[1]}) is as up-to-date "
                                  f"as a majority's: it can be elected leader")
        # Leader Completeness.
        for name, r in rafts:
            if r.role != LEADER:
                continue
            for i, (e, term) in self.committed.items():
                if term >= r.current_term or i <= r.snapshot_index:
                    continue
                if i > r.last_log_index() or r.entry(i) != e:
                    self.fail("leader completeness",
                              f"entry {i} {e!r} committed in term {term} is missing from the "
                              f"log of {name}, leader of term {r.current_term}")

    def _log_matching(self, na: str, a: Any, nb: str, b: Any) -> None:
        lo = max(a.snapshot_index, b.snapshot_index) + 1
        hi = min(a.last_log_index(), b.last_log_index())
        top = None
        for i in range(hi, lo - 1, -1):
            if a.entry(i)[0] == b.entry(i)[0]:
                top = i
                break
        if top is None:
            return
        for i in range(lo, top + 1):
            if a.entry(i) != b.entry(i):
                self.fail("log matching",
                          f"{na} and {nb} both have an entry of term {a.entry(top)[0]} at "
                          f"index {top} but differ at index {i}: {a.entry(i)!r} vs "
                          f"{b.entry(i)!r}")
