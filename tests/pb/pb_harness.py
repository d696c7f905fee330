"""The 2015 pbservice/viewservice test harness, on the World in virtual time.

A :class:`Lab` owns one World with the viewservice ``vs`` and a viewservice clerk ``vck``
(the Go tests' ``viewservice.MakeClerk``); servers and clerks are added as a test starts
them. Go's ``time.Sleep`` is :meth:`Lab.sleep` (virtual time passes, events happen), a
synchronous clerk call is :meth:`Lab.call`, and :class:`Clients` runs concurrent clerk loops
(Go goroutines) written as generators.

Seeds: each test's seed is the ``seed`` fixture (tests/conftest.py: derived from its name,
or taken from ``FAULTLAB_SEED``); the Lab's failure messages name it, and the report of any
other failure (a plain assert) does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from faultlab.checker.linearizability import Verdict, check
from faultlab.pb.cluster import RELIABLE_2015, add_clerk, add_server, add_view_clerk
from faultlab.pb.common import DEAD_PINGS, PING_INTERVAL, VIEWSERVICE
from faultlab.pb.viewservice import ViewServer
from faultlab.sim.network import NetworkProfile
from faultlab.sim.world import CallTimeout, World
from faultlab.tools.clients import Body
from faultlab.tools.clients import Clients as ConcurrentClients
from faultlab.tools.history import operations

DEADTIME = PING_INTERVAL * DEAD_PINGS


class Lab:
    def __init__(self, seed: int, profile: NetworkProfile = RELIABLE_2015) -> None:
        self.seed = seed
        self.world = World(seed, profile)
        self.world.add_node(VIEWSERVICE, ViewServer)
        add_view_clerk(self.world, "vck")
        self.world.start()
        self.notes: list[str] = []

    # ---------------------------------------------------------------- assertions

    def fail(self, message: str) -> None:
        pytest.fail(f"{message} (seed {self.seed}; rerun with FAULTLAB_SEED={self.seed}, "
                    f"t={self.world.now:.3f}s virtual)", pytrace=False)

    def expect(self, condition: bool, message: str) -> None:
        if not condition:
            self.fail(message)

    # ---------------------------------------------------------------- the Go helpers

    def start_server(self, name: str) -> None:
        """StartServer: a new server (a fresh incarnation if ``name`` ran before)."""
        if name in self.world.crashed:
            self.world.restart(name)
        else:
            add_server(self.world, name)

    def kill(self, name: str) -> None:
        self.world.crash(name)

    def make_clerk(self, name: str, retry: float | None = None) -> str:
        if retry is None:
            add_clerk(self.world, name)
        else:
            add_clerk(self.world, name, retry)
        return name

    def sleep(self, seconds: float) -> None:
        self.world.run_for(seconds)

    def call(self, clerk: str, input: Any, timeout: float = 20.0) -> Any:
        try:
            return self.world.call(clerk, input, timeout)
        except CallTimeout as e:
            self.fail(str(e))

    def view(self) -> tuple[int, str, str]:
        """vck.Get(): the view, by an RPC to the viewservice."""
        return self.call("vck", {"op": "get"})

    def primary(self) -> str:
        return self.view()[1]

    def put(self, ck: str, key: str, value: str) -> None:
        self.call(ck, {"op": "put", "key": key, "value": value})

    def append(self, ck: str, key: str, value: str) -> None:
        self.call(ck, {"op": "append", "key": key, "value": value})

    def get(self, ck: str, key: str) -> str:
        return self.call(ck, {"op": "get", "key": key})

    def check(self, ck: str, key: str, value: str) -> None:
        got = self.get(ck, key)
        self.expect(got == value, f"Get({key!r}) -> {got!r}, expected {value!r}")

    def wait_view(self, condition: Callable[[tuple[int, str, str]], bool], iters: int) -> None:
        """The tests' polling loop: up to ``iters`` ping intervals until the view fits."""
        for _ in range(iters):
            if condition(self.view()):
                return
            self.sleep(PING_INTERVAL)

    # ---------------------------------------------------------------- the history

    def audit(self, timeout: float = 3.0) -> Verdict:
        """Check the history (all clerks, open calls included) with the kv model."""
        history = [op for op in operations(self.world)]
        clerks = sorted(self.world.clients)
        history = [op for op in history if clerks[op.client] != "vck"]
        result = check(history, "kv", timeout=timeout)
        self.expect(result.verdict is not Verdict.ILLEGAL,
                    f"history of {len(history)} calls is not linearizable")
        note = (f"linearizability: {result.verdict} ({len(history)} calls, "
                f"{result.elapsed:.2f}s)")
        self.notes.append(note)
        print(note)
        return result.verdict


def Clients(lab: Lab, bodies: dict[str, Body]) -> ConcurrentClients:  # noqa: N802
    """The tests' concurrent clerk loops (faultlab.tools.clients) on the lab's World."""
    return ConcurrentClients(lab.world, bodies, fail=lab.fail)
