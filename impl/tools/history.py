"""A World's client history as the checker's operations: the one place the runtime's calls
meet the linearizability checker (the runtime itself knows no checker)."""

from __future__ import annotations

from collections.abc import Iterable

from faultlab.checker.history import Operation
from faultlab.sim.world import CallRecord, World

__all__ = ["operations", "operations_of"]


def operations(world: World) -> list[Operation]:
    """Every call of ``world``'s history, open ones included (``ret`` None), clerks numbered in
    name order."""
    index = {name: i for i, name in enumerate(sorted(world.clients))}
    return operations_of(world.history, index)


def operations_of(records: Iterable[CallRecord],
                  clients: dict[str, int] | None = None) -> list[Operation]:
    """Call records (of a World, or of clerks on a real cluster) as operations; clients
    renamed by ``clients`` when given."""
    return [Operation(client=r.client if clients is None else clients[r.client],
                      input=r.input, output=r.output, call=r.call, ret=r.ret)
            for r in records]
