"""The sharded key/value tester (6.824 2022 ``src/shardkv/config.go``, and the 2015
shardkv test's setup) on the World, in virtual time, for either consensus engine.

``ShardTester(name, engine, unreliable, maxraftstate)`` builds 3 controller servers
(``ctrler0..2``, never crashed) and 3 groups of 3 servers, gids 100, 101, 102. Groups are
named by their index here (0, 1, 2), as config.go's ``join(gi)`` does. A controller clerk
(``admin``, config.go's ``mck``) makes the joins and leaves; shard clerks come from
:meth:`make_client`. Every call is in the World's history; :meth:`audit` checks the shard
clerks' calls against the kv model.

:class:`CtrlTester` is the shard controller's tester (``src/shardctrler/config.go``): just
the controller servers and their clerks.
"""

from __future__ import annotations

from collections.abc import Iterable

from faultlab.kv.checks import require_linearizable
from faultlab.kv.cluster import KV_RELIABLE, KV_UNRELIABLE
from faultlab.shard.cluster import (
    GIDS,
    add_ctrler_clerk,
    add_shard_clerk,
    build,
    ctrler_names,
    group_names,
)
from faultlab.shard.config import Config
from faultlab.shard.ctrler import CtrlerServer
from faultlab.shard.server import ShardKVServer
from faultlab.sim.network import NetworkProfile
from faultlab.sim.world import World
from faultlab.tools.tester import ServiceTester

NCTRLERS = 3


class ControllerCalls:
    """The controller clerk calls both testers make."""

    def query(self, clerk: str, num: int = -1) -> Config:
        return self.call(clerk, {"op": "query", "num": num})

    def join_groups(self, clerk: str, groups: dict[int, list[str]]) -> None:
        self.call(clerk, {"op": "join", "groups": groups})

    def leave_gids(self, clerk: str, gids: Iterable[int]) -> None:
        self.call(clerk, {"op": "leave", "gids": list(gids)})

    def move(self, clerk: str, shard: int, gid: int) -> None:
        self.call(clerk, {"op": "move", "shard": shard, "gid": gid})


class ShardTester(ControllerCalls, ServiceTester):
    """One test's controller, groups and clerks (see the module docstring)."""

    rng_name = "shard-tester"
    server_class: type[ShardKVServer] = ShardKVServer   # a seeded bug's test swaps it

    def __init__(self, name: str, *, engine: str | type = "raft", unreliable: bool = False,
                 maxraftstate: int = -1, n: int = 3, profile: NetworkProfile | None = None,
                 seed: int | None = None, server: type[ShardKVServer] | None = None
                 ) -> None:
        super().__init__(name, str(engine), seed)
        server = server or self.server_class
        self.engine = engine
        self.n = n
        self.maxraftstate = maxraftstate
        if profile is None:
            profile = KV_UNRELIABLE if unreliable else KV_RELIABLE
        self.profile = profile
        self.gids = list(GIDS)
        self.ctrlers = ctrler_names(NCTRLERS)
        self.world: World = build(self.seed, gids=self.gids, n=n, engine=engine,
                                  profile=profile, maxraftstate=maxraftstate, server=server,
                                  record_steps=False)
        self.mck = add_ctrler_clerk(self.world, "admin", self.ctrlers)
        self.shard_clerks: list[str] = []
        self._ctrl_clerks = 0

    def reliable_profile(self) -> NetworkProfile:
        """config.go's ``net.Reliable(true)``: the same latency, nothing lost."""
        return KV_RELIABLE

    # ------------------------------------------------------------------ clerks

    def make_client(self) -> str:
        name = f"c{len(self.shard_clerks) + 1}"
        self.shard_clerks.append(add_shard_clerk(self.world, name, self.ctrlers))
        return name

    def make_ctrler_client(self) -> str:
        self._ctrl_clerks += 1
        return add_ctrler_clerk(self.world, f"m{self._ctrl_clerks}", self.ctrlers)

    # ------------------------------------------------------------------ groups

    def servers_of(self, gi: int) -> list[str]:
        return group_names(self.gids[gi], self.n)

    def join(self, gi: int) -> None:
        self.joinm([gi])

    def joinm(self, gis: Iterable[int]) -> None:
        self.join_groups(self.mck, {self.gids[g]: self.servers_of(g) for g in gis})

    def leave(self, gi: int) -> None:
        self.leavem([gi])

    def leavem(self, gis: Iterable[int]) -> None:
        self.leave_gids(self.mck, [self.gids[g] for g in gis])

    def shutdown_server(self, gi: int, i: int) -> None:
        name = self.servers_of(gi)[i]
        if name not in self.world.crashed:
            self.world.crash(name)

    def start_server(self, gi: int, i: int) -> None:
        name = self.servers_of(gi)[i]
        if name in self.world.crashed:
            self.world.restart(name)

    def shutdown_group(self, gi: int) -> None:
        for i in range(self.n):
            self.shutdown_server(gi, i)

    def start_group(self, gi: int) -> None:
        for i in range(self.n):
            self.start_server(gi, i)

    def deafen_group(self, gi: int) -> None:
        """The 2015 tests' ``os.Remove`` of a group's sockets: no request reaches them."""
        for name in self.servers_of(gi):
            self.world.deafen(name)

    # ------------------------------------------------------------------ what is checked

    def all_servers(self) -> list[str]:
        return [s for gi in range(len(self.gids)) for s in self.servers_of(gi)]

    def checklogs(self) -> None:
        """config.go's checklogs: Raft state within 8 x maxraftstate, and no snapshot at all
        when maxraftstate is -1."""
        for name in self.all_servers():
            p = self.world.persisters[name]
            if self.maxraftstate >= 0:
                self.expect(p.state_size() <= 8 * self.maxraftstate,
                            f"{name}: persisted state {p.state_size()} > 8 x maxraftstate "
                            f"{self.maxraftstate}")
            else:
                self.expect(p.snapshot_size() == 0,
                            f"{name}: snapshot of {p.snapshot_size()} bytes with "
                            f"maxraftstate -1")

    def total_persisted(self) -> int:
        """TestChallenge1Delete's measure: Raft state plus snapshot, summed over servers."""
        return sum(self.world.persisters[s].state_size()
                   + self.world.persisters[s].snapshot_size() for s in self.all_servers())

    def audit(self) -> None:
        result = require_linearizable(self.world, self.where(), self.shard_clerks)
        print(f"  linearizable: {result.n_ops} calls checked in {result.elapsed:.2f}s")


class CtrlTester(ControllerCalls, ServiceTester):
    """The shard controller's tester: ``n`` controller servers and clerks."""

    rng_name = "ctrl-tester"
    server_class: type[CtrlerServer] = CtrlerServer   # a seeded bug's test swaps it

    def __init__(self, name: str, *, engine: str | type = "raft", n: int = NCTRLERS,
                 profile: NetworkProfile = KV_RELIABLE, maxraftstate: int = -1,
                 seed: int | None = None, server: type[CtrlerServer] | None = None) -> None:
        super().__init__(name, str(engine), seed)
        server = server or self.server_class
        self.engine = engine
        self.n = n
        self.servers = ctrler_names(n)
        self.world = build(self.seed, gids=(), nctrlers=n, engine=engine, profile=profile,
                           ctrler_maxraftstate=maxraftstate, ctrler=server,
                           record_steps=False)
        self._clerks = 0

    def make_client(self, to: Iterable[int] | None = None) -> str:
        """A clerk that knows the servers of ``to`` (default all)."""
        self._clerks += 1
        names = [self.servers[i] for i in (range(self.n) if to is None else to)]
        return add_ctrler_clerk(self.world, f"ck{self._clerks}", names)


    def check(self, clerk: str, gids: Iterable[int]) -> Config:
        """The tests' check(): the latest configuration has exactly ``gids``, no shard on an
        unknown gid (when there are groups), and shares that differ by at most one."""
        gids = sorted(gids)
        c = self.query(clerk)
        self.expect(sorted(c.gids()) == gids, f"wanted groups {gids}, got {c.gids()}")
        if gids:
            stray = [s for s, g in enumerate(c.shards) if g not in gids]
            self.expect(not stray, f"shards {stray} on unknown gids: {c.shards}")
            counts = [c.shards.count(g) for g in gids]
            self.expect(max(counts) <= min(counts) + 1,
                        f"max {max(counts)} shards per group > min {min(counts)} + 1: "
                        f"{c.shards}")
        return c
