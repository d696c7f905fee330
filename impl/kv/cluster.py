"""Worlds of key/value servers and clerks, on either consensus engine.

:func:`build` makes a started World with servers ``s0..s{n-1}`` (each a
:class:`~faultlab.kv.server.KVServer` on ``engine``) and clerks ``c0..``; more clerks can be
added later with :func:`add_clerk`. ``KV_RELIABLE`` and ``KV_UNRELIABLE`` are the kvraft
tester's networks (labrpc without long delays: an unreachable server is reported within
100 ms) with a fixed 1 ms per message, so that a clerk looping on calls lets virtual time
pass as on a real network. ``KV_RELIABLE_2015`` and ``KV_UNRELIABLE_2015`` are the 2015
kvpaxos harness's (:mod:`faultlab.sim.network`), with the same fixed latency.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from faultlab.kv.clerk import Clerk
from faultlab.kv.server import KVServer
from faultlab.sim.network import (
    RELIABLE,
    RELIABLE_2015,
    UNRELIABLE,
    UNRELIABLE_2015,
    NetworkProfile,
    with_latency,
)
from faultlab.sim.world import World

__all__ = ["KV_RELIABLE", "KV_UNRELIABLE", "KV_RELIABLE_2015", "KV_UNRELIABLE_2015",
           "LATENCY_US", "build", "add_clerk", "server_names"]

LATENCY_US = 1000
KV_RELIABLE = with_latency(RELIABLE, LATENCY_US)
KV_UNRELIABLE = with_latency(UNRELIABLE, LATENCY_US)
KV_RELIABLE_2015 = with_latency(RELIABLE_2015, LATENCY_US)
KV_UNRELIABLE_2015 = with_latency(UNRELIABLE_2015, LATENCY_US)


def server_names(n: int) -> list[str]:
    return [f"s{i}" for i in range(n)]


def build(seed: int, n: int = 3, *, engine: str | type = "raft",
          profile: NetworkProfile = KV_RELIABLE, maxraftstate: int = -1, clerks: int = 0,
          server: Callable[..., KVServer] = KVServer, **world_options: Any) -> World:
    """A started World of ``n`` servers on ``engine`` and ``clerks`` clerks. ``server`` is the
    server class (a seeded-bug variant, say)."""
    world = World(seed, profile, **world_options)
    names = server_names(n)
    for name in names:
        world.add_node(name, lambda: server(names, engine=engine, maxraftstate=maxraftstate))
    for i in range(clerks):
        add_clerk(world, f"c{i}", names)
    return world.start()


def add_clerk(world: World, name: str, servers: list[str] | None = None,
              clerk: Callable[..., Clerk] = Clerk) -> str:
    servers = servers if servers is not None else world.servers
    world.add_client(name, lambda: clerk(list(servers)))
    return name
