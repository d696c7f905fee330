"""Independent components of a history, found from the model's ``step`` alone (rule 8).

The search of ``linearizability`` splits a hard history into groups of operations that looked
independent, checks each group alone, and then *certifies* the answer, so a wrong guess here
costs time, never a wrong verdict:

* ``discover`` guesses the groups: two operations are joined when they fail to commute at a
  state met on a greedy run of the history (in one order they end in a different state, or
  one enables or disables the other). Nothing model-specific is used.
* ``merge_orders`` and ``replay`` turn the groups' linearizations into one order of the
  whole history and run it through the model: a valid replay proves linearizability.
* ``explains`` says whether a stuck operation of a failed group may depend on another
  group, from that group's linearization (its allowedness changes along it).

Standard library only; operations are given as parallel lists indexed like the history
sorted by call time.
"""

from __future__ import annotations

import math
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["Groups", "Witness", "commute", "discover", "explains", "merge_orders", "replay"]


class Groups:
    """Union-find over operation indices."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        a, b = self.find(a), self.find(b)
        if a != b:
            self.parent[max(a, b)] = min(a, b)

    def groups(self) -> list[list[int]]:
        """The groups, each sorted, ordered by their first operation."""
        out: dict[int, list[int]] = {}
        for i in range(len(self.parent)):
            out.setdefault(self.find(i), []).append(i)
        return list(out.values())


def discover(
    step: Callable[[Any, Any, Any], tuple[bool, Any]], init: Any, calls: Sequence[float],
    rets: Sequence[float], inputs: Sequence[Any], outputs: Sequence[Any],
    deadline: float | None = None,
) -> list[list[int]]:
    """Groups of operations that commuted with every operation of the other groups they
    were compared with (``rets`` is ``inf`` for open operations).

    Each operation gets a *home* state: the state of a greedy, real-time-respecting run of
    the history (allowed operations applied, the stuck ones skipped) when the operation first
    became a candidate. Past ``deadline`` (a time.monotonic() value) everything is one group.
    """
    n = len(calls)
    inf = math.inf
    home: list[Any] = [None] * n
    done = bytearray(rets[i] == inf for i in range(n))  # open operations are never applied
    ret_order = sorted((i for i in range(n) if rets[i] != inf), key=lambda i: (rets[i], i))
    state = init
    p_ret = p_call = seen = 0
    while True:
        while p_ret < len(ret_order) and done[ret_order[p_ret]]:
            p_ret += 1
        if p_ret == len(ret_order):
            break
        minret = rets[ret_order[p_ret]]
        while seen < n and calls[seen] <= minret:
            home[seen] = state
            seen += 1
        while p_call < n and done[p_call]:
            p_call += 1
        best = None
        j = p_call
        while j < seen:
            if not done[j]:
                ok, ns = step(state, inputs[j], outputs[j])
                if ok:
                    if ns == state:  # a read, say: take it at once
                        best = (j, ns)
                        break
                    if best is None or rets[j] < rets[best[0]]:
                        best = (j, ns)
            j += 1
        if best is None:
            done[ret_order[p_ret]] = 1  # stuck: skip it
            continue
        done[best[0]] = 1
        state = best[1]
    for i in range(seen, n):
        home[i] = state

    # Each operation is compared, at its home state, with the latest state-changing
    # operation of every group so far, and joins each group it does not commute with.
    groups = Groups(n)
    find = groups.find
    latest: dict[int, int] = {}  # group root -> its latest state-changing operation
    for a in range(n):
        if a % 256 == 0 and deadline is not None and time.monotonic() > deadline:
            return [list(range(n))]
        s = home[a]
        ok, ns = step(s, inputs[a], outputs[a])
        for w in list(latest.values()):
            if not commute(step, s, inputs[a], outputs[a], inputs[w], outputs[w], (ok, ns)):
                groups.union(a, w)
        if ok and ns != s:
            latest[a] = a
        merged: dict[int, int] = {}  # groups may have joined: one entry per group
        for w in latest.values():
            root = find(w)
            if merged.get(root, -1) < w:
                merged[root] = w
        latest = merged
    return groups.groups()


def commute(step: Callable[[Any, Any, Any], tuple[bool, Any]], s: Any, in_a: Any, out_a: Any,
            in_b: Any, out_b: Any, step_a: tuple[bool, Any] | None = None) -> bool:
    """Whether a and b commute at ``s``: neither enables or disables the other, and when
    both are allowed the two orders end in the same state. ``step_a``: a's step at ``s``,
    when known."""
    ok_a, s_a = step(s, in_a, out_a) if step_a is None else step_a
    ok_b, s_b = step(s, in_b, out_b)
    if ok_a:
        ok_ab, s_ab = step(s_a, in_b, out_b)
        if not ok_b:
            return not ok_ab
        if not ok_ab:
            return False
        ok_ba, s_ba = step(s_b, in_a, out_a)
        return ok_ba and s_ab == s_ba
    if ok_b:
        return not step(s_b, in_a, out_a)[0]
    return True  # neither is allowed here: nothing seen


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
