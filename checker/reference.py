"""The plain Wing–Gong/Lowe search, kept deliberately simple: the reference for the tests.

The tuned search (checker/search.py) prunes in many ways that each keep the verdict exact;
the oracle tests compare its verdicts with this one's on histories too long for brute force.
Here nothing is pruned but Lowe's cache: a node is (set of linearized operations, model
state), visited once; the operations that may go next are the unlinearized ones called no
later than the earliest return among the unlinearized completed ones. No hints, no
partition scheduling, no rule 8, no explanations: keep it obviously right, not fast.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

from .history import UNKNOWN, Operation
from .models import Model, get_model
from .results import CheckResult, Verdict, overall

__all__ = ["check", "search", "longest"]


def check(history: Sequence[Operation], model: Model | str, *,
          timeout: float | None = None) -> CheckResult:
    """The verdict of the reference search on each of the model's partitions, one after
    another (``timeout`` in seconds for the whole history; past it: UNKNOWN)."""
    start = time.monotonic()
    m = get_model(model)
    ops = list(history)
    parts = (m.partition(ops) if ops else None) or [ops]
    deadline = None if timeout is None else start + timeout
    verdicts: set[Verdict] = set()
    nodes = 0
    for part in parts:
        verdict, searched = search(part, m, deadline)
        verdicts.add(verdict)
        nodes += searched
        if verdict is Verdict.ILLEGAL:
            break
    return CheckResult(verdict=overall(verdicts), partitions=[],
                       elapsed=time.monotonic() - start, nodes=nodes, n_ops=len(ops),
                       n_partitions=len(parts))


def search(history: Sequence[Operation], model: Model,
           deadline: float | None = None) -> tuple[Verdict, int]:
    """(verdict, nodes searched) for one history, depth first; ``deadline`` is a
    time.monotonic() value."""
    ops = sorted(history, key=lambda op: op.call)
    n = len(ops)
    rets = [math.inf if op.ret is None else op.ret for op in ops]
    outputs = [UNKNOWN if op.ret is None else op.output for op in ops]
    completed = sum(1 << i for i in range(n) if ops[i].ret is not None)

    def candidates(bits: int) -> list[int]:
        left = [i for i in range(n) if not bits >> i & 1]
        first_return = min((rets[i] for i in left if completed >> i & 1), default=math.inf)
        return [i for i in left if ops[i].call <= first_return]

    root = (0, model.init())
    stack = [root]
    visited = {root}
    nodes = 0
    while stack:
        bits, state = stack.pop()
        if bits & completed == completed:  # open operations may be left out
            return Verdict.OK, nodes
        nodes += 1
        if deadline is not None and nodes % 512 == 0 and time.monotonic() > deadline:
            return Verdict.UNKNOWN, nodes
        for i in candidates(bits):
            ok, next_state = model.step(state, ops[i].input, outputs[i])
            if ok:
                node = (bits | 1 << i, next_state)
                if node not in visited:
                    visited.add(node)
                    stack.append(node)
    return Verdict.ILLEGAL, nodes


def longest(history: Sequence[Operation], model: Model) -> int:
    """The most completed operations in any partial linearization of ``history``: a prefix
    of some real-time respecting order that the model allows (every node visited, none
    cut; exponential, for the tests of the explanations)."""
    ops = sorted(history, key=lambda op: op.call)
    n = len(ops)
    rets = [math.inf if op.ret is None else op.ret for op in ops]
    outputs = [UNKNOWN if op.ret is None else op.output for op in ops]
    completed = sum(1 << i for i in range(n) if ops[i].ret is not None)
    root = (0, model.init())
    stack, visited, best = [root], {root}, 0
    while stack:
        bits, state = stack.pop()
        best = max(best, (bits & completed).bit_count())
        left = [i for i in range(n) if not bits >> i & 1]
        first_return = min((rets[i] for i in left if completed >> i & 1), default=math.inf)
        for i in left:
            if ops[i].call <= first_return:
                ok, next_state = model.step(state, ops[i].input, outputs[i])
                node = (bits | 1 << i, next_state)
                if ok and node not in visited:
                    visited.add(node)
                    stack.append(node)
    return best
