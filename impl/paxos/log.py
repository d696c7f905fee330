"""A replicated log on multi-instance Paxos, behind the consensus-log interface of Raft.

Log index ``i`` (from 1, as in Raft) is Paxos instance ``i - 1``. A service embeds one
:class:`PaxosLog` in its server node exactly as it would embed Raft (see
:mod:`faultlab.consensus`):

* ``start(command) -> (index, term, True)`` proposes ``command`` in the first instance this
  peer knows to be free. Every peer may propose (``is_leader`` is always True). ``term`` is
  this peer's term for the current incarnation, ``epoch * npeers + me + 1``, where ``epoch``
  is persisted and bumped at every start of the peer: no two peers and no two incarnations
  share a term, and one incarnation never proposes twice in one instance (it always picks an
  instance above every one it knows), so ``(index, term)`` identifies the proposal. It
  succeeded if and only if the :class:`ApplyMsg` for ``index`` carries
  ``command_term == term``: when another peer's proposal or a no-op wins the instance, the
  ApplyMsg there carries another term and the service knows its command lost.
* The ``apply`` callback gets every decided entry once per incarnation, in index order with
  no gaps. Holes are filled with **no-ops**: when a later instance is known but the next one
  to apply has stayed undecided for a tick (``paxos:log``, every 50 ms), this peer proposes a
  no-op there; Paxos keeps any value already accepted, so a no-op only wins instances nobody
  could have decided otherwise. A no-op is applied as ``ApplyMsg(command_valid=True,
  command=None, command_term=0)``: services skip ``None`` commands.
* ``snapshot(index, data)``: the service has applied everything up to ``index``; the snapshot
  and ``done(index - 1)`` are saved together, and once every peer did the same, Paxos forgets
  the instances. After a restart the log hands the snapshot to ``apply`` first
  (``snapshot_valid=True``) and continues with the entries after it.
* ``get_state() -> (term, True)``: the term of this incarnation; it does not change while a
  proposal is pending, so a service that compares it with the term ``start`` returned (as
  Raft services do) never takes a pending proposal for a lost one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from faultlab.consensus import ApplyMsg
from faultlab.paxos.peer import Fate, Paxos
from faultlab.sim import codec
from faultlab.sim.node import Context

__all__ = ["PaxosLog", "LogEntry", "NOOP", "LOG_TIMER"]

LOG_TIMER = "paxos:log"
TICK = 0.05


@codec.register
@dataclass(frozen=True, slots=True)
class LogEntry:
    """The value of one instance: a command and the term of the proposal that carried it."""

    term: int
    command: Any


NOOP = LogEntry(0, None)


class PaxosLog:
    """The consensus log over Paxos; see the module docstring."""

    def __init__(self, ctx: Context, peers: Sequence[str], me: int,
                 apply: Callable[[ApplyMsg], None], **flags: bool) -> None:
        self.ctx = ctx
        self.me = me
        self.npeers = len(peers)
        self.apply_cb = apply
        self.px = Paxos(ctx, peers, me, on_decide=self._on_decide, **flags)
        self.applied = 0          # highest index handed to the service
        self.epoch = 0            # incarnations of this peer so far (persisted)
        self.term = 0
        self.snapshot_index = 0
        self.snapshot_term = 0
        self._ready = False
        self._applying = False
        self._stuck: tuple[int, int] = (0, 0)  # (index waited for, ticks waited)

    # ------------------------------------------------------------------ ConsensusLog

    def on_start(self) -> None:
        self.px.on_start()
        saved = self.px.app_state or {}
        self.epoch = saved.get("epoch", 0) + 1
        self.term = self.epoch * self.npeers + self.me + 1
        self.snapshot_index = saved.get("snapshot_index", 0)
        self.snapshot_term = saved.get("snapshot_term", 0)
        self._save_app()  # the new epoch is durable before any proposal uses its term
        snap = self.ctx.persister.read_snapshot()
        if self.snapshot_index > 0:
            self.apply_cb(ApplyMsg(snapshot_valid=True, snapshot=snap,
                                   snapshot_term=self.snapshot_term,
                                   snapshot_index=self.snapshot_index))
            self.applied = self.snapshot_index
        self._ready = True
        self._apply_ready()
        self.ctx.set_timer(LOG_TIMER, TICK)

    def on_message(self, src: str, msg: Any) -> bool:
        return self.px.on_message(src, msg)

    def on_timer(self, name: str) -> bool:
        if name != LOG_TIMER:
            return self.px.on_timer(name)
        self._fill_hole()
        self.ctx.set_timer(LOG_TIMER, TICK)
        return True

    def on_send_failed(self, dst: str, msg: Any) -> bool:
        return self.px.on_send_failed(dst, msg)

    def start(self, command: Any) -> tuple[int, int, bool]:
        seq = max(self.px.max() + 1, self.px.min(), self.applied)
        self.px.start(seq, LogEntry(self.term, command))
        return seq + 1, self.term, True

    def get_state(self) -> tuple[int, bool]:
        return self.term, True

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

    # ------------------------------------------------------------------ internals

    def _save_app(self, *, write: bool = True) -> None:
        self.px.app_state = {"epoch": self.epoch, "snapshot_index": self.snapshot_index,
                             "snapshot_term": self.snapshot_term}
        if write:
            self.px.save()

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
                self.apply_cb(ApplyMsg(command_valid=True, command=entry.command,
                                       command_index=self.applied, command_term=entry.term))
        finally:
            self._applying = False

    def _fill_hole(self) -> None:
        """Propose a no-op in the next instance to apply if it blocks later ones for a tick."""
        seq = self.applied
        if self.px.max() <= seq or self.px.status(seq)[0] is not Fate.PENDING:
            self._stuck = (seq, 0)
            return
        waited = self._stuck[1] + 1 if self._stuck[0] == seq else 1
        self._stuck = (seq, waited)
        if waited >= 2:
            self.px.start(seq, NOOP)

    def abstract_state(self) -> dict[str, Any]:
        return {**self.px.abstract_state(), "applied": self.applied,
                "snapshot_index": self.snapshot_index}
