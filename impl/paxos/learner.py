"""The learner: which values were chosen, and spreading that news to every peer.

A value is chosen once a majority of acceptors accepted it in one ballot; the proposer that
counted that majority tells its learner (``learn(..., announce=True)``), which records the
decision durably and sends :class:`PaxosDecided` to every other peer, again and again (with
back-off) until each one acknowledged it, so a lost message or a partition only delays the
news. A peer that learns a decision from a Decided message acknowledges it; one that learns it
from a prepare reply (another peer already knew it) announces it too, because the original
announcer may be cut off from some peers. After a restart, decisions whose announcement was
not yet acknowledged by everyone are announced again.

A learner keeps the first value it learns for an instance; with a correct proposer and
acceptors every later one is equal (Agreement), and the tests check exactly that.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from faultlab.paxos.messages import PaxosDecided, PaxosDecidedAck

if TYPE_CHECKING:
    from faultlab.paxos.peer import Paxos

__all__ = ["Learner", "ANNOUNCE_TIMER"]

ANNOUNCE_TIMER = "paxos:announce"
ANNOUNCE_FIRST = 0.05
ANNOUNCE_MAX = 1.0


class Learner:
    def __init__(self, peer: Paxos) -> None:
        self.peer = peer
        self.decided: dict[int, Any] = {}
        self.unacked: dict[int, set[int]] = {}  # seq -> peers that have not acknowledged
        self._interval = ANNOUNCE_FIRST

    def knows(self, seq: int) -> bool:
        return seq in self.decided

    def learn(self, seq: int, value: Any, *, announce: bool) -> None:
        peer = self.peer
        if seq < peer.floor or seq in self.decided:
            return
        self.decided[seq] = value
        others = {i for i in range(peer.npeers) if i != peer.me}
        if announce and others:
            self.unacked[seq] = others
        peer.proposer.stop(seq)
        peer.save(seq)
        if announce and others:
            for i in sorted(others):
                peer.send(i, PaxosDecided(seq, value, peer.my_done))
            self._arm(reset=True)
        peer.decided_hook(seq)

    def on_decided(self, src: int, msg: PaxosDecided) -> PaxosDecidedAck:
        self.learn(msg.seq, msg.value, announce=False)
        return PaxosDecidedAck(msg.seq, self.peer.my_done)

    def on_ack(self, src: int, msg: PaxosDecidedAck) -> None:
        waiting = self.unacked.get(msg.seq)
        if waiting is None or src not in waiting:
            return
        waiting.discard(src)
        if not waiting:
            del self.unacked[msg.seq]
            self.peer.save(msg.seq)
            if not self.unacked:
                self.peer.ctx.cancel_timer(ANNOUNCE_TIMER)

    def on_timer(self) -> None:
        """Resend every unacknowledged announcement, then wait twice as long (up to 1 s)."""
        peer = self.peer
        for seq, waiting in sorted(self.unacked.items()):
            for i in sorted(waiting):
                peer.send(i, PaxosDecided(seq, self.decided[seq], peer.my_done))
        self._arm(reset=False)

    def _arm(self, *, reset: bool) -> None:
        if not self.unacked:
            return
        if reset:
            self._interval = ANNOUNCE_FIRST
        else:
            self._interval = min(ANNOUNCE_MAX, self._interval * 2)
        self.peer.ctx.set_timer(ANNOUNCE_TIMER, self._interval)

    def resume(self) -> None:
        """After a restart: announce again what was not acknowledged by everyone."""
        if self.unacked:
            for seq, waiting in sorted(self.unacked.items()):
                for i in sorted(waiting):
                    self.peer.send(i, PaxosDecided(seq, self.decided[seq], self.peer.my_done))
            self._arm(reset=True)

    def forget_below(self, floor: int) -> None:
        for seq in [s for s in self.decided if s < floor]:
            del self.decided[seq]
        for seq in [s for s in self.unacked if s < floor]:
            del self.unacked[seq]
        if not self.unacked:
            self.peer.ctx.cancel_timer(ANNOUNCE_TIMER)

    def durable(self, seq: int) -> tuple[Any, bool] | None:
        if seq not in self.decided:
            return None
        return (self.decided[seq], seq in self.unacked)

    def restore(self, seq: int, saved: tuple[Any, bool]) -> None:
        value, announcing = saved
        self.decided[seq] = value
        if announcing:
            self.unacked[seq] = {i for i in range(self.peer.npeers) if i != self.peer.me}
