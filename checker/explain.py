"""The explanation of a failed partition: its longest partial linearizations, exactly.

The search that decides a verdict cuts every node from which no *complete* linearization
can follow (rule 4, dead reads, cuts the root itself when a read can never be satisfied),
so the deepest node it met can be far shorter than the longest valid prefix: for
``write(1)``, ``read -> 1``, ``read -> 0`` with overlapping intervals it met none but the
root, and called the longest partial linearization 0 operations long; it is 2. For a
verbose check, each illegal partition is searched once more without the rules that cut
by what cannot complete (dead reads, unseen open operations), which keeps every prefix,
within a budget of nodes: the longest prefixes found are then exact, or (past the budget or
the deadline) the longest found, marked ``longest_exact = False``. Length counts completed
operations: open ones may always be left out.
"""

from __future__ import annotations

from dataclasses import replace

from .models import Model
from .results import DEFAULT_PRUNING, PartitionResult, Verdict
from .search import search

__all__ = ["EXPLAIN_NODES", "explain_failure", "completed_in"]

#: Nodes the explanation's search may visit per failed partition.
EXPLAIN_NODES = 200_000
_KEEP_PREFIXES = replace(DEFAULT_PRUNING, dead_reads=False, unseen_open=False,
                         components=False)


def completed_in(part: PartitionResult, path: list) -> int:
    """How many completed operations a (partial) linearization of ``part`` holds."""
    return sum(part.ops[i].ret is not None for i, _ in path)


def explain_failure(part: PartitionResult, model: Model, deadline: float | None,
                    max_nodes: int | None = None) -> PartitionResult:
    """``part`` (an illegal partition's result) with its longest partial linearizations,
    and what stopped them, found by a search that keeps every valid prefix."""
    if part.verdict is not Verdict.ILLEGAL:
        return part
    gen = search(part.ops, model, deadline, True, part.index, _KEEP_PREFIXES,
                 max_nodes=EXPLAIN_NODES if max_nodes is None else max_nodes)
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            full: PartitionResult = stop.value
            break
    found = full.linearizations[0] if full.linearizations else []
    had = part.linearizations[0] if part.linearizations else []
    if completed_in(part, found) >= completed_in(part, had):
        part.ops = full.ops  # the indices refer to these (sorted by call, as before)
        part.linearizations, part.stuck = full.linearizations, full.stuck
        part.blocking, part.fail_time = full.blocking, full.fail_time
    part.longest_exact = full.verdict is Verdict.ILLEGAL  # exhausted: nothing longer exists
    return part
