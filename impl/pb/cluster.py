"""Assembling a primary/backup system in a World (on the 2015 network profiles).

Node names: the viewservice is ``vs``; servers are ``s1``, ``s2``, ...; pbservice clerks are
``c1``, ``c2``, ...; a viewservice clerk (a test's ``vck``) may be added with
:func:`add_view_clerk`. Servers have no persistent state (as in the 2015 lab): a crash loses
everything and a restart is a fresh, uninitialised server.
"""

from __future__ import annotations

from typing import Any

from faultlab.pb.clerk import Clerk, ViewClerk
from faultlab.pb.common import CLERK_RETRY, VIEWSERVICE, View
from faultlab.pb.server import PBServer
from faultlab.pb.viewservice import ViewServer
from faultlab.sim.network import RELIABLE, RELIABLE_2015, UNRELIABLE_2015, NetworkProfile
from faultlab.sim.world import World

__all__ = ["RELIABLE_2015", "UNRELIABLE_2015", "build", "add_server", "add_clerk",
           "add_view_clerk", "vs_view", "server"]

# The 2015 harness's networks (one definition for every lab: faultlab.sim.network); pings
# are lossy too under UNRELIABLE_2015 (the lab made only the pbservice servers unreliable:
# this is stricter).


def add_server(world: World, name: str, server: type[PBServer] = PBServer) -> None:
    """A pbservice server; ``server`` a seeded bug's subclass (faultlab.pb.bugs) if wanted."""
    world.add_node(name, server)


def add_clerk(world: World, name: str, retry: float = CLERK_RETRY) -> None:
    world.add_client(name, lambda: Clerk(retry=retry))


def add_view_clerk(world: World, name: str, boot: int = 1) -> None:
    world.add_client(name, lambda: ViewClerk(boot=boot))


def build(seed: int = 0, *, servers: int = 3, clerks: int = 2,
          profile: NetworkProfile = RELIABLE, server: type[PBServer] = PBServer,
          viewservice: type[ViewServer] = ViewServer, **world_options: Any) -> World:
    """A started World with the viewservice, ``servers`` servers and ``clerks`` clerks
    (``server`` and ``viewservice``: the classes to run, e.g. a seeded bug's)."""
    world = World(seed, profile, **world_options)
    world.add_node(VIEWSERVICE, viewservice)
    for i in range(1, servers + 1):
        add_server(world, f"s{i}", server)
    for i in range(1, clerks + 1):
        add_clerk(world, f"c{i}")
    return world.start()


def vs_view(world: World) -> View:
    """The viewservice's current view, read from its node (no RPC)."""
    return world.node(VIEWSERVICE).view  # type: ignore[attr-defined]


def server(world: World, name: str) -> PBServer:
    node = world.node(name)
    assert isinstance(node, PBServer)
    return node
