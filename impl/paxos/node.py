"""A node hosting one Paxos peer, and an application clerk that drives it through messages.

:class:`PaxosNode` is what the lab tests talk to: the tester calls ``node.px.start(...)``
directly, as the Go tests call ``pxa[i].Start``. Under the Hypothesis machine every action
must be a World step (so that a run replays from its recorded steps), so an application
clerk (:class:`AppClerk`) asks a peer to ``start`` or ``done`` with a message; the peer
acts and acknowledges, and the clerk retries until it does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from faultlab.paxos.peer import Paxos
from faultlab.sim.messages import message
from faultlab.sim.node import ClientNode, Node

__all__ = ["PaxosNode", "AppClerk", "AppStart", "AppDone", "AppOk"]

CLERK_RETRY = 0.1


@message
class AppStart:
    """An application asks its peer to ``start(seq, value)``."""

    call: int
    seq: int
    value: Any


@message
class AppDone:
    """An application tells its peer ``done(seq)``."""

    call: int
    seq: int


@message(reply=True)
class AppOk:
    call: int


class PaxosNode(Node):
    """A server that is one Paxos peer (``self.px``), created afresh at every (re)start."""

    px: Paxos

    def __init__(self, peers: Sequence[str], me: int, paxos: type[Paxos] = Paxos) -> None:
        self.peers = list(peers)
        self.me = me
        self.paxos_class = paxos   # a seeded bug's subclass (faultlab.paxos.bugs) if wanted

    def on_start(self) -> None:
        self.px = self.paxos_class(self.ctx, self.peers, self.me)
        self.px.on_start()

    def on_message(self, src: str, msg: Any) -> None:
        if self.px.on_message(src, msg):
            return
        if isinstance(msg, AppStart):
            self.px.start(msg.seq, msg.value)
            self.ctx.send(src, AppOk(msg.call))
        elif isinstance(msg, AppDone):
            self.px.done(msg.seq)
            self.ctx.send(src, AppOk(msg.call))

    def on_timer(self, name: str) -> None:
        self.px.on_timer(name)

    def on_send_failed(self, dst: str, msg: Any) -> None:
        self.px.on_send_failed(dst, msg)

    def abstract_state(self) -> Any:
        return self.px.abstract_state()

    def fingerprint_state(self) -> Any:
        return self.px.fingerprint()


class AppClerk(ClientNode):
    """Calls: ``{"op": "start", "peer": name, "seq": s, "value": v}`` and
    ``{"op": "done", "peer": name, "seq": s}``; both return None once the peer acted."""

    def __init__(self) -> None:
        self.calls = 0
        self.request: tuple[str, AppStart | AppDone] | None = None

    def on_call(self, input: Any) -> None:
        self.calls += 1
        if input["op"] == "start":
            req: AppStart | AppDone = AppStart(self.calls, input["seq"], input["value"])
        else:
            req = AppDone(self.calls, input["seq"])
        self.request = (input["peer"], req)
        self._send()

    def _send(self) -> None:
        if self.request is not None:
            self.ctx.send(*self.request)
            self.ctx.set_timer("retry", CLERK_RETRY)

    def on_timer(self, name: str) -> None:
        self._send()

    def on_message(self, src: str, msg: Any) -> None:
        if isinstance(msg, AppOk) and self.request is not None and msg.call == self.calls:
            self.request = None
            self.ctx.cancel_timer("retry")
            self.ctx.complete(None)

    def fingerprint_state(self) -> Any:
        return (self.calls, self.request)
