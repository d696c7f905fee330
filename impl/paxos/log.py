"""A replicated log on multi-instance Paxos that keeps the consensus contract.

Log index ``i`` (from 1, as in Raft) is Paxos instance ``i - 1``. A service embeds one
:class:`PaxosLog` exactly as it would embed Raft (:mod:`faultlab.consensus` states the
contract); what is particular to Paxos:

* **Proposing.** Every peer may propose (``is_leader`` is always True, ``leader_hint`` is the
  peer itself). ``start`` puts the command in the first instance this peer knows to be free,
  under this incarnation's term ``epoch * npeers + position + 1``: ``epoch`` is persisted and
  bumped at every start, so no two peers and no two incarnations share a term, and one
  incarnation never proposes twice in one instance. The term is constant while the
  incarnation lives (``get_state`` never makes a pending proposal look lost).
* **A window.** Paxos runs rounds only in the :data:`WINDOW` instances after the first one not
  yet applied; a command for an instance beyond waits (in memory: a crash loses it, and its
  index is then decided by others or filled with a no-op, so its proposal is LOST) until the
  log has caught up to it. While an early instance is hard to decide (its peers down,
  proposers dueling) the clerks' retries would otherwise start a Paxos instance each, and on
  a real machine, where every promise is a write to disk, their rounds would crowd out the
  very round that could unblock the log.
* **No-ops.** When a later instance is known but the next one to apply has stayed undecided
  for a tick (``paxos:log``, every 50 ms), this peer proposes a no-op there; Paxos keeps any
  value already accepted, so a no-op only wins instances nobody could have decided otherwise.
  No-ops carry term 0 (no proposal's term) and are never handed to the service: its indexes
  skip them, and a proposal whose instance a no-op won is LOST.
* **Compaction.** ``snapshot(index, data)`` saves the snapshot with ``done(index - 1)`` in one
  write, and this peer forgets instances below ``index`` at once (Paxos with
  ``forget="own"``), without waiting for the other peers. A peer that still needs a forgotten
  instance hears ``forgotten`` from those who dropped it and asks them, one per tick, for
  their snapshot (:class:`SnapshotRequest`, :class:`SnapshotReply`); it installs a newer one
  through ``apply`` and goes on from there. So the persisted state stays bounded by what the
  service's snapshots leave, even while a peer is down.
* **Restart.** The persisted snapshot goes to ``apply`` first, during ``on_start``, then the
  decided entries after it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from faultlab.consensus import ApplyMsg
from faultlab.paxos.peer import Fate, Paxos
from faultlab.sim import codec
from faultlab.sim.messages import message
from faultlab.sim.node import Context

__all__ = ["PaxosLog", "LogEntry", "NOOP", "LOG_TIMER", "SnapshotRequest", "SnapshotReply"]

LOG_TIMER = "paxos:log"
TICK = 0.05
WINDOW = 16


@codec.register
@dataclass(frozen=True, slots=True)
class LogEntry:
    """The value of one instance: a command and the term of the proposal that carried it
    (term 0: a no-op of the log, never applied)."""

    term: int
    command: Any

    @property
    def is_noop(self) -> bool:
        return self.term == 0


NOOP = LogEntry(0, None)


@message
class SnapshotRequest:
    """A peer that needs instances others forgot: ``applied`` is the last index it applied."""

    applied: int


@message(reply=True)
class SnapshotReply:
    """The replier's latest snapshot, covering indexes up to ``index`` (term of that entry)."""

    index: int
    term: int
    data: bytes


class PaxosLog:
    """The consensus log over Paxos; see the module docstring."""

    def __init__(self, ctx: Context, peers: Sequence[str], me: str,
                 apply: Callable[[ApplyMsg], None]) -> None:
        self.ctx = ctx
        self.me = me
        self.peers = tuple(peers)
        self.position = self.peers.index(me)
        self.npeers = len(self.peers)
        self.apply_cb = apply
        self.px = Paxos(ctx, self.peers, self.position, on_decide=self._on_decide,
                        forget="own")
        self.applied = 0          # highest index this incarnation is past (no-ops included)
        self.epoch = 0            # incarnations of this peer so far (persisted)
        self.term = 0
        self.snapshot_index = 0
        self.snapshot_term = 0
        self._ready = False
        self._applying = False
        self._stuck: tuple[int, int] = (0, 0)  # (index waited for, ticks waited)
        self._asked = 0                          # peers asked for a snapshot so far
        self.next_seq = 0                        # the instance the next start() takes
        self.waiting: dict[int, LogEntry] = {}   # proposals beyond the window

    # ------------------------------------------------------------------ ConsensusLog

    def on_start(self) -> None:
        self.px.on_start()
        saved = self.px.app_state or {}
        self.epoch = saved.get("epoch", 0) + 1
        self.term = self.epoch * self.npeers + self.position + 1
        self.snapshot_index = saved.get("snapshot_index", 0)
        self.snapshot_term = saved.get("snapshot_term", 0)
        self._save_app()  # the new epoch is durable before any proposal uses its term
        if self.snapshot_index > 0:
            self.applied = self.snapshot_index
            snap = self.ctx.persister.read_snapshot()
            self.apply_cb(ApplyMsg(snapshot_valid=True, snapshot=snap,
                                   snapshot_term=self.snapshot_term,
                                   snapshot_index=self.snapshot_index))
        self._ready = True
        self._apply_ready()
        self.ctx.set_timer(LOG_TIMER, TICK)

    def on_message(self, src: str, msg: Any) -> bool:
        if isinstance(msg, SnapshotRequest):
            if src in self.peers and self.snapshot_index > msg.applied:
                self.ctx.send(src, SnapshotReply(self.snapshot_index, self.snapshot_term,
                                                 self.ctx.persister.read_snapshot()))
            return True
        if isinstance(msg, SnapshotReply):
            self._install(msg)
            return True
        return self.px.on_message(src, msg)

    def on_timer(self, name: str) -> bool:
        if name != LOG_TIMER:
            return self.px.on_timer(name)
        self._catch_up()
        self.ctx.set_timer(LOG_TIMER, TICK)
        return True

    def on_send_failed(self, dst: str, msg: Any) -> bool:
        if isinstance(msg, (SnapshotRequest, SnapshotReply)):
            return True  # asked again at a later tick
        return self.px.on_send_failed(dst, msg)

    def start(self, command: Any) -> tuple[int, int, bool]:
        seq = max(self.px.max() + 1, self.px.min(), self.applied, self.next_seq)
        self.next_seq = seq + 1
        self.waiting[seq] = LogEntry(self.term, command)
        self._open_window()
        return seq + 1, self.term, True

    def get_state(self) -> tuple[int, bool]:
        return self.term, True

    def leader_hint(self) -> str | None:
        return self.me

    def snapshot(self, index: int, data: bytes) -> None:
        if index <= self.snapshot_index or index > self.applied:
            return
        fate, entry = self.px.status(index - 1)
        self.snapshot_index = index
        self.snapshot_term = entry.term if fate is Fate.DECIDED else self.snapshot_term
        self._save_app(write=False)
        self.px.done(index - 1, snapshot=data)

    def state_size(self) -> int:
        return self.ctx.persister.state_size()

    # ------------------------------------------------------------------ applying

    def _on_decide(self, seq: int) -> None:
        if self._ready:
            self._apply_ready()

    def _apply_ready(self) -> None:
        if self._applying:
            return  # the service called start() from inside apply; the loop continues
        self._applying = True
        try:
            while True:
                fate, entry = self.px.status(self.applied)  # instance of index applied + 1
                if fate is not Fate.DECIDED:
                    break
                self.applied += 1
                if not entry.is_noop:
                    self.apply_cb(ApplyMsg(command_valid=True, command=entry.command,
                                           command_index=self.applied,
                                           command_term=entry.term))
        finally:
            self._applying = False
        self._open_window()

    def _open_window(self) -> None:
        """Start the waiting proposals that the window now reaches (see the docstring)."""
        limit = self.applied + WINDOW
        for seq in sorted(self.waiting):
            if seq >= limit:
                break
            entry = self.waiting.pop(seq)
            if seq >= self.applied:
                self.px.start(seq, entry)

    # ------------------------------------------------------------------ catching up

    def _catch_up(self) -> None:
        """Once a tick: fill a hole that blocks later instances with a no-op, or, when the
        next instance is one others forgot, ask a peer for its snapshot."""
        seq = self.applied
        if self.px.peer_floor > seq and self.npeers > 1:
            others = [p for p in self.peers if p != self.me]
            self.ctx.send(others[self._asked % len(others)], SnapshotRequest(self.applied))
            self._asked += 1
        if self.px.max() <= seq or self.px.status(seq)[0] is not Fate.PENDING:
            self._stuck = (seq, 0)
            return
        waited = self._stuck[1] + 1 if self._stuck[0] == seq else 1
        self._stuck = (seq, waited)
        if waited >= 2:
            self.px.start(seq, NOOP)

    def _install(self, msg: SnapshotReply) -> None:
        """A newer snapshot from a peer: hand it to the service and go on after it."""
        if msg.index <= self.applied:
            return
        self.applied = self.snapshot_index = msg.index
        self.snapshot_term = msg.term
        self._save_app(write=False)
        self.px.done(msg.index - 1, snapshot=msg.data)  # saved, then forgotten below it
        self.apply_cb(ApplyMsg(snapshot_valid=True, snapshot=msg.data,
                               snapshot_term=msg.term, snapshot_index=msg.index))
        self._apply_ready()

    # ------------------------------------------------------------------ persistence

    def _save_app(self, *, write: bool = True) -> None:
        self.px.app_state = {"epoch": self.epoch, "snapshot_index": self.snapshot_index,
                             "snapshot_term": self.snapshot_term}
        if write:
            self.px.save()

    def abstract_state(self) -> dict[str, Any]:
        return {**self.px.abstract_state(), "applied": self.applied,
                "snapshot_index": self.snapshot_index}

    def fingerprint_state(self) -> Any:
        return (self.px.fingerprint(), self.applied, self.epoch, self.snapshot_index,
                self.snapshot_term, self._stuck, self._asked, self.next_seq,
                tuple(sorted(self.waiting.items())))
