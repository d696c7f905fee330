"""A server of a sharded key/value group: the key/value server on a :class:`ShardStore`,
plus the work that moves shards between groups.

Clerks' requests are served as by :class:`faultlab.kv.server.KVServer` (through the log,
forwarded to the leader); the state machine answers ``ErrWrongGroup`` for a shard the group
does not serve now. Every ``POLL_INTERVAL`` seconds a server that takes proposals:

* once its group is stable, asks a controller server for the configuration after its
  current one, and proposes it (:class:`Reconfigure`) when it comes;
* for each PULLING shard, asks a server of the previous owner for it (:class:`ShardPull`),
  and proposes the data it gets (:class:`InstallShard`);
* for each shard received but not yet confirmed dropped, tells the previous owner
  (:class:`ShardDelete`), and proposes :class:`ShardReceived` once it has.

Any server of a group answers a ShardPull from its own state: an OFFERING shard's data is
frozen, so every replica that reached that configuration holds the same. A ShardDelete goes
through the log (:class:`DeleteShard`) and is answered once committed. Each request goes to
the next server of the other group on each poll, so a dead minority there does not stall
the move.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from faultlab.consensus import Outcome
from faultlab.kv.messages import OK
from faultlab.kv.server import KVServer
from faultlab.shard.ctrler import QUERY, CtrlOp, CtrlReply, CtrlRequest
from faultlab.shard.messages import (
    ERR_NOT_READY,
    DeleteShard,
    InstallShard,
    LeaderNoOp,
    Reconfigure,
    ShardDelete,
    ShardDeleteReply,
    ShardPull,
    ShardPullReply,
    ShardReceived,
)
from faultlab.shard.store import PULLING, ShardStore

__all__ = ["ShardKVServer", "POLL_INTERVAL", "POLL_TIMER"]

POLL_INTERVAL = 0.1
POLL_TIMER = "shard:poll"


class ShardKVServer(KVServer):
    """One replica of group ``gid``, whose controller servers are ``ctrlers``."""

    sm: ShardStore

    def __init__(self, peers: Sequence[str], gid: int, ctrlers: Sequence[str], *,
                 engine: str | type = "raft", maxraftstate: int = -1) -> None:
        super().__init__(peers, engine=engine, maxraftstate=maxraftstate)
        self.gid = gid
        self.ctrlers = tuple(ctrlers)

    def make_state_machine(self) -> ShardStore:
        return ShardStore(self.gid)

    def on_start(self) -> None:
        super().on_start()
        self.round = 0
        self.noop_term = -1    # the last term this server proposed its LeaderNoOp in
        self.ctx.set_timer(POLL_TIMER, POLL_INTERVAL)

    # ------------------------------------------------------------------ the poll

    def on_own_timer(self, name: str) -> None:
        if name != POLL_TIMER:
            return
        self.ctx.set_timer(POLL_TIMER, POLL_INTERVAL)
        self.round += 1
        if self.log.get_state()[1]:
            self.poll()

    def poll(self) -> None:
        sm = self.sm
        term = self.log.get_state()[0]
        if term != self.noop_term and self.submit(LeaderNoOp(term), None):
            self.noop_term = term
        if sm.stable():
            query = CtrlOp(QUERY, num=sm.config.num + 1, client=self.ctx.name)
            self.ctx.send(self.pick(self.ctrlers), CtrlRequest(query))
        for shard in sm.shards_in(PULLING):
            self.send_to_group(sm.previous_owner(shard), ShardPull(sm.config.num, shard))
        for shard, (num, owner) in sorted(sm.received.items()):
            self.send_to_group(owner, ShardDelete(num, shard))

    def pick(self, servers: Sequence[str]) -> str:
        return servers[self.round % len(servers)]

    def send_to_group(self, servers: Sequence[str], msg: Any) -> None:
        if servers:
            self.ctx.send(self.pick(servers), msg)

    # ------------------------------------------------------------------ messages

    def on_request(self, src: str, msg: Any) -> None:
        if isinstance(msg, CtrlReply):
            config = msg.config
            if config is not None and config.num == self.sm.config.num + 1:
                self.submit(Reconfigure(config), None)
        elif isinstance(msg, ShardPull):
            data = self.sm.offered(msg.num, msg.shard)
            err = ERR_NOT_READY if data is None else OK
            self.ctx.send(src, ShardPullReply(msg.num, msg.shard, err, data or b""))
        elif isinstance(msg, ShardPullReply):
            if (msg.err == OK and msg.num == self.sm.config.num
                    and self.sm.state.get(msg.shard) == PULLING):
                self.submit(InstallShard(msg.num, msg.shard, msg.data), None)
        elif isinstance(msg, ShardDelete):
            self.on_delete(src, msg)
        elif isinstance(msg, ShardDeleteReply):
            if msg.err == OK and self.sm.received.get(msg.shard, (None,))[0] == msg.num:
                self.submit(ShardReceived(msg.num, msg.shard), None)
        else:
            super().on_request(src, msg)

    def on_delete(self, src: str, msg: ShardDelete) -> None:
        dropped = self.sm.dropped(msg.num, msg.shard)
        if dropped:
            self.ctx.send(src, ShardDeleteReply(msg.num, msg.shard, OK))
        elif dropped is False:
            self.submit(DeleteShard(msg.num, msg.shard), ("delete", src, msg.num, msg.shard))

    def fingerprint_state(self) -> Any:
        return (super().fingerprint_state(), self.noop_term)

    def answer(self, waiter: Any, outcome: Outcome, result: Any) -> None:
        if waiter is None:
            return
        if waiter[0] == "delete":
            _, src, num, shard = waiter
            if outcome is Outcome.COMMITTED:
                self.ctx.send(src, ShardDeleteReply(num, shard, OK))
            return
        super().answer(waiter, outcome, result)
