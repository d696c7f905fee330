"""Clerks of the sharded service: one for the controller, one for the key/value groups.

Both keep the key/value clerk's retry loop (:class:`faultlab.kv.clerk.Clerk`: the server that
answered last first, the leader hint, the next server on a timeout, a pause after a round).

:class:`CtrlerClerk` sends Join/Leave/Move/Query to the controller servers; a Query returns
the :class:`~faultlab.shard.config.Config`, the others None.

:class:`ShardClerk` sends Get/Put/Append to the group that serves the key's shard in the
latest configuration it knows. It asks the controller for the latest configuration (a Query
of -1, with the same retry loop over the controller servers) when it knows none, and, after
a pause of ``REQUERY_PAUSE`` as the labs' clerk sleeps, when a group answers
``ErrWrongGroup`` or a round of the group's servers brought no answer (the group may have
left, or be down); then it sends the same request, with the same
sequence number, to the group that configuration names. Each group's duplicate table, which
moves with its shards, applies a write retried across groups once.
"""

from __future__ import annotations

from typing import Any

from faultlab.kv.clerk import CLERK_RETRY, RETRY_TIMER, Clerk
from faultlab.kv.messages import KVReply, KVRequest
from faultlab.shard.config import Config, initial_config, key2shard
from faultlab.shard.ctrler import QUERY, CtrlOp, CtrlReply, CtrlRequest, ctrl_op_from_input
from faultlab.shard.messages import ERR_WRONG_GROUP

__all__ = ["CtrlerClerk", "ShardClerk", "REQUERY_PAUSE"]

REQUERY_PAUSE = 0.1   # the labs' clerk sleeps 100 ms before asking the controller again


class CtrlerClerk(Clerk):
    """A clerk of the controller servers ``servers``."""

    def request_for(self, input: Any) -> Any:
        return CtrlRequest(ctrl_op_from_input(input, self.ctx.name, self.seq))

    def is_reply(self, msg: Any) -> bool:
        return isinstance(msg, CtrlReply) and msg.seq == self.seq

    def answered(self, reply: Any) -> None:
        kind = self.request.op.kind
        self.request = None
        self.ctx.complete(reply.config if kind == QUERY else None)


class ShardClerk(Clerk):
    """A clerk of the sharded key/value service whose controller servers are ``ctrlers``."""

    def __init__(self, ctrlers: list[str], *, retry: float = CLERK_RETRY) -> None:
        super().__init__(list(ctrlers), retry=retry)
        self.ctrlers = list(ctrlers)
        self.config: Config = initial_config()
        self.op_request: KVRequest | None = None   # the call, while a query is in flight
        self.leaders: dict[int, int] = {}           # gid -> position of its last answerer

    def on_call(self, input: Any) -> None:
        self.seq += 1
        self.op_request = super().request_for(input)
        self._route()

    def _route(self, *, queried: bool = False) -> None:
        """Send the call to the group of its key's shard, or ask for a configuration (at
        once only the first time: a configuration without the shard's group waits a pause,
        so a clerk never spins on the controller)."""
        assert self.op_request is not None
        gid = self.config.shards[key2shard(self.op_request.op.key)]
        servers = self.config.servers(gid)
        if not servers:
            self._query(pause=queried or self.config.num > 0)
            return
        self.gid = gid
        self._aim(list(servers), self.op_request, self.leaders.get(gid, 0))

    def _query(self, *, pause: bool) -> None:
        query = CtrlRequest(CtrlOp(QUERY, num=-1, client=self.ctx.name, seq=self.seq))
        self.gid = 0
        self._aim(self.ctrlers, query, self.leaders.get(0, 0), pause=pause)

    def _aim(self, servers: list[str], request: Any, first: int, *, pause: bool = False
             ) -> None:
        self.servers = servers
        self.request = request
        self.leader = first % len(servers)
        self.tried = set()
        self.paused = pause
        if pause:
            self.ctx.set_timer(RETRY_TIMER, REQUERY_PAUSE)
        else:
            self._send()

    def querying(self) -> bool:
        return isinstance(self.request, CtrlRequest)

    def is_reply(self, msg: Any) -> bool:
        kind = CtrlReply if self.querying() else KVReply
        return isinstance(msg, kind) and msg.seq == self.seq

    def answered(self, reply: Any) -> None:
        self.leaders[self.gid] = self.leader
        if self.querying():
            if reply.config is not None:
                self.config = reply.config
            self._route(queried=True)
        elif reply.err == ERR_WRONG_GROUP:
            self._query(pause=True)
        else:
            self.op_request = None
            super().answered(reply)

    def round_done(self) -> None:
        if self.querying():
            super().round_done()
        else:
            self._query(pause=True)
