"""Worlds of one kvsrv server and its clerks.

:func:`build` makes a started World with the server :data:`SERVER` and clerks ``c0..``;
:func:`add_clerk` adds more. The networks are the replicated service's
(:data:`~faultlab.kv.cluster.KV_RELIABLE`, :data:`~faultlab.kv.cluster.KV_UNRELIABLE`):
labrpc's, with 1 ms per message so that clerks looping on calls let virtual time pass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from faultlab.kv.cluster import KV_RELIABLE, KV_UNRELIABLE
from faultlab.kvsrv.clerk import Clerk
from faultlab.kvsrv.server import KVServer
from faultlab.sim.network import NetworkProfile
from faultlab.sim.world import World

__all__ = ["SERVER", "RELIABLE", "UNRELIABLE", "build", "add_clerk"]

SERVER = "kvsrv"
RELIABLE = KV_RELIABLE
UNRELIABLE = KV_UNRELIABLE


def build(seed: int, *, profile: NetworkProfile = RELIABLE, clerks: int = 0,
          server: Callable[[], KVServer] = KVServer, clerk: Callable[..., Clerk] = Clerk,
          **world_options: Any) -> World:
    """A started World of the server and ``clerks`` clerks. ``server`` and ``clerk`` are the
    classes (a seeded-bug variant, say)."""
    world = World(seed, profile, **world_options)
    world.add_node(SERVER, server)
    for i in range(clerks):
        add_clerk(world, f"c{i}", clerk)
    return world.start()


def add_clerk(world: World, name: str, clerk: Callable[..., Clerk] = Clerk) -> str:
    world.add_client(name, lambda: clerk(SERVER))
    return name
