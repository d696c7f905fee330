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

Histories are split by the model's ``partition`` (P-compositionality) and the parts checked
independently; worker processes are used only for large histories.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import time
from collections.abc import Generator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .history import UNKNOWN, Operation
from .models import Model, get_model

__all__ = ["CheckResult", "PartitionResult", "Verdict", "check", "check_partition"]

#: Histories with at least this many operations (and more than one partition) are
#: checked in worker processes; smaller ones never pay the process start-up cost.
PROCESS_THRESHOLD = 20_000
#: How many distinct longest partial linearizations verbose mode keeps per partition.
MAX_LONGEST = 8
#: How many operations called after the candidates are asked ``may_become`` at each node.
LOOKAHEAD = 4
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
    ``fail_time`` its return time: no linearization gets past it. ``index`` is the
    partition's position in the model's partitioning.
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
) -> CheckResult:
    """Decide whether ``history`` is linearizable with respect to ``model``.

    ``timeout`` (seconds, for the whole history) turns an unfinished search into
    ``Verdict.UNKNOWN``. ``verbose`` keeps, per partition, the longest partial
    linearizations and what blocked them (the full linearization for OK partitions).
    Partitions are searched round-robin and the search stops at the first illegal one, so
    ``partitions`` then lists only the partitions that finished.
    ``partition=False`` ignores the model's partitioning. ``workers`` forces the number of
    worker processes (1 = in this process); by default processes are used only for large
    histories with several partitions.
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

    if workers is None:
        use = min(len(parts), os.cpu_count() or 1) if len(ops) >= PROCESS_THRESHOLD else 1
    else:
        use = min(max(1, workers), len(parts))
    if use > 1 and not _picklable(m):
        use = 1

    results: list[PartitionResult] = []
    if use <= 1:
        results = _round_robin(parts, m, deadline, verbose)
    else:
        with ProcessPoolExecutor(max_workers=use) as pool:
            futs = [pool.submit(_run_partition, p, m, deadline, verbose, i)
                    for i, p in enumerate(parts)]
            for f in futs:
                r = f.result()
                results.append(r)
                if r.verdict is Verdict.ILLEGAL and not verbose:
                    pool.shutdown(cancel_futures=True)
                    break

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


def _run_partition(
    part: list[Operation], model: Model, deadline: float | None, verbose: bool, index: int
) -> PartitionResult:
    """Worker-process entry: one whole partition."""
    gen = _search(part, model, deadline, verbose, index)
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return stop.value


def _round_robin(
    parts: list[list[Operation]], model: Model, deadline: float | None, verbose: bool
) -> list[PartitionResult]:
    """Advance all partitions with a doubling node budget; stop at the first failure.

    One illegal partition decides the verdict, and failures are often found quickly, so
    this avoids spending the whole budget on a hard partition first. Partitions left
    unfinished are not reported.
    """
    gens = {i: _search(p, model, deadline, verbose, i) for i, p in enumerate(parts)}
    done: dict[int, PartitionResult] = {}
    budget = 1
    while gens:
        for i in list(gens):
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
                    return [done[k] for k in sorted(done)]
        budget *= 2
    return [done[k] for k in sorted(done)]


def _picklable(obj: Any) -> bool:
    try:
        pickle.dumps(obj)
    except Exception:
        return False
    return True


def _freeze(value: Any) -> Any:
    """A hashable stand-in for a JSON-like value, used to spot identical operations."""
    if isinstance(value, dict):
        return ("{", tuple(sorted(((repr(k), _freeze(v)) for k, v in value.items()))))
    if isinstance(value, list | tuple):
        return ("[", tuple(_freeze(v) for v in value))
    if isinstance(value, set | frozenset):
        return ("#", tuple(sorted(repr(_freeze(v)) for v in value)))
    try:
        hash(value)
    except TypeError:
        return ("?", json.dumps(value, sort_keys=True, default=repr))
    return (type(value).__name__, value)


def check_partition(
    history: Sequence[Operation],
    model: Model,
    *,
    deadline: float | None = None,
    verbose: bool = False,
) -> PartitionResult:
    """Search one partition (no further splitting); ``deadline`` is a time.monotonic() value."""
    return _run_partition(list(history), model, deadline, verbose, 0)


def _search(
    history: Sequence[Operation], model: Model, deadline: float | None, verbose: bool,
    index: int,
) -> Generator[None, None, PartitionResult]:
    """The search itself, as a generator that pauses every ``_CLOCK_EVERY`` nodes.

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
    has_open = open_mask != 0
    step = model.step
    may_become = getattr(model, "may_become", None)
    prune = (may_become is not None
             and getattr(type(model), "may_become", None) is not Model.may_become)
    is_reset = getattr(model, "is_reset", None)
    resets = [i for i in range(n) if prune and is_reset is not None and is_reset(inputs[i])]
    ro = getattr(model, "is_read_only", None)
    read_only = [False if is_open[i] or ro is None else bool(ro(inputs[i], outputs[i]))
                 for i in range(n)]
    lin = bytearray(n)

    def reset_pending(t: float) -> bool:
        """Whether an unlinearized reset operation can still be placed before time ``t``."""
        for k in resets:
            if calls[k] > t:
                return False
            if not lin[k]:
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
                if not lin[j]:
                    ok, ns = step(state, inputs[j], outputs[j])
                    if ok:
                        if ns == state and (is_open[j] or read_only[j]):
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
                    elif (prune and not is_open[j] and not may_become(state, inputs[j], outputs[j])
                          and not reset_pending(rets[j])):
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
            # Operations called later still constrain the present: a read that will see an
            # extension of today's value (say) fails now unless a reset can come in between.
            for q in range(j, min(n, j + LOOKAHEAD)):
                if (not is_open[q] and not may_become(state, inputs[q], outputs[q])
                        and not reset_pending(rets[q])):
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

    if done:
        result_verdict = Verdict.OK
        if verbose:
            longest = [path_of(stack)]
    else:
        visited: set[tuple[int, Any]] = {(s0, init)}
        dom: dict[tuple[int, Any], list[int]] = {}
        not_open = ~open_mask
        if verbose:
            best_depth = s0.bit_count()
            longest = [path_of(stack)]
            best_node = (s0, init, pr0)
        while stack:
            fr = stack[-1]
            kids = fr[4]
            k = fr[5]
            if k == len(kids):
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
                yield
            lin[j] = 1
            added = [j]
            status, bits2, pc, pr, kids2 = expand(bits, ns, fr[2], fr[3], added)
            if status == -1:
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
                depth = bits2.bit_count()
                if depth > best_depth:
                    best_depth = depth
                    longest = [path_of(stack)]
                    best_node = (bits2, ns, pr)
                elif depth == best_depth and len(longest) < MAX_LONGEST:
                    longest.append(path_of(stack))

    res = PartitionResult(ops=ops, verdict=result_verdict, nodes=nodes, index=index)
    if verbose:
        if result_verdict is Verdict.OK:
            res.linearizations = [path_of(stack)]
        else:
            res.linearizations = longest
            if best_node is not None:
                _explain(res, best_node, calls, rets, ret_order, inputs, outputs, step)
    res.elapsed = time.monotonic() - start
    return res


def _explain(res, node, calls, rets, ret_order, inputs, outputs, step) -> None:
    """Fill in what could not go next at the end of the longest partial linearization."""
    bits, state, p_ret = node
    n = len(calls)
    while p_ret < len(ret_order) and (bits >> ret_order[p_ret]) & 1:
        p_ret += 1
    if p_ret == len(ret_order):
        return
    blocking = ret_order[p_ret]
    res.blocking = blocking
    res.fail_time = rets[blocking]
    for j in range(n):
        if not (bits >> j) & 1 and calls[j] <= rets[blocking]:
            ok, _ = step(state, inputs[j], outputs[j])
            if not ok:
                res.stuck.append(j)
