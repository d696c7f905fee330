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

import json
import math
import multiprocessing
import os
import pickle
import time
from bisect import bisect_left
from collections import deque
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .components import Groups, Witness, discover, explains, merge_orders, replay
from .history import UNKNOWN, Operation
from .models import Model, get_model

__all__ = ["CheckResult", "PartitionResult", "Pruning", "Verdict", "check", "check_partition"]

#: Partitions still unfinished after this many seconds of in-process search move to worker
#: processes (when there are several and more than one CPU): quick checks, which are most,
#: never pay the process start-up cost.
PROCESS_AFTER = 2.0
_OBSERVES_BUDGET = 3_000_000  # at most this many observes() calls per partition
#: How many distinct longest partial linearizations verbose mode keeps per partition.
MAX_LONGEST = 8
#: Rule 8 gives up (the plain search goes on alone) once one group holds more than this
#: share of the operations: searching it would redo the plain search's work.
MOST_IN_ONE_GROUP = 0.75


@dataclass(frozen=True)
class Pruning:
    """Switches for the pruning rules (all on by default); for measuring what each is worth.

    Every rule keeps verdicts exact; turning one off only makes some searches slower.
    """

    read_absorption: bool = True
    skip_open_noops: bool = True
    identical_candidates: bool = True
    open_subsets: bool = True
    dead_reads: bool = True  # the model's may_become/is_reset hints
    lookahead: int = 2  # reads of each kind, called after the candidates, asked may_become
    unseen_open: bool = True  # the model's observes hint: skip open ops no read shows
    round_robin: bool = True  # interleave partitions, stop at the first failure
    components: bool = True  # rule 8: split a hard search into observed-independent groups
    components_after: int = 2048  # search nodes of the plain search before rule 8 starts


DEFAULT_PRUNING = Pruning()
_CLOCK_EVERY = 512  # nodes between two looks at the clock


class Verdict(StrEnum):
    """Outcome of a check; the values are the strings used in reports and JSON."""

    OK = "ok"
    ILLEGAL = "illegal"
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return self.value


@dataclass
class PartitionResult:
    """What the search found in one partition.

    ``ops`` is the partition's history sorted by call time; the indices below refer to it.
    ``linearizations`` are the longest partial linearizations found (the full one for an
    OK partition), as lists of (op index, state after the op). ``stuck`` are the operations
    that real time allowed next at the end of the longest one but the model refused;
    ``blocking`` is the completed operation whose return bounds that point, and
    ``fail_time`` its return time: no linearization gets past it. ``stuck`` also names the
    first read called later that can no longer succeed, when that is what ended the search.
    ``index`` is the partition's position in the model's partitioning. ``components`` is
    the number of independent groups the verdict came from (rule 8), 1 for a plain search.
    """

    ops: list[Operation]
    verdict: Verdict
    linearizations: list[list[tuple[int, Any]]] = field(default_factory=list)
    stuck: list[int] = field(default_factory=list)
    blocking: int | None = None
    fail_time: float | None = None
    nodes: int = 0
    elapsed: float = 0.0
    index: int = 0
    components: int = 1


@dataclass
class CheckResult:
    """Overall verdict, plus per-partition details when ``verbose`` was asked for."""

    verdict: Verdict
    partitions: list[PartitionResult]
    elapsed: float
    nodes: int
    n_ops: int
    n_partitions: int

    @property
    def ok(self) -> bool:
        """True only for a proven-linearizable history."""
        return self.verdict is Verdict.OK


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

    verdicts = {r.verdict for r in results}
    if Verdict.ILLEGAL in verdicts:
        verdict = Verdict.ILLEGAL
    elif Verdict.UNKNOWN in verdicts:
        verdict = Verdict.UNKNOWN
    else:
        verdict = Verdict.OK
    return CheckResult(
        verdict=verdict,
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
    gen = _search_split(part, model, deadline, verbose, index, pruning)
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
    gens = {i: _search_split(p, model, deadline, verbose, i, pruning)
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


def _freeze(value: Any) -> Any:
    """A hashable stand-in for a JSON-like value, used to spot identical operations.

    Equal values (by ``==``, as the search cache compares states) give equal results.
    """
    if type(value) is dict:
        try:
            return frozenset(value.items())  # the common case: scalar values
        except TypeError:
            return ("{", frozenset((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return ("[", tuple(_freeze(v) for v in value))
    if isinstance(value, dict):
        return ("{", frozenset((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, set | frozenset):
        try:
            return ("#", frozenset(value))
        except TypeError:
            return ("#", tuple(sorted(repr(_freeze(v)) for v in value)))
    try:
        hash(value)
    except TypeError:
        return ("?", json.dumps(value, sort_keys=True, default=repr))
    return value


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


def _search_split(
    part: Sequence[Operation], model: Model, deadline: float | None, verbose: bool,
    index: int, pruning: Pruning = DEFAULT_PRUNING,
) -> Generator[int, None, PartitionResult]:
    """The plain search, joined by rule 8 (independent groups) once it has searched
    ``pruning.components_after`` nodes: from then on both advance in turn with a doubling
    budget and the first verdict wins (both are exact). Quick checks never pay for rule 8."""
    start = time.monotonic()
    plain = _search(part, model, deadline, verbose, index, pruning)
    if not pruning.components or len(part) < 3:
        return (yield from plain)
    plain_nodes = split_nodes = 0
    try:
        while plain_nodes < pruning.components_after:
            plain_nodes = next(plain)
            yield plain_nodes
    except StopIteration as stop:
        return stop.value
    split: Generator[int, None, PartitionResult | None] | None = _split(
        part, model, deadline, verbose, index, pruning)
    budget = 1
    while True:
        if split is not None:
            try:
                for _ in range(budget):
                    split_nodes = next(split)
                    yield plain_nodes + split_nodes
            except StopIteration as stop:
                split = None
                if stop.value is not None:
                    plain.close()
                    res = stop.value
                    res.nodes += plain_nodes
                    res.elapsed = time.monotonic() - start
                    return res
        try:
            for _ in range(budget if split is not None else 1 << 62):
                plain_nodes = next(plain)
                yield plain_nodes + split_nodes
        except StopIteration as stop:
            if split is not None:
                split.close()
            res = stop.value
            res.nodes += split_nodes
            res.elapsed = time.monotonic() - start
            return res
        budget *= 2


def _split(
    part: Sequence[Operation], model: Model, deadline: float | None, verbose: bool,
    index: int, pruning: Pruning,
) -> Generator[int, None, PartitionResult | None]:
    """Rule 8: check groups of operations that looked independent, then certify.

    The groups come from ``components.discover`` (operations that failed to commute at a
    state met are joined). Each group is searched alone, all in turn with a doubling budget;
    then
    * all groups linearizable: their linearizations are merged into one order of the whole
      history and replayed through the model; a valid replay proves the verdict OK;
    * a group G not linearizable: G's operations stay completed and all the others become
      open (they may or may not have taken effect, output unknown). That relaxation only adds
      linearizations, so when it is still not linearizable, neither is the history: ILLEGAL.
    Otherwise the guess was wrong somewhere and groups are merged: a failed group with one
    whose linearization changes whether its stuck operations are allowed (``explains``), or
    with the groups of the operations its relaxed linearization needed; a failed replay's
    group with the groups interleaved before it. Returns None (let the plain search decide)
    once one group holds more than ``MOST_IN_ONE_GROUP`` of the operations. Yields the nodes
    searched so far.
    """
    start = time.monotonic()
    ops = sorted(part, key=lambda op: op.call)
    n = len(ops)
    calls = [op.call for op in ops]
    rets = [math.inf if op.ret is None else op.ret for op in ops]
    inputs = [op.input for op in ops]
    outputs = [UNKNOWN if op.ret is None else op.output for op in ops]
    step = model.step
    init = model.init()
    may_become = getattr(model, "may_become", None)
    if getattr(may_become, "__func__", None) is Model.may_become:
        may_become = None
    read_only = getattr(model, "is_read_only", None)

    def reader(i: int) -> bool:
        return read_only is not None and rets[i] != math.inf and bool(
            read_only(inputs[i], outputs[i]))

    comps = dict(enumerate(discover(step, init, calls, rets, inputs, outputs, deadline)))
    most = n * MOST_IN_ONE_GROUP
    if len(comps) < 2 or max(map(len, comps.values())) > most:
        return None  # one group holds nearly everything: the plain search is as good
    group_of = [0] * n
    next_id = 0
    done: dict[int, PartitionResult] = {}  # finished group searches
    witnesses: dict[int, Witness] = {}
    pending: set[int] = set()  # failed groups not relaxed or merged yet
    asked: dict[int, set[int]] = {}  # failed group -> groups whose witness was asked
    kept_of: dict[int, list[int]] = {}  # relaxed search of a failed group -> its operations
    active: dict[tuple[str, int], Generator[int, None, PartitionResult]] = {}
    counts: dict[tuple[str, int], int] = {}
    nodes = 0
    fresh: list[tuple[str, int]] = []  # groups started since the queue was last filled

    def start_group(members: list[int]) -> None:
        nonlocal next_id
        cid = next_id
        next_id += 1
        comps[cid] = members
        for i in members:
            group_of[i] = cid
        active["g", cid] = _search([ops[i] for i in members], model, deadline, True, cid,
                                   pruning)
        fresh.append(("g", cid))

    def start_relaxed(cid: int) -> None:
        pending.discard(cid)
        members = set(comps[cid])
        # operations called after the group's last return cannot help it: left out
        last = max((rets[i] for i in members if rets[i] != math.inf), default=-math.inf)
        kept = kept_of[cid] = [i for i in range(n) if i in members or calls[i] <= last]
        relaxed = [ops[i] if i in members else
                   Operation(ops[i].client, ops[i].input, None, ops[i].call, None, ops[i].meta)
                   for i in kept]
        active["r", cid] = _search(relaxed, model, deadline, True, index, pruning)

    def abandon(key: tuple[str, int]) -> None:
        """Abandon a search (its nodes still count)."""
        nonlocal nodes
        active.pop(key).close()
        nodes += counts.pop(key, 0)

    def merge(sets: list[set[int]]) -> None:
        """Merge the groups of each set of group ids (overlapping sets join up)."""
        ids = sorted(comps)
        pos = {c: k for k, c in enumerate(ids)}
        uf = Groups(len(ids))
        for group_ids in sets:
            first, *rest = group_ids
            for c in rest:
                uf.union(pos[first], pos[c])
        for together in uf.groups():
            if len(together) < 2:
                continue
            members: list[int] = []
            for k in together:
                c = ids[k]
                members += comps.pop(c)
                for key in (("g", c), ("r", c)):
                    if key in active:
                        abandon(key)
                for table in (done, witnesses, kept_of, asked):
                    table.pop(c, None)
                pending.discard(c)
            start_group(sorted(members))

    def finish(verdict: Verdict, failed: int | None = None) -> PartitionResult:
        """The partition's result; for ILLEGAL, the failed group's own: its operations, its
        longest partial linearizations and what stopped them (the group is not linearizable
        even with every other operation open)."""
        for key in list(active):
            abandon(key)
        if failed is None:
            out = PartitionResult(ops=ops, verdict=verdict, index=index)
        else:
            out = done[failed]
            out.ops = [ops[i] for i in comps[failed]]
            out.index = index
            out.verdict = verdict
            if not verbose:
                out.linearizations, out.stuck = [], []
                out.blocking = out.fail_time = None
        out.nodes = nodes
        out.components = len(comps)
        out.elapsed = time.monotonic() - start
        return out

    def handle_failures() -> None:
        """Join failed groups with a group whose witness seems to affect their stuck
        operations; relax the largest of the others (one relaxed search at a time)."""
        pairs: list[set[int]] = []
        for cid in pending:
            r = done[cid]
            stuck = {comps[cid][k] for k in r.stuck}
            if r.blocking is not None:
                stuck.add(comps[cid][r.blocking])
            tried = asked.setdefault(cid, set())
            for other, w in witnesses.items():
                if other == cid or other in tried or not w.changes:
                    continue
                tried.add(other)
                if any(explains(step, w, inputs[i], outputs[i], calls[i], rets[i],
                                may_become if reader(i) else None) for i in stuck):
                    pairs.append({cid, other})
                    break
        if pairs:
            merge(pairs)
        if not pending:
            return
        # one relaxed search at a time, of the largest failed group (a small failed group
        # is more often one that misses another group's operations): a larger one preempts
        biggest = max(pending, key=lambda c: (len(comps[c]), -c))
        running = [c for kind, c in active if kind == "r"]
        if running and len(comps[running[0]]) < len(comps[biggest]):
            abandon(("r", running[0]))
            pending.add(running[0])
            running = []
        if not running:
            start_relaxed(biggest)

    groups = list(comps.values())
    comps.clear()
    for members in groups:
        start_group(members)
    budget = 1
    queue = deque(active)
    fresh.clear()
    while len(comps) > 1 and max(map(len, comps.values())) <= most:
        if not queue:  # end of a pass
            if pending:
                handle_failures()
            if not active:
                # every group is linearizable: merge their linearizations and replay
                orders = [[comps[cid][k] for k, _ in done[cid].linearizations[0]]
                          for cid in comps]
                order = merge_orders(orders, calls)
                path, bad = replay(step, init, order, calls, rets, inputs, outputs)
                if bad is None:
                    res = PartitionResult(ops=ops, verdict=Verdict.OK, nodes=nodes,
                                          index=index, linearizations=[path] if verbose else [],
                                          components=len(comps))
                    res.elapsed = time.monotonic() - start
                    return res
                # join the failing group with those interleaved since its previous operation
                mine = group_of[order[min(bad, len(order) - 1)]]
                prev = max((q for q in range(bad) if group_of[order[q]] == mine), default=-1)
                between = {group_of[order[q]] for q in range(prev + 1, bad)} - {mine}
                if not between:
                    break
                merge([between | {mine}])
            else:
                budget *= 2
            queue = deque(sorted(active, key=lambda k: k[0] != "r"))  # relaxed first
            fresh.clear()
            continue
        key = queue.popleft()
        gen = active.get(key)
        if gen is None:  # closed by a merge
            continue
        try:
            for _ in range(budget):
                counts[key] = next(gen)
                yield nodes + sum(counts.values())
            continue
        except StopIteration as stop:
            res = stop.value
        del active[key]
        counts.pop(key, None)
        nodes += res.nodes
        kind, cid = key
        if res.verdict is Verdict.UNKNOWN:
            return finish(Verdict.UNKNOWN)
        if kind == "r":
            if res.verdict is Verdict.ILLEGAL:
                return finish(Verdict.ILLEGAL, cid)
            kept = kept_of[cid]  # join the groups whose operations it needed
            needed = {cid} | {group_of[kept[k]] for k, _ in res.linearizations[0]}
            if len(needed) < 2:  # cannot happen (the group alone failed); be safe
                break
            merge([needed])
        else:
            done[cid] = res
            if res.verdict is Verdict.ILLEGAL:
                pending.add(cid)
            # its (longest partial) linearization: states that may explain other failures
            witnesses[cid] = Witness([(comps[cid][k], st) for k, st in
                                      (res.linearizations or [[]])[0]], init, calls, rets)
        queue.extend(fresh)  # groups merged by this result: searched in this pass too
        fresh.clear()
    for key in list(active):
        abandon(key)
    return None


def _search(
    history: Sequence[Operation], model: Model, deadline: float | None, verbose: bool,
    index: int, pruning: Pruning = DEFAULT_PRUNING,
) -> Generator[int, None, PartitionResult]:
    """The search itself, as a generator that pauses every ``_CLOCK_EVERY`` nodes (it
    yields the nodes searched so far).

    Pausing lets ``check`` interleave partitions, so an easy failing partition is found
    without first finishing a hard one.
    """
    start = time.monotonic()
    ops = sorted(history, key=lambda op: op.call)
    n = len(ops)
    inf = math.inf
    calls = [op.call for op in ops]
    rets = [inf if op.ret is None else op.ret for op in ops]
    is_open = [op.ret is None for op in ops]
    inputs = [op.input for op in ops]
    outputs = [UNKNOWN if op.ret is None else op.output for op in ops]
    class_of: dict[Any, int] = {}
    cls = [class_of.setdefault((_freeze(op.input), o is UNKNOWN, _freeze(o)), len(class_of))
           for op, o in zip(ops, outputs, strict=True)]
    ret_order = sorted((i for i in range(n) if not is_open[i]), key=lambda i: (rets[i], i))
    n_c = len(ret_order)
    open_mask = 0
    for i in range(n):
        if is_open[i]:
            open_mask |= 1 << i
    has_open = open_mask != 0 and pruning.open_subsets
    skip_open_noops = pruning.skip_open_noops
    lookahead = pruning.lookahead
    step = model.step
    may_become = getattr(model, "may_become", None)
    prune = (pruning.dead_reads and may_become is not None
             and getattr(may_become, "__func__", None) is not Model.may_become)
    ro = getattr(model, "is_read_only", None)
    reader = [False if is_open[i] or ro is None else bool(ro(inputs[i], outputs[i]))
              for i in range(n)]
    read_only = reader if pruning.read_absorption else [False] * n
    # Open operations whose effect no read could show are never tried: in any valid order
    # they either did not take effect or were overwritten unseen, so they can be left out.
    unseen = [False] * n
    observes = getattr(model, "observes", None)
    if (pruning.unseen_open and observes is not None and open_mask
            and getattr(observes, "__func__", None) is not Model.observes):
        reads = [i for i in range(n) if reader[i]]
        budget = _OBSERVES_BUDGET  # bounds the cost on huge histories (then: no pruning)
        for i in range(n):
            if is_open[i] and budget > 0:
                budget -= len(reads)
                unseen[i] = budget > 0 and not any(
                    rets[r] >= calls[i] and observes(inputs[i], inputs[r], outputs[r])
                    for r in reads)
    overwrites = getattr(model, "overwrites", None)
    relevant: dict[Any, list[int]] = {}  # read input -> operations overwriting what it sees
    frozen_inputs: dict[int, Any] = {}
    kinds: dict[Any, list[int]] = {}
    if prune and lookahead > 0:
        for i in range(n):
            if reader[i]:
                fi = frozen_inputs[i] = _freeze(inputs[i])
                kinds.setdefault(fi, []).append(i)
    read_kinds = list(kinds.values())
    if not pruning.identical_candidates:
        cls = list(range(n))
    lin = bytearray(n)

    def reset_pending(j: int, state: Any) -> bool:
        """Whether an unlinearized operation overwriting what read ``j`` observes can still
        be placed before ``j`` returns, and leave a state from which ``j`` may succeed."""
        fj = frozen_inputs.get(j)
        if fj is None:
            fj = frozen_inputs[j] = _freeze(inputs[j])
        ks = relevant.get(fj)
        if ks is None:
            inp = inputs[j]
            ks = relevant[fj] = [] if overwrites is None else [
                k for k in range(n) if overwrites(inputs[k], inp)]
        t = rets[j]
        for k in ks:
            if calls[k] > t:
                return False
            if not lin[k]:
                ok, ns = step(state, inputs[k], outputs[k])
                if ok and may_become(ns, inputs[j], outputs[j]):
                    return True
        return False

    def expand(s_bits: int, state: Any, p_call: int, p_ret: int, added: list[int]):
        """Absorb no-ops, then list the children.

        Returns (status, bits, p_call, p_ret, kids) with status 1 when every completed
        operation is linearized, -1 when the node is dead, 0 otherwise.
        """
        while p_ret < n_c and lin[ret_order[p_ret]]:
            p_ret += 1
        if p_ret == n_c:
            return 1, s_bits, p_call, p_ret, None
        minret = rets[ret_order[p_ret]]
        while p_call < n and lin[p_call]:
            p_call += 1
        kids: list[tuple[int, Any]] = []
        by_class: dict[int, int] = {}
        j = p_call
        while True:
            absorbed = False
            while j < n and calls[j] <= minret:
                if not lin[j] and not unseen[j]:
                    ok, ns = step(state, inputs[j], outputs[j])
                    if ok:
                        if ns == state and ((is_open[j] and skip_open_noops) or read_only[j]):
                            if not is_open[j]:
                                lin[j] = 1
                                s_bits |= 1 << j
                                added.append(j)
                                absorbed = True
                        else:
                            c = cls[j]
                            k = by_class.get(c)
                            if k is None:
                                by_class[c] = len(kids)
                                kids.append((j, ns))
                            elif rets[j] < rets[kids[k][0]]:
                                kids[k] = (j, ns)
                    elif (prune and reader[j] and not may_become(state, inputs[j], outputs[j])
                          and not reset_pending(j, state)):
                        return -1, s_bits, p_call, p_ret, None
                j += 1
            if not absorbed:
                break
            while p_ret < n_c and lin[ret_order[p_ret]]:
                p_ret += 1
            if p_ret == n_c:
                return 1, s_bits, p_call, p_ret, None
            minret = rets[ret_order[p_ret]]
        if prune:
            # Reads called later still constrain the present: a read that will see an
            # extension of today's value (say) fails now unless an overwrite can come first.
            # The next few reads of each kind (same input: same key, say) are asked.
            for reads in read_kinds:
                a = bisect_left(reads, j)
                for q in reads[a:a + lookahead]:
                    if (not may_become(state, inputs[q], outputs[q])
                            and not reset_pending(q, state)):
                        return -1, s_bits, p_call, p_ret, None
        if len(kids) > 1:
            kids.sort(key=lambda kid: (rets[kid[0]], kid[0]))
        return 0, s_bits, p_call, p_ret, kids

    init = model.init()
    nodes = 1
    best_depth = -1
    longest: list[list[tuple[int, Any]]] = []
    best_node: tuple[int, Any, int] | None = None
    result_verdict = Verdict.ILLEGAL

    root_added: list[int] = []
    status, s0, pc0, pr0, kids0 = expand(0, init, 0, 0, root_added)
    done = status == 1
    if status == -1:
        kids0 = []
    # frame: [bits, state, p_call, p_ret, kids, next kid, ops set by this frame]
    stack: list[list[Any]] = [[s0, init, pc0, pr0, kids0, 0, root_added]]

    def path_of(frames: list[list[Any]]) -> list[tuple[int, Any]]:
        return [(j, fr[1]) for fr in frames for j in fr[6]]

    live = 0  # stack length at the deepest node while it is still on the stack, else 0

    def explain(res: PartitionResult, bits: int, state: Any, p_ret: int) -> None:
        """What could not go on at the end of the longest partial linearization: the
        operations real time allows next that the model refuses, and the reads called later
        that can no longer succeed (dead-read pruning)."""
        saved = bytes(lin)
        for i in range(n):
            lin[i] = (bits >> i) & 1
        while p_ret < n_c and lin[ret_order[p_ret]]:
            p_ret += 1
        if p_ret < n_c:
            blocking = ret_order[p_ret]
            res.blocking, res.fail_time = blocking, rets[blocking]
            for j in range(n):
                if not lin[j] and calls[j] <= rets[blocking]:
                    if not step(state, inputs[j], outputs[j])[0]:
                        res.stuck.append(j)
            if prune:
                for j in range(n):
                    if (reader[j] and not lin[j] and calls[j] > rets[blocking]
                            and not may_become(state, inputs[j], outputs[j])
                            and not reset_pending(j, state)):
                        res.stuck.append(j)
                        break
        lin[:] = saved

    def note(bits: int, state: Any, p_ret: int) -> None:
        """Keep the longest partial linearizations (the current stack's path).

        A new deepest node is copied only when the search backtracks past it (see
        ``leaving``): going ever deeper then costs nothing.
        """
        nonlocal best_depth, longest, best_node, live
        depth = bits.bit_count()
        if depth > best_depth:
            best_depth = depth
            longest = []
            best_node = (bits, state, p_ret)
            live = len(stack)
        elif depth == best_depth and len(longest) + (live > 0) < MAX_LONGEST:
            longest.append(path_of(stack))

    def leaving() -> None:
        """Called before popping the stack: save the deepest path if it is being left."""
        nonlocal live
        if live and len(stack) == live:
            longest.insert(0, path_of(stack))
            live = 0

    if done:
        result_verdict = Verdict.OK
        if verbose:
            longest = [path_of(stack)]
    else:
        visited: set[tuple[int, Any]] = {(s0, init)}
        dom: dict[tuple[int, Any], list[int]] = {}
        not_open = ~open_mask
        if verbose:
            note(s0, init, pr0)
        while stack:
            fr = stack[-1]
            kids = fr[4]
            k = fr[5]
            if k == len(kids):
                if verbose:
                    leaving()
                stack.pop()
                for j in fr[6]:
                    lin[j] = 0
                if has_open:
                    bits = fr[0]
                    dom.setdefault((bits & not_open, fr[1]), []).append(bits & open_mask)
                continue
            fr[5] = k + 1
            j, ns = kids[k]
            bits = fr[0] | (1 << j)
            key = (bits, ns)
            if key in visited:
                continue
            if has_open:
                seen = dom.get((bits & not_open, ns))
                if seen is not None:
                    o = bits & open_mask
                    if any((o1 | o) == o for o1 in seen):
                        continue
            visited.add(key)
            nodes += 1
            if nodes % _CLOCK_EVERY == 0:
                if deadline is not None and time.monotonic() > deadline:
                    result_verdict = Verdict.UNKNOWN
                    break
                yield nodes
            lin[j] = 1
            added = [j]
            status, bits2, pc, pr, kids2 = expand(bits, ns, fr[2], fr[3], added)
            if status == -1:
                if verbose:  # a dead end is still a partial linearization worth showing
                    stack.append([bits2, ns, pc, pr, [], 0, added])
                    note(bits2, ns, pr)
                    leaving()
                    stack.pop()
                for x in added:
                    lin[x] = 0
                continue
            if status == 1:
                stack.append([bits2, ns, pc, pr, [], 0, added])
                result_verdict = Verdict.OK
                break
            if bits2 != bits:
                key = (bits2, ns)
                pruned = key in visited
                if not pruned and has_open:
                    seen = dom.get((bits2 & not_open, ns))
                    if seen is not None:
                        o = bits2 & open_mask
                        pruned = any((o1 | o) == o for o1 in seen)
                if pruned:
                    for x in added:
                        lin[x] = 0
                    continue
                visited.add(key)
            stack.append([bits2, ns, pc, pr, kids2, 0, added])
            if verbose:
                note(bits2, ns, pr)

    res = PartitionResult(ops=ops, verdict=result_verdict, nodes=nodes, index=index)
    if verbose:
        if result_verdict is Verdict.OK:
            res.linearizations = [path_of(stack)]
        else:
            if live:  # timed out while the deepest node was still on the stack
                longest.insert(0, path_of(stack[:live]))
            res.linearizations = longest
            if best_node is not None:
                explain(res, *best_node)
    res.elapsed = time.monotonic() - start
    return res
