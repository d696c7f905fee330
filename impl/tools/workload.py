"""Concurrent clerks under the seeded scheduler: keep every clerk busy until the work is done."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from faultlab.sim.world import World

__all__ = ["run_workload"]


def run_workload(
    world: World,
    clients: Sequence[str],
    next_input: Callable[[str, int], Any],
    ops_per_client: int,
    timeout: float,
) -> int:
    """Give each clerk ``ops_per_client`` calls, one at a time and all clerks at once.

    ``next_input(client, k)`` is the input of the clerk's k-th call. Runs until every call
    returned or ``timeout`` virtual seconds passed (calls still open stay open in the
    history). Returns the number of calls that returned.
    """
    issued = dict.fromkeys(clients, 0)
    deadline = world.now + timeout
    while True:
        for c in clients:
            if c not in world.open_calls and c not in world.crashed and issued[c] < ops_per_client:
                world.invoke(c, next_input(c, issued[c]))
                issued[c] += 1
        busy = [c for c in clients if c in world.open_calls]
        if not busy or world.now >= deadline:
            break
        # nothing invokes while the World runs, so a return shows as fewer open calls
        still_open = len(world.open_calls)
        if not world.run_until(lambda n=still_open: len(world.open_calls) < n,
                               deadline - world.now):
            break
    return sum(1 for r in world.history if r.client in clients and r.done)
