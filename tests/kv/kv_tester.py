"""The key/value tester (6.824 2022 ``src/kvraft/config.go``, and the 2015 kvpaxos test's
helpers) on the World, in virtual time, for either consensus engine.

``Tester(name, n, engine, unreliable, maxraftstate)`` builds ``n`` KV servers. Clerks come
from :meth:`Tester.make_client`, optionally bound to some servers (the other links are cut,
as config.go's ``ConnectClient`` leaves their ends disabled); :meth:`partition` cuts the
servers into groups and keeps each clerk's binding. Calls are synchronous
(:meth:`put`/:meth:`append`/:meth:`get`, budget ``CALL_TIMEOUT``) or concurrent loops
(:meth:`clients`). Every call is in the World's history; :meth:`audit` checks it.

Every test gets its own seed (from its name, or ``FAULTLAB_SEED``), printed at the start;
every failure message carries it.
"""

from __future__ import annotations

from collections.abc import Iterable

from faultlab.kv.checks import require_linearizable
from faultlab.kv.cluster import KV_RELIABLE, KV_UNRELIABLE, add_clerk, build, server_names
from faultlab.kv.server import KVServer
from faultlab.sim.network import NetworkProfile
from faultlab.sim.world import World
from faultlab.tools.tester import ServiceTester

ELECTION_TIMEOUT = 1.0        # the tests' electionTimeout


class Tester(ServiceTester):
    """One test's KV cluster and config.go's helpers (see the module docstring)."""

    rng_name = "kv-tester"

    def __init__(self, name: str, n: int, *, engine: str | type = "raft",
                 unreliable: bool = False, maxraftstate: int = -1,
                 profile: NetworkProfile | None = None, seed: int | None = None,
                 server: type[KVServer] = KVServer) -> None:
        super().__init__(name, str(engine), seed)
        self.n = n
        self.engine = engine
        self.maxraftstate = maxraftstate
        if profile is None:
            profile = KV_UNRELIABLE if unreliable else KV_RELIABLE
        self.servers = server_names(n)
        self.world: World = build(self.seed, n, engine=engine, profile=profile,
                                  maxraftstate=maxraftstate, server=server,
                                  record_steps=False)
        self.bound: dict[str, list[str]] = {}   # clerk -> servers it can reach
        self.groups: list[list[str]] = []       # the servers' current partition
        self._clerks = 0

    # ------------------------------------------------------------------ clerks and links

    def make_client(self, to: Iterable[int] | None = None, *, only: bool = False) -> str:
        """A new clerk that knows every server and reaches those of ``to`` (default all);
        with ``only``, a clerk that knows just the servers of ``to`` (kvpaxos's
        ``MakeClerk([]string{port(i)})``)."""
        self._clerks += 1
        name = f"c{self._clerks}"
        to = list(range(self.n) if to is None else to)
        order = [self.servers[i] for i in to] if only else list(self.servers)
        self.rng.shuffle(order)   # the Go clerk gets its ends in random order
        add_clerk(self.world, name, order)
        self.connect_client(name, to)
        return name

    def connect_client(self, clerk: str, to: Iterable[int]) -> None:
        self.bound[clerk] = [self.servers[i] for i in to]
        self._apply_links()

    def partition(self, *groups: Iterable[int]) -> None:
        """Cut the servers into ``groups`` (indexes); clerks keep their own links."""
        self.groups = [[self.servers[i] for i in g] for g in groups]
        self._apply_links()

    def connect_all(self) -> None:
        self.groups = []
        self._apply_links()

    def _apply_links(self) -> None:
        world = self.world
        if self.groups:
            world.partition(*self.groups)
        else:
            world.heal()
        for clerk, reach in self.bound.items():
            for s in self.servers:
                if s not in reach:
                    world.block(clerk, s)
                    world.block(s, clerk)

    def all(self) -> list[int]:
        return list(range(self.n))

    # ------------------------------------------------------------------ servers

    def make_partition(self) -> tuple[list[int], list[int]]:
        """A majority without the current leader, and a minority with it (config.go)."""
        lead = self.leader()
        lead = 0 if lead is None else lead
        p1 = [(lead + 1 + k) % self.n for k in range(self.n // 2 + 1)]
        p2 = [i for i in range(self.n) if i not in p1]
        return p1, p2

    def log_size(self) -> int:
        return max(self.world.persisters[s].state_size() for s in self.servers)

    def held_bytes(self) -> int:
        """What the live servers hold (the kvpaxos memory test's measure, engine-neutral):
        each one's log, as the bytes it persists beside its snapshot (both engines persist
        what they keep), and its state machine, as the bytes of its snapshot."""
        total = 0
        for name in self.servers:
            node = self.world.nodes.get(name)
            if isinstance(node, KVServer) and name not in self.world.crashed:
                total += self.world.persisters[name].state_size() + len(node.sm.snapshot())
        return total

    def snapshot_size(self) -> int:
        return max(self.world.persisters[s].snapshot_size() for s in self.servers)

    # ------------------------------------------------------------------ the history

    def audit(self, clerks: Iterable[str] | None = None) -> None:
        result = require_linearizable(self.world, self.where(), clerks)
        print(f"  linearizable: {len(self.world.history)} calls checked in "
              f"{result.elapsed:.2f}s")
