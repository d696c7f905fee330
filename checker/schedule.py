"""Scheduling partitions: round-robin in this process, then worker processes for the hard ones.

One illegal partition decides the verdict and failures are often found quickly, so
partitions advance in turn with a doubling node budget and the check stops at the first
failure (rule 7): an easy failure is not hidden behind a hard partition. Partitions still
unfinished after ``PROCESS_AFTER`` seconds move to worker processes when two or more of them
are hard (they have searched more than ``HARD_NODES_PER_OP`` nodes per operation) and the
machine has more than one CPU, so quick checks, which are most, never pay the process
start-up cost, and neither do long histories of many easy partitions (10^6 kv operations on
1,000 keys: sent to workers, 18-20 s of wall and 18 s of CPU in all; kept here, 9-14 s and
9-10 s of CPU, on this shared 2-core machine).
"""

from __future__ import annotations

import os
import pickle
import time
from collections.abc import Callable
from typing import Any

from .components import search_with_groups
from .history import Operation
from .models import Model
from .results import DEFAULT_PRUNING, PartitionResult, Pruning, Verdict

__all__ = ["HARD_NODES_PER_OP", "PROCESS_AFTER", "Report", "run_partition", "run_partitions"]

#: A progress callback: (partitions decided, partitions, the one searched or None, its nodes).
Report = Callable[[int, int, int | None, int], None]

#: Partitions still unfinished after this many seconds of in-process search move to worker
#: processes (when there are several and more than one CPU).
PROCESS_AFTER = 2.0
#: A partition is hard once its search has visited more nodes than this per operation (a
#: search that goes straight through visits about one).
HARD_NODES_PER_OP = 4


def run_partitions(
    parts: list[list[Operation]], model: Model, deadline: float | None, verbose: bool,
    pruning: Pruning, workers: int | None, report: Report | None = None,
) -> list[PartitionResult]:
    """Search every partition (``deadline``: a time.monotonic() value); the results in
    partition order, only up to the first illegal one's when one is found.

    ``workers`` forces the number of worker processes (1: all in this process); by default
    the hard partitions move to processes after ``PROCESS_AFTER`` seconds. ``report``, when
    given, is called at every pause of a search and every verdict."""
    cpus = os.cpu_count() or 1
    if workers is not None and workers > 1 and len(parts) > 1 and _picklable(model):
        return _in_processes(parts, list(range(len(parts))), model, deadline, verbose,
                             pruning, min(workers, len(parts)), report)
    if not pruning.round_robin and len(parts) > 1:
        results: list[PartitionResult] = []
        for i, p in enumerate(parts):
            r = run_partition(p, model, deadline, verbose, i, pruning)
            results.append(r)
            if report is not None:
                report(i + 1, len(parts), None, 0)
            if r.verdict is Verdict.ILLEGAL:
                break
        return results
    handoff = workers is None and cpus > 1 and len(parts) > 1 and _picklable(model)
    until = time.monotonic() + PROCESS_AFTER if handoff else None
    results, left = _round_robin(parts, model, deadline, verbose, pruning, until, report)
    if left:  # several hard partitions: search them in parallel from scratch
        results += _in_processes(parts, left, model, deadline, verbose, pruning,
                                 min(cpus, len(left)), report, len(results))
        results.sort(key=lambda r: r.index)
    return results


def run_partition(
    part: list[Operation], model: Model, deadline: float | None, verbose: bool, index: int,
    pruning: Pruning = DEFAULT_PRUNING,
) -> PartitionResult:
    """One whole partition, without pauses (also the worker-process entry)."""
    gen = search_with_groups(part, model, deadline, verbose, index, pruning)
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return stop.value


def _in_processes(
    parts: list[list[Operation]], which: list[int], model: Model, deadline: float | None,
    verbose: bool, pruning: Pruning, workers: int, report: Report | None = None,
    decided: int = 0,
) -> list[PartitionResult]:
    """Partitions ``which`` in worker processes, largest first; a failure stops the rest
    (``decided``: how many other partitions already have a verdict, for ``report``)."""
    order = sorted(which, key=lambda i: -len(parts[i]))
    jobs = [(parts[i], model, deadline, verbose, i, pruning) for i in order]
    results: list[PartitionResult] = []
    import multiprocessing  # here: most checks never start a process (start-up time)

    with multiprocessing.get_context().Pool(workers) as pool:
        for r in pool.imap_unordered(_run_job, jobs):
            results.append(r)
            if report is not None:
                report(decided + len(results), len(parts), None, 0)
            if r.verdict is Verdict.ILLEGAL:
                pool.terminate()  # stop the workers still searching
                break
    return sorted(results, key=lambda r: r.index)


def _run_job(job: tuple[Any, ...]) -> PartitionResult:
    r = run_partition(*job)
    if not job[3]:
        r.ops = []  # not verbose: spare sending the history back
    return r


def _round_robin(
    parts: list[list[Operation]], model: Model, deadline: float | None, verbose: bool,
    pruning: Pruning, until: float | None = None, report: Report | None = None,
) -> tuple[list[PartitionResult], list[int]]:
    """Advance all partitions with a doubling node budget; stop at the first failure.

    Partitions left unfinished after a failure are not reported. Past ``until`` (a
    time.monotonic() value), if two or more partitions are unfinished, their indices are
    returned instead.
    """
    gens = {i: search_with_groups(p, model, deadline, verbose, i, pruning)
            for i, p in enumerate(parts)}
    done: dict[int, PartitionResult] = {}
    nodes = dict.fromkeys(gens, 0)
    budget = 1
    while gens:
        for i in list(gens):
            if until is not None and len(gens) > 1 and time.monotonic() > until:
                if _hard(parts, gens, nodes) >= 2:
                    for g in gens.values():
                        g.close()
                    return [done[k] for k in sorted(done)], sorted(gens)
                until = time.monotonic() + max(PROCESS_AFTER, 0.0)  # look again later
            gen = gens[i]
            try:
                if report is None:
                    for _ in range(budget):
                        nodes[i] = next(gen)
                else:
                    for _ in range(budget):
                        nodes[i] = next(gen)
                        report(len(done), len(parts), i, nodes[i])
            except StopIteration as stop:
                del gens[i]
                done[i] = stop.value
                if report is not None:
                    report(len(done), len(parts), None, 0)
                if stop.value.verdict is Verdict.ILLEGAL:
                    for g in gens.values():
                        g.close()
                    return [done[k] for k in sorted(done)], []
        budget *= 2
    return [done[k] for k in sorted(done)], []


def _hard(parts: list[list[Operation]], unfinished: Any, nodes: dict[int, int]) -> int:
    """How many of the ``unfinished`` partitions have searched more than
    ``HARD_NODES_PER_OP`` nodes per operation."""
    return sum(nodes[i] > HARD_NODES_PER_OP * len(parts[i]) for i in unfinished)


def _picklable(obj: Any) -> bool:
    try:
        pickle.dumps(obj)
    except Exception:
        return False
    return True
