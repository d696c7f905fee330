"""Linearizability checking: Wing–Gong search with Lowe's just-in-time linearization.

The search walks a tree whose nodes are (set of linearized operations, model state). At a
node, the operations that may go next are the unlinearized ones called no later than the
earliest return among the unlinearized *completed* operations (intervals are closed). Each
(set, state) pair is visited once: a second path to it is cut (the cache of Lowe's
algorithm). The set is a Python int used as a bitset.

Pruning rules beyond the classic algorithm, each of which keeps the verdict exact:

* **Read absorption.** A completed candidate that the model declares read-only (it never
  changes the state when allowed: a read, a failed cas) and whose step is allowed now is
  linearized at once, without branching: moving it to the front of any valid continuation
  keeps that continuation valid.
* **Open operations are optional.** An open operation whose step would not change the state
  is never tried (it can always be left out). A node whose completed part and state equal an
  exhausted node's, and whose linearized open operations are a superset of that node's, is
  cut too: leaving open operations out never hurts.
* **Identical candidates.** Among candidates with the same input and output, only the one
  with the earliest return is tried; the others lead to dominated nodes.
* **Dead reads.** With the model's ``may_become``/``overwrites`` hints, a node is cut as soon
  as a pending read (a candidate, or one of the next reads of each kind called later) can no
  longer be satisfied by the time it returns and nothing that overwrites what it sees can
  still come first.
* **Unseen open operations.** With the model's ``observes`` hint, an open operation whose
  effect no read could show is never tried: it did not take effect or was overwritten
  unseen, so it can be left out.
* Candidates are tried earliest return first.
* **Independent groups** (rule 8, for searches still running after a while). Operations are
  grouped by whether they commute at states met (``components.discover``: nothing from the
  model but ``step``) and each group is searched alone. The verdict is then certified, so
  a bad grouping costs time only: OK when the groups' linearizations, merged by real time,
  replay through the model; ILLEGAL when a failed group stays unlinearizable with every
  operation outside it made open (a relaxation: it only adds linearizations). Otherwise
  groups are merged and the round repeats; the plain search runs alongside all the while.

Histories are split by the model's ``partition`` (P-compositionality) and the parts checked
independently: interleaved in this process (stopping at the first failure), or in worker
processes for large histories.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import time
from collections.abc import Sequence
from typing import Any

from .components import search_with_groups
from .history import Operation
from .models import Model, get_model
from .results import DEFAULT_PRUNING, CheckResult, PartitionResult, Pruning, Verdict, overall

__all__ = ["DEFAULT_PRUNING", "CheckResult", "PartitionResult", "Pruning", "Verdict", "check",
           "check_partition"]

#: Partitions still unfinished after this many seconds of in-process search move to worker
#: processes (when there are several and more than one CPU): quick checks, which are most,
#: never pay the process start-up cost.
PROCESS_AFTER = 2.0


def check(
    history: Sequence[Operation],
    model: Model | str,
    *,
    timeout: float | None = None,
    verbose: bool = False,
    partition: bool = True,
    workers: int | None = None,
    pruning: Pruning = DEFAULT_PRUNING,
) -> CheckResult:
    """Decide whether ``history`` is linearizable with respect to ``model``.

    ``timeout`` (seconds, for the whole history) turns an unfinished search into
    ``Verdict.UNKNOWN``. ``verbose`` keeps, per partition, the longest partial
    linearizations and what blocked them (the full linearization for OK partitions).
    Partitions are searched round-robin and the search stops at the first illegal one, so
    ``partitions`` then lists only the partitions that finished.
    ``partition=False`` ignores the model's partitioning. ``workers`` forces the number of
    worker processes (1 = all in this process); by default, partitions still unfinished
    after ``PROCESS_AFTER`` seconds move to worker processes when several remain.
    ``pruning`` switches search rules off, for benchmarks.
    """
    start = time.monotonic()
    m = get_model(model)
    ops = list(history)
    for i, op in enumerate(ops):
        if op.ret is not None and op.ret < op.call:
            raise ValueError(f"operation {i} returns ({op.ret}) before its call ({op.call})")
    parts: list[list[Operation]] | None = m.partition(ops) if (partition and ops) else None
    if parts is None:
        parts = [ops]
    parts = [p for p in parts if p]
    deadline = None if timeout is None else start + timeout

    cpus = os.cpu_count() or 1
    results: list[PartitionResult] = []
    if workers is not None and workers > 1 and len(parts) > 1 and _picklable(m):
        results = _in_processes(parts, list(range(len(parts))), m, deadline, verbose, pruning,
                                min(workers, len(parts)))
    elif not pruning.round_robin and len(parts) > 1:
        for i, p in enumerate(parts):
            r = _run_partition(p, m, deadline, verbose, i, pruning)
            results.append(r)
            if r.verdict is Verdict.ILLEGAL:
                break
    else:
        handoff = (workers is None and cpus > 1 and len(parts) > 1 and _picklable(m))
        until = time.monotonic() + PROCESS_AFTER if handoff else None
        results, left = _round_robin(parts, m, deadline, verbose, pruning, until)
        if left:  # several hard partitions: search them in parallel from scratch
            results += _in_processes(parts, left, m, deadline, verbose, pruning,
                                     min(cpus, len(left)))
            results.sort(key=lambda r: r.index)

    return CheckResult(
        verdict=overall({r.verdict for r in results}),
        partitions=results if verbose else [],
        elapsed=time.monotonic() - start,
        nodes=sum(r.nodes for r in results),
        n_ops=len(ops),
        n_partitions=len(parts),
    )


def _in_processes(
    parts: list[list[Operation]], which: list[int], model: Model, deadline: float | None,
    verbose: bool, pruning: Pruning, workers: int,
) -> list[PartitionResult]:
    """Partitions ``which`` in worker processes, largest first; a failure stops the rest."""
    order = sorted(which, key=lambda i: -len(parts[i]))
    jobs = [(parts[i], model, deadline, verbose, i, pruning) for i in order]
    results: list[PartitionResult] = []
    with multiprocessing.get_context().Pool(workers) as pool:
        for r in pool.imap_unordered(_run_job, jobs):
            results.append(r)
            if r.verdict is Verdict.ILLEGAL:
                pool.terminate()  # stop the workers still searching
                break
    return sorted(results, key=lambda r: r.index)


def _run_job(job: tuple[Any, ...]) -> PartitionResult:
    r = _run_partition(*job)
    if not job[3]:
        r.ops = []  # not verbose: spare sending the history back
    return r


def _run_partition(
    part: list[Operation], model: Model, deadline: float | None, verbose: bool, index: int,
    pruning: Pruning = DEFAULT_PRUNING,
) -> PartitionResult:
    """One whole partition (also the worker-process entry)."""
    gen = search_with_groups(part, model, deadline, verbose, index, pruning)
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return stop.value


def _round_robin(
    parts: list[list[Operation]], model: Model, deadline: float | None, verbose: bool,
    pruning: Pruning, until: float | None = None,
) -> tuple[list[PartitionResult], list[int]]:
    """Advance all partitions with a doubling node budget; stop at the first failure.

    One illegal partition decides the verdict, and failures are often found quickly, so
    this avoids spending the whole budget on a hard partition first. Partitions left
    unfinished after a failure are not reported. Past ``until`` (a time.monotonic() value),
    if two or more partitions are unfinished, their indices are returned instead.
    """
    gens = {i: search_with_groups(p, model, deadline, verbose, i, pruning)
            for i, p in enumerate(parts)}
    done: dict[int, PartitionResult] = {}
    budget = 1
    while gens:
        for i in list(gens):
            if until is not None and len(gens) > 1 and time.monotonic() > until:
                for g in gens.values():
                    g.close()
                return [done[k] for k in sorted(done)], sorted(gens)
            gen = gens[i]
            try:
                for _ in range(budget):
                    next(gen)
            except StopIteration as stop:
                del gens[i]
                done[i] = stop.value
                if stop.value.verdict is Verdict.ILLEGAL:
                    for g in gens.values():
                        g.close()
                    return [done[k] for k in sorted(done)], []
        budget *= 2
    return [done[k] for k in sorted(done)], []


def _picklable(obj: Any) -> bool:
    try:
        pickle.dumps(obj)
    except Exception:
        return False
    return True


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
    return _run_partition(list(history), model, deadline, verbose, 0, pruning)
