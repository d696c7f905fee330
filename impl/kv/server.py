"""The key/value server: a :class:`~faultlab.kv.rsm.ReplicatedServer` whose state machine is
a :class:`~faultlab.kv.store.KVStore`.

Every request, Gets included, goes through the log (a Get answered from local state could
be stale: this server may no longer lead, or not know the latest writes). A request this
server cannot propose now goes, once, to the server it believes leads (:class:`KVForward`),
whose answer it passes on: a clerk that can reach only this server is still served, as
etcd's followers forward proposals. A request whose proposal was lost, or that cannot be
forwarded, is answered ``ErrWrongLeader`` with the leader hint, and the clerk tries again.
"""

from __future__ import annotations

from typing import Any

from faultlab.consensus import Outcome
from faultlab.kv.messages import (
    ERR_WRONG_LEADER,
    KVForward,
    KVForwardReply,
    KVReply,
    KVRequest,
    Op,
)
from faultlab.kv.rsm import ReplicatedServer
from faultlab.kv.store import KVStore, Result

__all__ = ["KVServer"]


class KVServer(ReplicatedServer):
    """One replica of the key/value service (engine and maxraftstate: see ReplicatedServer)."""

    def make_state_machine(self) -> KVStore:
        return KVStore()

    def on_request(self, src: str, msg: Any) -> None:
        if isinstance(msg, KVRequest):
            self.serve(src, msg.op, forwarded_for="")
        elif isinstance(msg, KVForward) and src in self.peers:
            self.serve(src, msg.op, forwarded_for=msg.client)
        elif isinstance(msg, KVForwardReply) and msg.client:
            self.ctx.send(msg.client, msg.reply)

    def serve(self, src: str, op: Op, forwarded_for: str) -> None:
        """Propose ``op`` for ``src`` (a clerk, or the peer that forwarded for one)."""
        if self.submit(op, (src, op.seq, forwarded_for)):
            return
        hint = self.log.leader_hint() or ""
        if not forwarded_for and hint and hint != self.ctx.name and hint in self.peers:
            self.ctx.send(hint, KVForward(src, op))
            return
        self.reply_to(src, forwarded_for, self.refusal(op.seq, hint))

    def answer(self, waiter: Any, outcome: Outcome, result: Any) -> None:
        src, seq, forwarded_for = waiter
        if outcome is Outcome.COMMITTED and result is not None:
            reply = self.reply_for(seq, result)
        else:
            reply = self.refusal(seq, self.log.leader_hint() or "")
        self.reply_to(src, forwarded_for, reply)

    # A service whose clerks speak other messages (the shard controller) overrides these two.

    def reply_for(self, seq: int, result: Result) -> Any:
        """The reply to request ``seq`` whose command gave ``result``."""
        err, value, version = result
        return KVReply(seq, err, value, version)

    def refusal(self, seq: int, hint: str) -> Any:
        """The reply that sends a clerk elsewhere: not taken here, or lost."""
        return KVReply(seq, ERR_WRONG_LEADER, leader=hint)

    def reply_to(self, src: str, forwarded_for: str, reply: Any) -> None:
        """Send ``reply`` to the clerk ``src``, or back through the peer that forwarded."""
        self.ctx.send(src, KVForwardReply(forwarded_for, reply) if forwarded_for else reply)
