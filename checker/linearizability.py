"""Linearizability checking: the public API (``check``, ``check_partition`` and their types).

A history is split by the model's ``partition`` (P-compositionality) and the parts are
searched independently. The pieces, one idea each:

* checker/search.py: the tuned Wing–Gong/Lowe search of one partition (pruning rules 1-6);
* checker/schedule.py: partitions round-robin in this process, worker processes for hard
  ones (rule 7);
* checker/components/: independent groups found from the model's ``step``, searched apart
  and certified (rule 8);
* checker/results.py: ``Verdict``, ``PartitionResult``, ``CheckResult``, ``Pruning``;
* checker/reference.py: the plain search the tests compare the tuned one with.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Sequence

from .explain import explain_failure
from .history import Operation
from .models import Model, get_model
from .results import DEFAULT_PRUNING, CheckResult, PartitionResult, Pruning, Verdict, overall
from .schedule import Report, run_partition, run_partitions

__all__ = ["DEFAULT_PRUNING", "CheckResult", "PartitionResult", "Pruning", "Verdict", "check",
           "check_partition"]


def check(
    history: Sequence[Operation],
    model: Model | str,
    *,
    timeout: float | None = None,
    verbose: bool = False,
    partition: bool = True,
    workers: int | None = None,
    pruning: Pruning = DEFAULT_PRUNING,
    progress: Report | None = None,
) -> CheckResult:
    """Decide whether ``history`` is linearizable with respect to ``model``.

    ``timeout`` (seconds, for the whole history) turns an unfinished search into
    ``Verdict.UNKNOWN``. ``verbose`` keeps, per partition, the longest partial
    linearizations and what blocked them (the full linearization for OK partitions).
    Partitions are searched round-robin and the search stops at the first illegal one, so
    ``partitions`` then lists only the partitions that finished.
    ``partition=False`` ignores the model's partitioning. ``workers`` forces the number of
    worker processes (1 = all in this process); by default, partitions still unfinished
    after ``schedule.PROCESS_AFTER`` seconds move to worker processes when several of them
    are hard (``schedule.HARD_NODES_PER_OP``).
    ``pruning`` switches search rules off, for benchmarks. ``progress`` is called with
    (partitions decided, partitions, the partition being searched or None, its search nodes)
    at every pause of a search (``checker.progress.Progress.searching``). ValueError: an
    operation the model does not understand (``Model.understands``), or one returning
    before its call.
    """
    start = time.monotonic()
    m = get_model(model)
    ops = list(history)
    understands = m.understands
    for i, op in enumerate(ops):
        if op.ret is not None and op.ret < op.call:
            raise ValueError(f"operation {i} returns ({op.ret}) before its call ({op.call})")
        if not understands(op.input):
            raise ValueError(f"operation {i} ({op.input!r}) is not an operation of model "
                             f"{m.name!r}")
    parts: list[list[Operation]] | None = m.partition(ops) if (partition and ops) else None
    if parts is None:
        parts = [ops]
    parts = [p for p in parts if p]
    deadline = None if timeout is None else start + timeout
    collecting = gc.isenabled()
    if collecting:  # the search makes no reference cycles; the collector's passes over a
        gc.disable()  # large history cost more than a third of a long check
    try:
        results = run_partitions(parts, m, deadline, verbose, pruning, workers, progress)
        if verbose:
            results = [explain_failure(r, m, deadline) for r in results]
    finally:
        if collecting:
            gc.enable()
    return CheckResult(
        verdict=overall({r.verdict for r in results}),
        partitions=results if verbose else [],
        elapsed=time.monotonic() - start,
        nodes=sum(r.nodes for r in results),
        n_ops=len(ops),
        n_partitions=len(parts),
    )


def check_partition(
    history: Sequence[Operation],
    model: Model,
    *,
    deadline: float | None = None,
    verbose: bool = False,
    pruning: Pruning = DEFAULT_PRUNING,
) -> PartitionResult:
    """Search one partition (the model's partitioning is not applied; rule 8 may still split
    it into independent groups); ``deadline`` is a time.monotonic() value."""
    result = run_partition(list(history), model, deadline, verbose, 0, pruning)
    return explain_failure(result, model, deadline) if verbose else result
