"""The proposer: drives one instance to a decision (Lamport, "Paxos Made Simple", 2.2-2.4).

For each instance it was asked to ``start``, the proposer runs rounds:

1. pick a ballot ``n`` above every ballot it has seen for the instance (ballots are
   ``round * npeers + me``, unique per peer) and send ``Prepare(n)`` to every acceptor,
   its own included (locally, without the network);
2. on promises from a majority, propose the value of the highest-ballot acceptance reported in
   those promises, or its own value if none reported one, with ``Accept(n, v)``;
3. on acceptances from a majority, the value is chosen: hand it to the learner, which records
   and announces it.

A round ends early when enough acceptors refused (or could not be reached) that a majority is
out of reach, or after a timeout when replies were lost; the next round starts after a random
back-off that doubles with each attempt (dueling proposers then rarely collide twice). A
reply saying the instance is already decided ends the proposal at once. The value each
started instance was proposed with is persisted, so a restarted peer resumes its proposals.

Seeded bugs (faultlab.paxos.bugs): ``IgnoreAccepted`` overrides :meth:`Proposer.choose_value`
to propose its own value even when a promise reports an accepted one; ``MiscountedMajority``
overrides :meth:`~faultlab.paxos.peer.Paxos.quorum` with ``npeers // 2``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from faultlab.paxos.messages import (
    DECIDED,
    FORGOTTEN,
    OK,
    PaxosAccept,
    PaxosAcceptReply,
    PaxosPrepare,
    PaxosPrepareReply,
)

if TYPE_CHECKING:
    from faultlab.paxos.peer import Paxos

__all__ = ["Proposer", "Proposal", "timer_name"]

PREPARE, ACCEPT, WAIT = "prepare", "accept", "wait"
ROUND_TIMEOUT = 0.1      # seconds without a majority before a round is abandoned
ROUND_JITTER = 0.05
BACKOFF_BASE = 0.01      # first back-off is uniform in [0, 20 ms), doubling up to 1 s
BACKOFF_MAX = 1.0


def timer_name(seq: int) -> str:
    return f"paxos:propose:{seq}"


@dataclass
class Proposal:
    seq: int
    value: Any                      # the value this peer was asked to propose
    n: int = -1                     # ballot of the current round
    phase: str = WAIT
    attempt: int = 0
    highest: int = -1               # highest ballot seen for this instance
    proposing: Any = None           # the value sent in phase 2 of this round
    promises: dict[int, tuple[int, Any]] = field(default_factory=dict)
    accepted: set[int] = field(default_factory=set)
    refused: set[int] = field(default_factory=set)


class Proposer:
    def __init__(self, peer: Paxos) -> None:
        self.peer = peer
        self.proposals: dict[int, Proposal] = {}

    def start(self, seq: int, value: Any) -> None:
        if seq in self.proposals:
            return
        self.proposals[seq] = Proposal(seq, value)
        self.peer.save(seq)
        self._round(self.proposals[seq])

    def stop(self, seq: int) -> None:
        if self.proposals.pop(seq, None) is not None:
            self.peer.ctx.cancel_timer(timer_name(seq))

    def _round(self, p: Proposal) -> None:
        peer = self.peer
        p.attempt += 1
        p.highest = max(p.highest, peer.acceptor.promised(p.seq))
        p.n = (p.highest // peer.npeers + 1) * peer.npeers + peer.me
        p.phase = PREPARE
        p.promises, p.accepted, p.refused = {}, set(), set()
        # arm the timer first: the local prepare below may already end the proposal
        peer.ctx.set_timer(timer_name(p.seq),
                           ROUND_TIMEOUT + peer.ctx.random.uniform(0, ROUND_JITTER))
        peer.broadcast(PaxosPrepare(p.seq, p.n, peer.my_done))

    def _current(self, seq: int, n: int, phase: str) -> Proposal | None:
        p = self.proposals.get(seq)
        if p is None or p.n != n or p.phase != phase:
            return None
        return p

    def on_prepare_reply(self, src: int, r: PaxosPrepareReply) -> None:
        p = self._current(r.seq, r.n, PREPARE)
        if p is None:
            return
        if r.status == DECIDED:
            self.peer.learner.learn(r.seq, r.value, announce=True)
            return
        if self._not_ok(p, src, r):
            return
        p.promises[src] = (r.accepted, r.value)
        if len(p.promises) < self.peer.majority:
            return
        value = self.choose_value(p)
        p.phase = ACCEPT
        p.proposing = value
        self.peer.broadcast(PaxosAccept(p.seq, p.n, value, self.peer.my_done))

    def choose_value(self, p: Proposal) -> Any:
        """Phase 2a's value: the highest-ballot value a promise reported, else our own."""
        best_n, best_v = max(p.promises.values(), key=lambda a: a[0])
        return best_v if best_n >= 0 else p.value

    def on_accept_reply(self, src: int, r: PaxosAcceptReply) -> None:
        p = self._current(r.seq, r.n, ACCEPT)
        if p is None:
            return
        if self._not_ok(p, src, r):
            return
        p.accepted.add(src)
        if len(p.accepted) >= self.peer.majority:
            self.peer.learner.learn(p.seq, p.proposing, announce=True)

    def _not_ok(self, p: Proposal, src: int, r: PaxosPrepareReply | PaxosAcceptReply) -> bool:
        """Handle a refusal (a higher promise) or a forgotten instance; False if ``ok``."""
        if r.status == OK:
            return False
        if r.status == FORGOTTEN:
            self.peer.heard_forgotten(r.floor)
            if self.peer.forget_own and r.seq >= self.peer.floor:
                p.refused.add(src)  # that peer forgot alone: others may still answer
                self._check_refused(p)
        else:
            p.highest = max(p.highest, r.promised)
            p.refused.add(src)
            self._check_refused(p)
        return True

    def on_send_failed(self, dst: int, msg: Any) -> None:
        """A request was not delivered: count it as a refusal of the round it belongs to."""
        phase = PREPARE if isinstance(msg, PaxosPrepare) else ACCEPT
        p = self._current(msg.seq, msg.n, phase)
        if p is not None:
            p.refused.add(dst)
            self._check_refused(p)

    def _check_refused(self, p: Proposal) -> None:
        if len(p.refused) > self.peer.npeers - self.peer.majority:
            self._back_off(p)

    def _back_off(self, p: Proposal) -> None:
        """Wait a random time, doubling with each failed round, before the next: dueling
        proposers then stop preempting each other, and a peer whose rounds time out because
        it or its peers are overloaded (slow disks, many proposals) sends fewer of them."""
        p.phase = WAIT
        limit = min(BACKOFF_MAX, BACKOFF_BASE * 2 ** p.attempt)
        self.peer.ctx.set_timer(timer_name(p.seq), self.peer.ctx.random.uniform(0, limit))

    def on_timer(self, seq: int) -> None:
        p = self.proposals.get(seq)
        if p is None:
            return
        if p.phase == WAIT:
            self._round(p)  # the back-off is over
        else:
            self._back_off(p)  # the round timed out: no majority answered in time

    def resume(self) -> None:
        """After a restart: run the persisted proposals again."""
        for seq in sorted(self.proposals):
            p = self.proposals.get(seq)
            if p is not None:
                self._round(p)

    def forget_below(self, floor: int) -> None:
        for seq in [s for s in self.proposals if s < floor]:
            self.stop(seq)

    def durable(self, seq: int) -> tuple[Any] | None:
        p = self.proposals.get(seq)
        return None if p is None else (p.value,)

    def restore(self, seq: int, saved: tuple[Any]) -> None:
        self.proposals[seq] = Proposal(seq, saved[0])
