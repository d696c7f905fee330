"""The host node that embeds Raft, a proposing clerk, and a cluster builder.

:class:`RaftServer` is the smallest service around the :class:`faultlab.raft.raft.Raft`
component: it forwards Raft's messages and timers, and hands every :class:`ApplyMsg` to an
``on_apply`` hook given by whoever built the cluster (the lab tester's applier, the
Hypothesis machine's checks). It also accepts :class:`Submit` from a clerk and passes the
command to ``start``, so client proposals are ordinary, recorded World steps (they show up in
traces and replay files like every other step).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from faultlab.consensus import ApplyMsg
from faultlab.raft.raft import Raft
from faultlab.sim.messages import message
from faultlab.sim.network import RELIABLE, NetworkProfile
from faultlab.sim.node import ClientNode, Node
from faultlab.sim.world import World

__all__ = ["Submit", "RaftServer", "Proposer", "build_cluster", "server_names"]


@message
class Submit:
    """A clerk asks a server to propose ``command`` (ignored unless the server leads)."""

    command: Any


class RaftServer(Node):
    """A node whose only service is its Raft peer.

    ``on_boot(server)`` runs at every (re)start before Raft reads its persisted state (the
    tester resets its record of the server there); ``on_apply(server, msg)`` receives every
    ApplyMsg, the persisted snapshot first after a restart, and may call
    ``server.raft.snapshot``.
    """

    def __init__(
        self,
        peers: Sequence[str],
        *,
        on_apply: Callable[[RaftServer, ApplyMsg], None] | None = None,
        on_boot: Callable[[RaftServer], None] | None = None,
        raft: type[Raft] = Raft,
    ) -> None:
        self.peers = tuple(peers)
        self.on_apply = on_apply
        self.on_boot = on_boot
        self.raft_class = raft   # a seeded bug's subclass (faultlab.raft.bugs) if wanted
        self.raft: Raft

    def on_start(self) -> None:
        if self.on_boot is not None:
            self.on_boot(self)
        self.raft = self.raft_class(self.ctx, self.peers, self.ctx.name, self._apply)
        self.raft.on_start()

    def _apply(self, msg: ApplyMsg) -> None:
        if self.on_apply is not None:
            self.on_apply(self, msg)

    def on_message(self, src: str, msg: Any) -> None:
        if not self.raft.on_message(src, msg) and isinstance(msg, Submit):
            self.raft.start(msg.command)

    def on_timer(self, name: str) -> None:
        self.raft.on_timer(name)

    def abstract_state(self) -> Any:
        return self.raft.abstract_state()

    def fingerprint_state(self) -> Any:
        return self.raft.fingerprint_state()


class Proposer(ClientNode):
    """A clerk whose call ``{"to": server, "command": c}`` sends one Submit and returns at
    once (the outcome is observed in the servers' applied logs, not by the clerk)."""

    def on_call(self, input: Any) -> None:
        self.ctx.send(input["to"], Submit(input["command"]))
        self.ctx.complete(None)

    def fingerprint_state(self) -> Any:
        return None


def server_names(n: int) -> list[str]:
    return [f"s{i}" for i in range(n)]


def build_cluster(
    seed: int,
    n: int,
    profile: NetworkProfile = RELIABLE,
    *,
    on_apply: Callable[[RaftServer, ApplyMsg], None] | None = None,
    on_boot: Callable[[RaftServer], None] | None = None,
    raft: type[Raft] = Raft,
    clerks: int = 0,
    **world_options: Any,
) -> World:
    """A started World with servers s0..s{n-1} running Raft and ``clerks`` proposers."""
    world = World(seed, profile, **world_options)
    peers = server_names(n)
    for name in peers:
        world.add_node(name, lambda: RaftServer(peers, on_apply=on_apply, on_boot=on_boot,
                                                raft=raft))
    for i in range(clerks):
        world.add_client(f"c{i}", Proposer)
    return world.start()
