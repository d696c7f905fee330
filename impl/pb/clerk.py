"""Clerks: the pbservice client and the viewservice test's pinging clerk.

A pbservice clerk (2015 lab 2B) caches the primary's name and sends each request there. A
request carries the clerk's sequence number, which the primary uses for at-most-once
execution, so the clerk may resend it as often as it likes. Without an answer within
``CLERK_RETRY`` (a lost request or reply, a crashed or partitioned primary, or a server that
said ``ErrWrongServer``), the clerk asks the viewservice for the current view and sends the
same request to its primary (``retry`` may be longer for a test that, like the Go tests'
blocking RPCs, waits for a delayed answer; an error answer is retried after ``CLERK_RETRY``
anyway). In the normal case it never talks to the viewservice, which is
what the lab's "Count RPCs to viewserver" test checks.

Calls are the checker's kv inputs: ``{"op": "get", "key": k}`` returns the value ("" when
missing); ``{"op": "put" | "append", "key": k, "value": v}`` returns None.
"""

from __future__ import annotations

from typing import Any

from faultlab.pb.common import (
    CLERK_RETRY,
    OK,
    VIEWSERVICE,
    PBGet,
    PBPutAppend,
    PBReply,
    VSGetView,
    VSPing,
    VSPingReply,
    VSViewReply,
)
from faultlab.sim.node import ClientNode

__all__ = ["Clerk", "ViewClerk"]


class Clerk(ClientNode):
    """The pbservice clerk: Get/Put/Append, retried until the primary answers OK."""

    def __init__(self, *, viewservice: str = VIEWSERVICE, retry: float = CLERK_RETRY) -> None:
        self.vs = viewservice
        self.retry = retry  # how long to wait for an answer (a test may wait like a Go RPC)
        self.primary = ""
        self.seq = 0
        self.request: PBGet | PBPutAppend | None = None

    def on_call(self, input: Any) -> None:
        self.seq += 1
        op, key = input["op"], input["key"]
        if op == "get":
            self.request = PBGet(self.seq, key)
        else:
            self.request = PBPutAppend(self.seq, key, input["value"], op == "append")
        self._attempt()

    def _attempt(self) -> None:
        if self.primary:
            self.ctx.send(self.primary, self.request)
        else:
            self.ctx.send(self.vs, VSGetView())
        self.ctx.set_timer("retry", self.retry)

    def on_timer(self, name: str) -> None:
        if self.request is not None:
            self.primary = ""  # no answer: ask the viewservice who is primary now
            self._attempt()

    def on_message(self, src: str, msg: Any) -> None:
        if self.request is None:
            return
        if isinstance(msg, VSViewReply):
            self.primary = msg.view.primary
            if self.primary:
                self.ctx.send(self.primary, self.request)
        elif isinstance(msg, PBReply) and msg.seq == self.seq:
            if msg.err != OK:
                self.primary = ""  # ask the viewservice again, after a pause
                self.ctx.set_timer("retry", min(self.retry, CLERK_RETRY))
                return
            request, self.request = self.request, None
            self.ctx.cancel_timer("retry")
            self.ctx.complete(msg.value if isinstance(request, PBGet) else None)


class ViewClerk(ClientNode):
    """The viewservice test's clerk: it pings as if it were a server, or reads the view.

    Calls: ``{"op": "ping", "viewnum": n}`` and ``{"op": "get"}``; both return the view as
    ``(num, primary, backup)``.
    """

    def __init__(self, *, viewservice: str = VIEWSERVICE, boot: int = 1) -> None:
        self.vs = viewservice
        self.boot = boot
        self.message: VSPing | VSGetView | None = None

    def on_call(self, input: Any) -> None:
        if input["op"] == "ping":
            self.message = VSPing(input["viewnum"], self.boot)
        else:
            self.message = VSGetView()
        self._attempt()

    def _attempt(self) -> None:
        self.ctx.send(self.vs, self.message)
        self.ctx.set_timer("retry", CLERK_RETRY)

    def on_timer(self, name: str) -> None:
        if self.message is not None:
            self._attempt()

    def on_message(self, src: str, msg: Any) -> None:
        if self.message is not None and isinstance(msg, (VSPingReply, VSViewReply)):
            self.message = None
            self.ctx.cancel_timer("retry")
            v = msg.view
            self.ctx.complete((v.num, v.primary, v.backup))
