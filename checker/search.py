"""The tuned search of one partition: Wing–Gong with Lowe's just-in-time linearization.

The search walks a tree whose nodes are (set of linearized operations, model state). At a
node, the operations that may go next are the unlinearized ones called no later than the
earliest return among the unlinearized *completed* operations (intervals are closed). Each
(set, state) pair is visited once: a second path to it is cut (the cache of Lowe's
algorithm). The set is a Python int used as a bitset; the stack holds one ``Frame`` per
node on the current path, so there is no recursion limit.

Pruning rules beyond the classic algorithm, each of which keeps the verdict exact (the
numbers are those of docs/checker.md; ``Pruning`` switches them off):

1. **Read absorption.** A completed candidate that the model declares read-only (it never
   changes the state when allowed: a read, a failed cas) and whose step is allowed now is
   linearized at once, without branching: moving it to the front of any valid continuation
   keeps that continuation valid.
2. **Open operations are optional.** An open operation whose step would not change the state
   is never tried (it can always be left out). A node whose completed part and state equal an
   exhausted node's, and whose linearized open operations are a superset of that node's, is
   cut too: leaving open operations out never hurts.
3. **Identical candidates.** Among candidates with the same input and output, only the one
   with the earliest return is tried; the others lead to dominated nodes.
4. **Dead reads.** With the model's ``may_become``/``overwrites`` hints, a node is cut as soon
   as a pending read (a candidate, or one of the next reads of each kind called later) can no
   longer be satisfied by the time it returns and nothing that overwrites what it sees can
   still come first.
5. **Unseen open operations.** With the model's ``observes`` hint, an open operation whose
   effect no read could show is never tried: it did not take effect or was overwritten
   unseen, so it can be left out.
6. Candidates are tried earliest return first.

The search is a generator that pauses every ``CLOCK_EVERY`` nodes, so that partitions (and
rule 8's groups) can be interleaved and ``timeout`` holds inside long searches.
checker/reference.py is the same algorithm without any of this, for the tests to compare.
"""

from __future__ import annotations

import json
import math
import time
from bisect import bisect_left
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from .history import UNKNOWN, Operation
from .models import Model, overridden_hint
from .results import DEFAULT_PRUNING, PartitionResult, Pruning, Verdict

__all__ = ["CLOCK_EVERY", "MAX_LONGEST", "Frame", "Status", "freeze", "search"]

CLOCK_EVERY = 512  # nodes between two looks at the clock (and two pauses of the generator)
OBSERVES_BUDGET = 3_000_000  # at most this many observes() calls per partition (rule 5)
#: How many distinct longest partial linearizations verbose mode keeps per partition.
MAX_LONGEST = 8


class Status(Enum):
    """What expanding a node found."""

    COMPLETE = "complete"  # every completed operation is linearized: a linearization
    DEAD = "dead"  # no linearization goes through this node (rule 4)
    OPEN = "open"  # it has children to try (possibly none)


@dataclass(slots=True)
class Frame:
    """One node on the search stack (slots: the hot loop reads these fields)."""

    bits: int  # the linearized operations, bit i for operation i
    state: Any  # the model state after them
    p_call: int  # no operation before this index (by call) is unlinearized
    p_ret: int  # no completed operation before this position of ret_order is unlinearized
    kids: list[tuple[int, Any]]  # the children still to try, (operation, state after it),
    #                              the next one last (the loop pops it)
    added: list[int]  # the operations this node linearized (its own and absorbed reads)


def freeze(value: Any) -> Any:
    """A hashable stand-in for a JSON-like value, used to spot identical operations.

    Equal values (by ``==``, as the search cache compares states) give equal results.
    """
    if type(value) is dict:
        try:
            return frozenset(value.items())  # the common case: scalar values
        except TypeError:
            return ("{", frozenset((k, freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return ("[", tuple(freeze(v) for v in value))
    if isinstance(value, dict):
        return ("{", frozenset((k, freeze(v)) for k, v in value.items()))
    if isinstance(value, set | frozenset):
        try:
            return ("#", frozenset(value))
        except TypeError:
            return ("#", tuple(sorted(repr(freeze(v)) for v in value)))
    try:
        hash(value)
    except TypeError:
        return ("?", json.dumps(value, sort_keys=True, default=repr))
    return value


def _unseen_open(model: Model, calls: list[float], rets: list[float], inputs: list[Any],
                 outputs: list[Any], is_open: list[bool], reader: list[bool]) -> list[bool]:
    """Rule 5: the open operations whose effect no read could show (the ``observes`` hint).

    In any valid order they either did not take effect or were overwritten unseen, so they
    can be left out. ``OBSERVES_BUDGET`` bounds the cost on huge histories."""
    n = len(calls)
    unseen = [False] * n
    observes = overridden_hint(model, "observes")
    if observes is None or not any(is_open):
        return unseen
    reads = [i for i in range(n) if reader[i]]
    budget = OBSERVES_BUDGET
    for i in range(n):
        if is_open[i] and budget > 0:
            budget -= len(reads)
            unseen[i] = budget > 0 and not any(
                rets[r] >= calls[i] and observes(inputs[i], inputs[r], outputs[r])
                for r in reads)
    return unseen


def search(
    history: Sequence[Operation], model: Model, deadline: float | None, verbose: bool,
    index: int, pruning: Pruning = DEFAULT_PRUNING,
) -> Generator[int, None, PartitionResult]:
    """Search one partition; a generator that yields the nodes searched so far every
    ``CLOCK_EVERY`` nodes and returns the ``PartitionResult``.

    ``deadline`` is a time.monotonic() value (past it: UNKNOWN); ``verbose`` keeps the
    longest partial linearizations and what stopped them; ``index`` goes into the result.
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
    cls = [class_of.setdefault((freeze(op.input), o is UNKNOWN, freeze(o)), len(class_of))
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
    may_become = overridden_hint(model, "may_become")
    prune = pruning.dead_reads and may_become is not None
    ro = getattr(model, "is_read_only", None)
    reader = [False if is_open[i] or ro is None else bool(ro(inputs[i], outputs[i]))
              for i in range(n)]
    read_only = reader if pruning.read_absorption else [False] * n
    unseen = ([False] * n if not pruning.unseen_open else
              _unseen_open(model, calls, rets, inputs, outputs, is_open, reader))
    overwrites = getattr(model, "overwrites", None)
    relevant: dict[Any, list[int]] = {}  # read input -> operations overwriting what it sees
    frozen_inputs: dict[int, Any] = {}
    kinds: dict[Any, list[int]] = {}
    if prune and lookahead > 0:
        for i in range(n):
            if reader[i]:
                fi = frozen_inputs[i] = freeze(inputs[i])
                kinds.setdefault(fi, []).append(i)
    read_kinds = list(kinds.values())
    if not pruning.identical_candidates:
        cls = list(range(n))
    lin = bytearray(n)
    COMPLETE, DEAD, OPEN = Status.COMPLETE, Status.DEAD, Status.OPEN  # locals: fast

    def reset_pending(j: int, state: Any) -> bool:
        """Whether an unlinearized operation overwriting what read ``j`` observes can still
        be placed before ``j`` returns, and leave a state from which ``j`` may succeed."""
        fj = frozen_inputs.get(j)
        if fj is None:
            fj = frozen_inputs[j] = freeze(inputs[j])
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
        """Absorb no-ops (rule 1), then list the children (rules 2, 3, 5, 6) unless a read
        is dead (rule 4). Returns (status, bits, p_call, p_ret, kids); the kids only when
        the status is OPEN."""
        while p_ret < n_c and lin[ret_order[p_ret]]:
            p_ret += 1
        if p_ret == n_c:
            return COMPLETE, s_bits, p_call, p_ret, None
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
                        return DEAD, s_bits, p_call, p_ret, None
                j += 1
            if not absorbed:
                break
            while p_ret < n_c and lin[ret_order[p_ret]]:
                p_ret += 1
            if p_ret == n_c:
                return COMPLETE, s_bits, p_call, p_ret, None
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
                        return DEAD, s_bits, p_call, p_ret, None
        if len(kids) > 1:  # earliest return first (rule 6): last in the list, popped first
            kids.sort(key=lambda kid: (rets[kid[0]], kid[0]), reverse=True)
        return OPEN, s_bits, p_call, p_ret, kids

    init = model.init()
    nodes = 1
    best_depth = -1
    longest: list[list[tuple[int, Any]]] = []
    best_node: tuple[int, Any, int] | None = None
    result_verdict = Verdict.ILLEGAL

    root_added: list[int] = []
    status, s0, pc0, pr0, kids0 = expand(0, init, 0, 0, root_added)
    done = status is COMPLETE
    if status is not OPEN:
        kids0 = []
    stack: list[Frame] = [Frame(s0, init, pc0, pr0, kids0, root_added)]

    def path_of(frames: list[Frame]) -> list[tuple[int, Any]]:
        return [(j, fr.state) for fr in frames for j in fr.added]

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
        dom: dict[tuple[int, Any], list[int]] = {}  # exhausted nodes (rule 2)
        not_open = ~open_mask
        if verbose:
            note(s0, init, pr0)
        while stack:
            fr = stack[-1]
            kids = fr.kids
            if not kids:
                if verbose:
                    leaving()
                stack.pop()
                for j in fr.added:
                    lin[j] = 0
                if has_open:
                    bits = fr.bits
                    dom.setdefault((bits & not_open, fr.state), []).append(bits & open_mask)
                continue
            j, ns = kids.pop()
            bits = fr.bits | (1 << j)
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
            if nodes % CLOCK_EVERY == 0:
                if deadline is not None and time.monotonic() > deadline:
                    result_verdict = Verdict.UNKNOWN
                    break
                yield nodes
            lin[j] = 1
            added = [j]
            status, bits2, pc, pr, kids2 = expand(bits, ns, fr.p_call, fr.p_ret, added)
            if status is DEAD:
                if verbose:  # a dead end is still a partial linearization worth showing
                    stack.append(Frame(bits2, ns, pc, pr, [], added))
                    note(bits2, ns, pr)
                    leaving()
                    stack.pop()
                for x in added:
                    lin[x] = 0
                continue
            if status is COMPLETE:
                stack.append(Frame(bits2, ns, pc, pr, [], added))
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
            stack.append(Frame(bits2, ns, pc, pr, kids2, added))
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
