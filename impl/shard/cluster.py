"""Worlds of a sharded key/value service: controller servers, replica groups and clerks.

:func:`build` makes a started World with controller servers ``ctrler0..`` and, for each gid,
servers ``s<gid>-0..`` (the 6.824 shardkv tester's layout: gids 100, 101, 102 of 3 servers
each by default). Groups are only started here; they serve once a Join through a controller
clerk (:func:`add_ctrler_clerk`) names them. Networks are the key/value service's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from faultlab.kv.cluster import KV_RELIABLE
from faultlab.shard.clerk import CtrlerClerk, ShardClerk
from faultlab.shard.ctrler import CtrlerServer
from faultlab.shard.server import ShardKVServer
from faultlab.sim.network import NetworkProfile
from faultlab.sim.world import World

__all__ = ["GIDS", "build", "ctrler_names", "group_names", "add_ctrler_clerk",
           "add_shard_clerk"]

GIDS = (100, 101, 102)


def ctrler_names(n: int) -> list[str]:
    return [f"ctrler{i}" for i in range(n)]


def group_names(gid: int, n: int) -> list[str]:
    return [f"s{gid}-{i}" for i in range(n)]


def build(seed: int, *, gids: Sequence[int] = GIDS, n: int = 3, nctrlers: int = 3,
          engine: str | type = "raft", profile: NetworkProfile = KV_RELIABLE,
          maxraftstate: int = -1, ctrler_maxraftstate: int = -1,
          server: Callable[..., ShardKVServer] = ShardKVServer,
          ctrler: Callable[..., CtrlerServer] = CtrlerServer,
          **world_options: Any) -> World:
    """A started World of ``nctrlers`` controller servers and the groups ``gids`` of ``n``
    servers each, all on ``engine``. ``server`` and ``ctrler`` are the server classes (a
    seeded-bug variant, say)."""
    world = World(seed, profile, **world_options)
    ctrlers = ctrler_names(nctrlers)
    for name in ctrlers:
        world.add_node(name, lambda: ctrler(ctrlers, engine=engine,
                                            maxraftstate=ctrler_maxraftstate))
    for gid in gids:
        names = group_names(gid, n)
        for name in names:
            world.add_node(name, lambda names=names, gid=gid: server(
                names, gid, ctrlers, engine=engine, maxraftstate=maxraftstate))
    return world.start()


def add_ctrler_clerk(world: World, name: str, ctrlers: Sequence[str]) -> str:
    world.add_client(name, lambda: CtrlerClerk(list(ctrlers)))
    return name


def add_shard_clerk(world: World, name: str, ctrlers: Sequence[str]) -> str:
    world.add_client(name, lambda: ShardClerk(list(ctrlers)))
    return name
