"""The kvsrv tester (6.5840 2025 ``src/kvsrv1/test.go`` and the ``kvtest1`` helpers it uses)
on the World, in virtual time.

``Tester(name, reliable=...)`` builds the server; clerks come from :meth:`Tester.make_clerk`.
Calls are synchronous (:meth:`get`, :meth:`put`) or concurrent clerk loops
(:meth:`spawn_clients`, the Go tests' ``SpawnClientsAndWait``). Every call is in the World's
history and :meth:`audit` checks it against the checker's versioned-kv model; an unknown
verdict fails like an illegal one. :meth:`server_bytes` measures what the server holds.

Every test gets its own seed (from its name, or ``FAULTLAB_SEED``), printed at the start;
every failure message carries it.
"""

from __future__ import annotations

import json
import random
import string
import sys
from collections.abc import Callable
from dataclasses import dataclass
from types import FunctionType, MethodType, ModuleType
from typing import Any, NoReturn

from faultlab.kv.checks import require_linearizable
from faultlab.kvsrv.clerk import Clerk
from faultlab.kvsrv.cluster import RELIABLE, SERVER, UNRELIABLE, add_clerk, build
from faultlab.kvsrv.server import KVServer
from faultlab.sim.node import Context
from faultlab.sim.world import CallTimeout, World
from faultlab.tools.clients import Body, Clients
from faultlab.tools.seeds import SEED_ENV, seed_for

CALL_TIMEOUT = 60.0          # a synchronous call that takes longer fails the test
LINEARIZABILITY_TIMEOUT = 1.0


@dataclass
class ClntRes:
    """What one client loop did (kvtest's ClntRes): Puts answered OK, and ErrMaybe."""

    nok: int = 0
    nmaybe: int = 0


class Tester:
    """One test's server and the Go tester's helpers (see the module docstring)."""

    __test__ = False

    def __init__(self, name: str, *, reliable: bool = True, seed: int | None = None,
                 server: type[KVServer] = KVServer, clerk: type[Clerk] = Clerk) -> None:
        self.name = name
        self.reliable = reliable
        self.seed = seed_for(name) if seed is None else seed
        self.rng = random.Random(f"kvsrv-tester:{self.seed}")
        self.clerk_class = clerk
        self.world: World = build(self.seed, profile=RELIABLE if reliable else UNRELIABLE,
                                  server=server, clerk=clerk, record_steps=False)
        self._clerks = 0
        print(f"\n{name}: seed {self.seed} (set {SEED_ENV}={self.seed} to replay)")

    # ------------------------------------------------------------------ failures

    def where(self) -> str:
        return (f" [{self.name}, t={self.world.now:.3f}s virtual, seed {self.seed}; "
                f"{SEED_ENV}={self.seed} replays it]")

    def fail(self, message: str) -> NoReturn:
        raise AssertionError(f"{message}{self.where()}")

    def expect(self, condition: bool, message: str) -> None:
        if not condition:
            self.fail(message)

    # ------------------------------------------------------------------ clerks and calls

    def make_clerk(self) -> str:
        self._clerks += 1
        return add_clerk(self.world, f"c{self._clerks}", self.clerk_class)

    def call(self, clerk: str, input: dict) -> Any:
        try:
            return self.world.call(clerk, input, CALL_TIMEOUT)
        except CallTimeout:
            self.fail(f"{clerk}: {input} did not return within {CALL_TIMEOUT}s")

    def get(self, clerk: str, key: str) -> tuple[str, int, str]:
        return self.call(clerk, {"op": "get", "key": key})

    def put(self, clerk: str, key: str, value: str, version: int) -> str:
        return self.call(clerk, {"op": "put", "key": key, "value": value, "version": version})

    def get_json(self, clerk: str, key: str) -> tuple[Any, int]:
        """kvtest's GetJson: the key's value decoded from JSON, and its version."""
        value, version, err = self.get(clerk, key)
        self.expect(err == "OK", f"{clerk}: Get({key!r}) err {err}")
        return json.loads(value), version

    def run(self, bodies: dict[str, Body], seconds: float | None = None) -> None:
        """Run clerk loops (:mod:`faultlab.tools.clients`) to their end, or for ``seconds``
        of virtual time and then until the calls in progress finish."""
        Clients(self.world, bodies, fail=self.fail).run(duration=seconds)

    def spawn_clients(self, n: int, seconds: float,
                      body: Callable[[int, str, ClntRes], Body]) -> list[ClntRes]:
        """kvtest's SpawnClientsAndWait: ``n`` new clerks, each running ``body(me, clerk,
        result)`` for ``seconds`` of virtual time; their results."""
        results = [ClntRes() for _ in range(n)]
        self.run({ck: body(me, ck, results[me])
                  for me, ck in enumerate(self.make_clerk() for _ in range(n))}, seconds)
        return results

    def rand_value(self, n: int) -> str:
        """kvtest's RandValue: ``n`` letters, from this test's seeded generator."""
        return "".join(self.rng.choices(string.ascii_letters, k=n))

    def now(self) -> float:
        return self.world.now

    # ------------------------------------------------------------------ checks

    def audit(self, timeout: float = LINEARIZABILITY_TIMEOUT) -> None:
        result = require_linearizable(self.world, self.where(), timeout=timeout,
                                      model="versioned-kv")
        print(f"  linearizable: {len(self.world.history)} calls checked in "
              f"{result.elapsed:.2f}s")

    def server_bytes(self) -> int:
        return retained_bytes(self.world.node(SERVER))

    def resends(self) -> int:
        """Requests the clerks sent again (their retry timer fired)."""
        return sum(getattr(self.world.nodes[c], "resends", 0) for c in self.world.clients)


_OPAQUE = (type, ModuleType, FunctionType, MethodType, Context)


def retained_bytes(root: object) -> int:
    """The bytes (``sys.getsizeof``) of every object reachable from ``root`` through
    attributes and containers, each counted once; a node's context (the way to the World)
    and code are not followed. The labs measure the heap; this measures what the node
    itself keeps, whatever attribute it keeps it in, and is the same on every run."""
    seen: set[int] = set()
    total = 0
    todo = [root]
    while todo:
        obj = todo.pop()
        if id(obj) in seen or isinstance(obj, _OPAQUE):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        if isinstance(obj, dict):
            todo.extend(obj.keys())
            todo.extend(obj.values())
        elif isinstance(obj, list | tuple | set | frozenset):
            todo.extend(obj)
        if hasattr(obj, "__dict__") and not isinstance(obj, dict):
            todo.append(vars(obj))
        for cls in type(obj).__mro__:
            slots = getattr(cls, "__slots__", ())
            for slot in (slots,) if isinstance(slots, str) else slots:
                if hasattr(obj, slot):
                    todo.append(getattr(obj, slot))
    return total
