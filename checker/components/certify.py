"""Rule 8's certificates: what turns the groups' separate answers into an exact verdict.

* ``merge_orders`` and ``replay`` turn the groups' linearizations into one order of the
  whole history and run it through the model: a valid replay proves linearizability.
* ``explains`` says whether a stuck operation of a failed group may depend on another
  group, from that group's linearization (``Witness``: its allowedness changes along it).

Operations are given as parallel lists indexed like the history sorted by call time.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["Witness", "explains", "merge_orders", "replay"]


class Witness:
    """A group's linearization, indexed for ``explains``."""

    def __init__(self, path: Sequence[tuple[int, Any]], init: Any, calls: Sequence[float],
                 rets: Sequence[float]) -> None:
        self.states = [init] + [state for _, state in path]
        self.changes = any(state != init for state in self.states)  # else it explains nothing
        m = len(path)
        # suffix minimum of returns and prefix maximum of calls, both non-decreasing
        self.suffix_min = [0.0] * m
        low = math.inf
        for p in range(m - 1, -1, -1):
            low = min(low, rets[path[p][0]])
            self.suffix_min[p] = low
        self.prefix_max = []
        high = -math.inf
        for i, _ in path:
            high = max(high, calls[i])
            self.prefix_max.append(high)


def explains(step: Callable[[Any, Any, Any], tuple[bool, Any]], witness: Witness, op_in: Any,
             op_out: Any, call: float, ret: float,
             may_become: Callable[[Any, Any, Any], bool] | None = None) -> bool:
    """Whether another group's operations seem to affect an operation: along that group's
    linearization, where real time lets the operation go (one position wider on each side),
    the operation is allowed differently than before the group's first operation, or than
    at another of those positions. With ``may_become`` (a read-only operation and the
    model's hint), a change of that answer counts too."""
    # p operations of the witness placed before it: all that return before `call` must be,
    # none called after `ret` may be.
    first = bisect_left(witness.suffix_min, call)
    last = bisect_right(witness.prefix_max, ret)
    states = witness.states

    def sign(state: Any) -> tuple[bool, bool]:
        ok = step(state, op_in, op_out)[0]
        return ok, (may_become is None or ok or may_become(state, op_in, op_out))

    before = sign(states[0])
    for p in range(max(0, first - 1), min(len(states) - 1, last + 1) + 1):
        if sign(states[p]) != before:
            return True
    return False


def merge_orders(orders: Sequence[Sequence[int]], calls: Sequence[float]) -> list[int]:
    """One order of all operations from per-group orders that respect real time.

    Each operation gets the point max(call) over its group's order so far (within its
    interval when the group's order respects real time); sorting by point keeps every
    group's order and puts a before b whenever a returns before b is called.
    """
    keyed: list[tuple[float, int, int, int]] = []
    for g, order in enumerate(orders):
        point = -math.inf
        for pos, i in enumerate(order):
            point = max(point, calls[i])
            keyed.append((point, g, pos, i))
    keyed.sort()
    return [k[3] for k in keyed]


def replay(
    step: Callable[[Any, Any, Any], tuple[bool, Any]], init: Any, order: Sequence[int],
    calls: Sequence[float], rets: Sequence[float], inputs: Sequence[Any],
    outputs: Sequence[Any],
) -> tuple[list[tuple[int, Any]], int | None]:
    """Run ``order`` through the model, checking real time and that every completed
    operation is there. Returns (path of (op, state after), None) when it is a linearization,
    else (the valid prefix, the position in ``order`` where it failed; ``len(order)`` when
    a completed operation is missing)."""
    n = len(calls)
    inf = math.inf
    ret_order = sorted((i for i in range(n) if rets[i] != inf), key=lambda i: (rets[i], i))
    placed = bytearray(n)
    p = 0
    state = init
    path: list[tuple[int, Any]] = []
    for pos, i in enumerate(order):
        if placed[i]:
            return path, pos
        placed[i] = 1
        while p < len(ret_order) and placed[ret_order[p]]:
            p += 1
        if p < len(ret_order) and rets[ret_order[p]] < calls[i]:
            return path, pos  # a completed operation that returned earlier is missing
        ok, state = step(state, inputs[i], outputs[i])
        if not ok:
            return path, pos
        path.append((i, state))
    while p < len(ret_order) and placed[ret_order[p]]:
        p += 1
    return path, (None if p == len(ret_order) else len(order))
