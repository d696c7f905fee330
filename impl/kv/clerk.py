"""The key/value clerk: finds a server that takes proposals and retries until one answers.

Each call gets the next sequence number of this clerk (its name is its id), so servers can
apply a retried write once. The clerk remembers which server answered last and goes there
first. ``ErrWrongLeader`` sends it to the server the reply names, or to the next one; a
request that was not delivered, or no answer within ``retry`` seconds (a lost request or
reply, a server cut off or waiting for a log that cannot commit), sends it to the next
server. After trying every server without an answer it pauses ``PAUSE`` seconds, so a
cluster without a leader is not hammered (and virtual time moves on).

Outputs: a Get returns the value ("" for a missing key); Put and Append return None; a
versioned Put returns its error code. A retried request carries the same sequence number,
and the servers' duplicate table answers it with the first try's result, so unlike the
single server of :mod:`faultlab.kvsrv` this clerk never needs ``ErrMaybe``.
"""

from __future__ import annotations

from typing import Any

from faultlab.kv.messages import (
    ERR_WRONG_LEADER,
    GET,
    VPUT,
    KVReply,
    KVRequest,
    op_from_input,
)
from faultlab.sim.node import ClientNode

__all__ = ["Clerk", "CLERK_RETRY", "PAUSE"]

CLERK_RETRY = 0.25
PAUSE = 0.05
RETRY_TIMER = "retry"


class Clerk(ClientNode):
    """A clerk of the servers named ``servers``."""

    def __init__(self, servers: list[str], *, retry: float = CLERK_RETRY) -> None:
        self.servers = list(servers)
        self.retry = retry
        self.leader = 0               # position of the server to try first
        self.seq = 0
        self.request: KVRequest | None = None
        self.tried: set[int] = set()  # servers tried since the last pause
        self.paused = False           # waiting out PAUSE before the next round

    def on_call(self, input: Any) -> None:
        self.seq += 1
        self.request = self.request_for(input)
        self.tried = set()
        self.paused = False
        self._send()

    # ------------------------------------------------------------------ for subclasses
    # (a clerk of another replicated service changes what it sends and what it returns)

    def request_for(self, input: Any) -> Any:
        """The request message of a call's input (one carrying this clerk's ``seq``)."""
        return KVRequest(op_from_input(input, self.ctx.name, self.seq))

    def is_reply(self, msg: Any) -> bool:
        """Whether ``msg`` answers the request in flight (it has ``err`` and ``leader``)."""
        return isinstance(msg, KVReply) and msg.seq == self.seq

    def answered(self, reply: Any) -> None:
        """A reply other than ErrWrongLeader came: complete the call with its output."""
        op = self.request.op
        self.request = None
        if op.kind == GET:
            self.ctx.complete(reply.value)
        elif op.kind == VPUT:
            self.ctx.complete(reply.err)
        else:
            self.ctx.complete(None)

    def round_done(self) -> None:
        """Every server was tried without an answer: pause ``PAUSE`` before the next round."""
        self.tried = set()
        self.paused = True
        self.ctx.set_timer(RETRY_TIMER, PAUSE)

    # ------------------------------------------------------------------ the retry loop

    def _send(self) -> None:
        assert self.request is not None
        self.tried.add(self.leader)
        self.ctx.send(self.servers[self.leader], self.request)
        self.ctx.set_timer(RETRY_TIMER, self.retry)

    def _next(self, hint: str = "") -> None:
        """Try the hinted server, else the next one; pause after a full round."""
        if self.paused:
            return  # the pause's timer sends next
        if hint in self.servers and self.servers.index(hint) not in self.tried:
            self.leader = self.servers.index(hint)
        else:
            self.leader = (self.leader + 1) % len(self.servers)
        if len(self.tried) >= len(self.servers):
            self.round_done()
            return
        self._send()

    def on_timer(self, name: str) -> None:
        if name != RETRY_TIMER or self.request is None:
            return
        if self.paused:
            self.paused = False
            self._send()
        else:
            self._next()

    def on_send_failed(self, dst: str, msg: Any) -> None:
        if self.request is not None and msg == self.request:
            self._next()

    def on_message(self, src: str, msg: Any) -> None:
        if self.request is None or not self.is_reply(msg):
            return
        if msg.err == ERR_WRONG_LEADER:
            self._next(msg.leader)
            return
        self.ctx.cancel_timer(RETRY_TIMER)
        self.answered(msg)
