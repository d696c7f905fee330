"""The part every service's lab tester shares: a seeded World, failures that name the test
and its seed, synchronous clerk calls with a virtual-time budget, and concurrent clerk loops.

A lab tester (the key/value one, the sharded one) subclasses :class:`ServiceTester`, builds
its World in ``__init__`` and sets ``self.world``; the calls below then work on any clerk of
a key/value-shaped service (``get``/``put``/``append`` inputs).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any, NoReturn

from faultlab.sim.world import CallRecord, CallTimeout, World
from faultlab.tools.clients import Body, Clients
from faultlab.tools.seeds import SEED_ENV, seed_for

__all__ = ["ServiceTester", "CALL_TIMEOUT"]

CALL_TIMEOUT = 120.0          # a synchronous call that takes longer fails the test


class ServiceTester:
    """A test's seed, random source and World, and the helpers on them."""

    __test__ = False
    world: World
    servers: list[str]          # a replicated service's tester names its servers here
    rng_name = "tester"         # names this tester's random stream (with the seed)

    def __init__(self, name: str, label: str, seed: int | None = None) -> None:
        self.name = name
        self.label = label          # what runs, e.g. the engine's name
        self.seed = seed_for(name) if seed is None else seed
        self.rng = random.Random(f"{self.rng_name}:{self.seed}")
        print(f"\n{name} [{label}]: seed {self.seed} (set {SEED_ENV}={self.seed} to replay)")

    # ------------------------------------------------------------------ failures

    def where(self) -> str:
        return (f" [{self.name} on {self.label}, t={self.world.now:.3f}s virtual, seed "
                f"{self.seed}; {SEED_ENV}={self.seed} replays it]")

    def fail(self, message: str) -> NoReturn:
        raise AssertionError(f"{message}{self.where()}")

    def expect(self, condition: bool, message: str) -> None:
        if not condition:
            self.fail(message)

    # ------------------------------------------------------------------ calls

    def sleep(self, seconds: float) -> None:
        self.world.run_for(seconds)

    def call(self, clerk: str, input: dict, timeout: float = CALL_TIMEOUT) -> Any:
        try:
            return self.world.call(clerk, input, timeout)
        except CallTimeout:
            self.fail(f"{clerk}: {input} did not return within {timeout}s")

    def get(self, clerk: str, key: str) -> str:
        return self.call(clerk, {"op": "get", "key": key})

    def put(self, clerk: str, key: str, value: str) -> None:
        self.call(clerk, {"op": "put", "key": key, "value": value})

    def append(self, clerk: str, key: str, value: str) -> None:
        self.call(clerk, {"op": "append", "key": key, "value": value})

    def check(self, clerk: str, key: str, value: str) -> None:
        got = self.get(clerk, key)
        self.expect(got == value, f"Get({key!r}): expected {value!r}, got {got!r}")

    def clients(self, bodies: Mapping[str, Body]) -> Clients:
        """Concurrent clerk loops (faultlab.tools.clients) failing with this test's seed."""
        return Clients(self.world, bodies, fail=self.fail)

    def start_call(self, clerk: str, input: dict) -> CallRecord:
        """Invoke without waiting (a Go goroutine's call); the CallRecord tells when done."""
        return self.world.invoke(clerk, input)

    # ------------------------------------------------------------------ servers

    def shutdown_server(self, i: int) -> None:
        if self.servers[i] not in self.world.crashed:
            self.world.crash(self.servers[i])

    def start_server(self, i: int) -> None:
        if self.servers[i] in self.world.crashed:
            self.world.restart(self.servers[i])

    def leader(self) -> int | None:
        """A server that takes proposals now (Raft's leader; on Paxos, any live server):
        crashed servers are not in the World's nodes."""
        for i, name in enumerate(self.servers):
            log = getattr(self.world.nodes.get(name), "log", None)
            if log is not None and log.get_state()[1]:
                return i
        return None
