"""The kvsrv clerk: sends a call's request, and sends it again until a reply comes.

A Go clerk's ``Call`` returns false when the request or the reply was lost; this clerk learns
it from its retry timer, set longer than any round trip the network allows (the unreliable
profile delays a message by up to 27 ms each way), so when it resends, the earlier try has
been executed or lost for good, as with labrpc, and is not still on its way.

A Get is answered ``(value, version, err)``. A Put is answered with the server's error code,
except that ErrVersion in answer to a Put the clerk has *resent* becomes ErrMaybe: the first
try may have applied with its reply lost (and the resend then met the version it bumped), or
another clerk's write may have come first; the clerk cannot tell which.
"""

from __future__ import annotations

from typing import Any

from faultlab.kv.messages import ERR_MAYBE, ERR_VERSION
from faultlab.kvsrv.messages import GetArgs, GetReply, PutArgs, PutReply, request_from_input
from faultlab.sim.node import ClientNode

__all__ = ["Clerk", "RETRY"]

RETRY = 0.06
RETRY_TIMER = "retry"


class Clerk(ClientNode):
    """A clerk of the server named ``server``."""

    def __init__(self, server: str, *, retry: float = RETRY) -> None:
        self.server = server
        self.retry = retry
        self.rid = 0
        self.request: GetArgs | PutArgs | None = None
        self.resent = False
        self.resends = 0  # over this clerk's life, for the tests

    def on_call(self, input: Any) -> None:
        self.rid += 1
        self.request = request_from_input(input, self.rid)
        self.resent = False
        self._send()

    def _send(self) -> None:
        assert self.request is not None
        self.ctx.send(self.server, self.request)
        self.ctx.set_timer(RETRY_TIMER, self.retry)

    def on_timer(self, name: str) -> None:
        if name == RETRY_TIMER and self.request is not None:
            self.resent = True
            self.resends += 1
            self._send()

    def on_message(self, src: str, msg: Any) -> None:
        request = self.request
        if request is None or getattr(msg, "rid", None) != self.rid:
            return
        if isinstance(msg, GetReply) and isinstance(request, GetArgs):
            self._finish((msg.value, msg.version, msg.err))
        elif isinstance(msg, PutReply) and isinstance(request, PutArgs):
            self._finish(self.put_outcome(msg.err))

    def put_outcome(self, err: str) -> str:
        """What the Put call returns when the server answered ``err``."""
        return ERR_MAYBE if err == ERR_VERSION and self.resent else err

    def _finish(self, output: Any) -> None:
        self.request = None
        self.ctx.cancel_timer(RETRY_TIMER)
        self.ctx.complete(output)
