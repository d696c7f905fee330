"""Concurrent clerk loops under the seeded scheduler: the Go tests' client goroutines.

A loop is a generator (one per clerk) that yields what it does next:

* ``("call", input)``: a call on its clerk; the generator gets the output back;
* ``("call_on", (clerk, input))``: the same on another clerk the loop owns (a Go client
  goroutine that holds one clerk per server and picks one per call);
* ``("sleep", seconds)``: wait that long in virtual time;
* ``("do", function)``: run ``function()`` on the test's side at once (crash a server, say)
  and get its result back.

:meth:`Clients.run` interleaves every loop with the World's events in virtual time, stops
starting calls once ``duration`` has passed and lets the calls in progress finish. Calls that
never return fail the run (``fail`` names them); they stay open in the World's history.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from typing import Any, NoReturn

from faultlab.sim.world import CallRecord, World

__all__ = ["Body", "Clients"]

Body = Generator[tuple[str, Any], Any, None]


def _raise(message: str) -> NoReturn:
    raise AssertionError(message)


class Clients:
    """Concurrent clerk loops on ``world`` (see the module docstring)."""

    def __init__(self, world: World, bodies: Mapping[str, Body], *,
                 fail: Callable[[str], Any] = _raise) -> None:
        self.world = world
        self.bodies = dict(bodies)
        self.fail = fail
        self.pending: dict[str, CallRecord] = {}
        self.wake: dict[str, int] = {}  # virtual microseconds, as the World's clock
        self.stop_at = float("inf")
        self.calls = 0

    def _advance(self, name: str, value: Any) -> None:
        world = self.world
        body = self.bodies[name]
        while True:
            try:
                kind, arg = body.send(value)
            except StopIteration:
                del self.bodies[name]
                return
            if kind == "do":
                value = arg()
                continue
            if kind in ("call", "call_on"):
                if world.now >= self.stop_at:
                    body.close()
                    del self.bodies[name]
                    return
                self.calls += 1
                clerk, input = (name, arg) if kind == "call" else arg
                self.pending[name] = world.invoke(clerk, input)
            elif kind == "sleep":
                self.wake[name] = world.now_us + round(arg * 1_000_000)
            else:
                raise ValueError(f"a clerk loop yielded {kind!r}: call, call_on, sleep or do")
            return

    def _returned(self) -> bool:
        return any(r.ret is not None for r in self.pending.values())

    def run(self, duration: float | None = None, limit: float = 120.0) -> None:
        """Run the loops (for ``duration`` seconds, then let calls in progress finish)."""
        world = self.world
        if duration is not None:
            self.stop_at = world.now + duration
        give_up = world.now + (duration or 0) + limit
        for name in list(self.bodies):
            self._advance(name, None)
        while self.pending or self.wake:
            target = min([round(give_up * 1_000_000), *self.wake.values()])
            world.run_until(self._returned, max(0, target - world.now_us) / 1_000_000)
            for name, rec in list(self.pending.items()):
                if rec.ret is not None:
                    del self.pending[name]
                    self._advance(name, rec.output)
            for name, t in list(self.wake.items()):
                if t <= world.now_us:
                    del self.wake[name]
                    self._advance(name, None)
            if world.now >= give_up and self.pending:
                self.fail(f"clerks {sorted(self.pending)} never returned")
                return
