"""Rule 8's guess: groups of operations that looked independent, from the model's ``step``.

``discover`` joins two operations when they fail to commute (``commute``) at a state met
on a greedy run of the history: in one order they end in a different state, or one enables
or disables the other. Nothing model-specific is used, so a wrong guess is possible; the
certificates (``certify``) make it cost time, never a wrong verdict.

Operations are given as parallel lists indexed like the history sorted by call time.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["Groups", "commute", "discover"]


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
