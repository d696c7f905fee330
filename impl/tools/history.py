"""A World's client history as the checker's operations: the one place the runtime's calls
meet the linearizability checker (the runtime itself knows no checker)."""

from __future__ import annotations

from faultlab.checker.history import Operation
from faultlab.sim.world import World

__all__ = ["operations"]


def operations(world: World) -> list[Operation]:
    """Every call of ``world``'s history, open ones included (``ret`` None), clerks numbered in
    name order."""
    index = {name: i for i, name in enumerate(sorted(world.clients))}
    return [Operation(client=index[r.client], input=r.input, output=r.output,
                      call=r.call, ret=r.ret) for r in world.history]
