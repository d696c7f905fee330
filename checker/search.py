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

The cost of a node is bounded by the concurrency, not by the history's length, so that a
partition of n operations with bounded concurrency costs O(n):

* the unlinearized operations form a doubly linked list, unlinked as they are linearized
  and relinked in reverse order on backtracking (the search is depth first), so finding
  the candidates never walks over the linearized prefix; operations that are never tried
  (rule 5's, open read-only ones) are left out of it from the start;
* a node's set is kept as (number of leading linearized completed operations in call
  order, the bits after them, the bits of the open operations), so the cache's keys stay
  as small as the window of concurrent operations instead of growing to n bits;
* the partial linearizations verbose mode keeps are chains of frames (each points to its
  parent), taken in O(1) and written out once at the end;
* everything derived from an operation alone (its frozen input and output, its class for
  rule 3, its read kind for rule 4) is computed once per operation.

A partition whose operations are totally ordered by real time (each returns before the next
is called; only the last may be open) has a single candidate order: ``sequential`` checks
it by stepping the model, without a search, and gives the same result fields.

The search is a generator that pauses every ``CLOCK_EVERY`` nodes, so that partitions (and
rule 8's groups) can be interleaved and ``timeout`` holds inside long searches.
checker/reference.py is the same algorithm without any of this, for the tests to compare.
"""

from __future__ import annotations

import json
import math
import operator
import time
from bisect import bisect_left
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from .history import UNKNOWN, Operation
from .models import Model, overridden_hint
from .results import DEFAULT_PRUNING, PartitionResult, Pruning, Verdict

__all__ = ["CLOCK_EVERY", "MAX_LONGEST", "Frame", "SearchProgress", "Status", "freeze", "search",
           "sequential"]

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
    """One node on the search stack (slots: the hot loop reads these fields).

    The linearized set is ``cb`` (all completed operations before that position in call
    order), ``crel`` (bit t: the completed operation ``cb + t``; bit 0 is always clear) and
    ``obits`` (bit t: the open operation number t), so that it stays as small as the window
    of concurrent operations."""

    cb: int
    crel: int
    obits: int
    state: Any  # the model state after them
    p_ret: int  # no completed operation before this position of ret_order is unlinearized
    kids: list[tuple[int, Any]]  # the children still to try, (operation, state after it),
    #                              the next one last (the loop pops it)
    added: list[int]  # the operations this node linearized (its own and absorbed reads)
    depth: int  # operations linearized from the root to here
    parent: Frame | None  # the node before, for the partial linearizations (verbose)


@dataclass(slots=True)
class SearchProgress:
    """What a running search has done so far (updated at each pause), for the scheduler
    (rule 8 starts only once the search backtracks) and progress reports."""

    size: int = 0  # operations in the partition
    nodes: int = 0  # nodes searched
    deepest: int = 0  # the most operations linearized on one path


def freeze(value: Any) -> Any:
    """A hashable stand-in for a JSON-like value, used to spot identical operations.

    Equal values (by ``==``, as the search cache compares states) give equal results.
    """
    t = type(value)
    if t is str or t is int or value is None:  # the common outputs, first: no other test
        return value
    if t is dict:
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



def ordered(calls: Sequence[float], rets: Sequence[float]) -> bool:
    """Whether operations sorted by call are totally ordered by real time: each returns
    strictly before the next is called (intervals are closed; an open one can only be
    last). Then the only candidate order is the call order."""
    return all(map(operator.lt, rets[:-1], calls[1:]))


def sequential(
    ops: list[Operation], model: Model, deadline: float | None, verbose: bool, index: int,
    progress: SearchProgress | None = None,
) -> Generator[int, None, PartitionResult]:
    """Check a totally ordered partition (``ordered``; ``ops`` sorted by call) by stepping
    the model in order: the search would find the same verdict, at a cost per operation of
    its whole machinery. The result has the fields a search's has: the linearization (or
    the valid prefix), and on failure the refused operation as ``stuck`` and ``blocking``."""
    start = time.monotonic()
    step = model.step
    state = model.init()
    n = len(ops)
    if n and ops[-1].ret is None:
        n -= 1  # an open operation called after everything else returned: leave it out
    path: list[tuple[int, Any]] = []
    res = PartitionResult(ops=ops, verdict=Verdict.OK, index=index)
    i = 0
    while i < n:
        if i % CLOCK_EVERY == 0 and i:
            if progress is not None:
                progress.nodes = progress.deepest = i
            if deadline is not None and time.monotonic() > deadline:
                res.verdict = Verdict.UNKNOWN
                res.blocking, res.fail_time = i, ops[i].ret
                break
            yield i
        op = ops[i]
        ok, after = step(state, op.input, op.output)
        if not ok:
            res.verdict = Verdict.ILLEGAL
            res.stuck = [i]
            res.blocking, res.fail_time = i, op.ret
            break
        state = after
        if verbose:
            path.append((i, state))
        i += 1
    res.nodes = max(1, i)
    if verbose:
        res.linearizations = [path]
    else:
        res.stuck, res.blocking, res.fail_time = [], None, None
    res.elapsed = time.monotonic() - start
    return res


def search(
    history: Sequence[Operation], model: Model, deadline: float | None, verbose: bool,
    index: int, pruning: Pruning = DEFAULT_PRUNING, progress: SearchProgress | None = None,
    max_nodes: int | None = None,
) -> Generator[int, None, PartitionResult]:
    """Search one partition; a generator that yields the nodes searched so far every
    ``CLOCK_EVERY`` nodes and returns the ``PartitionResult``.

    ``deadline`` is a time.monotonic() value (past it: UNKNOWN), ``max_nodes`` a budget of
    nodes (beyond it: UNKNOWN too); ``verbose`` keeps the longest partial linearizations
    (most completed operations) and what stopped them; ``index`` goes into the result;
    ``progress``, when given, is kept up to date at every pause.
    """
    start = time.monotonic()
    ops = sorted(history, key=lambda op: op.call)
    n = len(ops)
    inf = math.inf
    calls = [op.call for op in ops]
    rets = [inf if op.ret is None else op.ret for op in ops]
    if progress is not None:
        progress.size = n
    if pruning.sequential and ordered(calls, rets):
        return (yield from sequential(ops, model, deadline, verbose, index, progress))
    is_open = [op.ret is None for op in ops]
    inputs = [op.input for op in ops]
    outputs = [UNKNOWN if op.ret is None else op.output for op in ops]
    frozen = [freeze(x) for x in inputs]  # once per operation
    class_of: dict[Any, int] = {}
    cls = [class_of.setdefault((frozen[i], is_open[i], freeze(outputs[i])), len(class_of))
           for i in range(n)]
    if not pruning.identical_candidates:
        cls = list(range(n))
    ci = [-1] * n  # position among the completed operations (call order), or -1
    oi = [-1] * n  # position among the open operations, or -1
    n_c = n_o = 0
    for i in range(n):
        if is_open[i]:
            oi[i] = n_o
            n_o += 1
        else:
            ci[i] = n_c
            n_c += 1
    ret_order = sorted((i for i in range(n) if not is_open[i]), key=lambda i: (rets[i], i))
    has_open = n_o > 0 and pruning.open_subsets
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
    # Operations never tried: rule 5's, and open ones that never change the state (rule 2)
    live = [not (unseen[i] or (is_open[i] and skip_open_noops and ro is not None
                               and ro(inputs[i], UNKNOWN))) for i in range(n)]
    overwrites = getattr(model, "overwrites", None)
    relevant: dict[Any, list[int]] = {}  # read input -> operations overwriting what it sees
    helped: dict[int, int] = {}  # read -> the overwrite reset_pending last found for it
    kinds: dict[Any, list[int]] = {}
    if prune and lookahead > 0:
        for i in range(n):
            if reader[i]:
                kinds.setdefault(frozen[i], []).append(i)
    read_kinds = list(kinds.values())
    lin = bytearray(n)
    # The unlinearized live operations in call order, a doubly linked list; sentinel n.
    nxt = [n] * (n + 1)
    prv = [n] * (n + 1)
    last = n
    for i in range(n):
        if live[i]:
            nxt[last] = i
            prv[i] = last
            last = i
    nxt[last] = n
    prv[n] = last
    COMPLETE, DEAD, OPEN = Status.COMPLETE, Status.DEAD, Status.OPEN  # locals: fast

    def reset_pending(j: int, state: Any, first: int) -> bool:
        """Whether an unlinearized operation overwriting what read ``j`` observes can still
        be placed before ``j`` returns, and leave a state from which ``j`` may succeed
        (every operation before index ``first`` is linearized or never tried)."""
        fj = frozen[j]
        ks = relevant.get(fj)
        if ks is None:
            inp = inputs[j]
            ks = relevant[fj] = [] if overwrites is None else [
                k for k in range(n) if live[k] and overwrites(inputs[k], inp)]
        k = helped.get(j)  # the overwrite that helped last time is asked first
        if k is not None and not lin[k]:
            ok, ns = step(state, inputs[k], outputs[k])
            if ok and may_become(ns, inputs[j], outputs[j]):
                return True
        t = rets[j]
        for a in range(bisect_left(ks, first), len(ks)):
            k = ks[a]
            if calls[k] > t:
                return False
            if not lin[k]:
                ok, ns = step(state, inputs[k], outputs[k])
                if ok and may_become(ns, inputs[j], outputs[j]):
                    helped[j] = k
                    return True
        return False

    def expand(state: Any, p_ret: int, added: list[int]
               ) -> tuple[Status, int, list[tuple[int, Any]] | None]:
        """Absorb no-ops (rule 1), then list the children (rules 2, 3, 5, 6) unless a read
        is dead (rule 4). Returns (status, p_ret, kids); the kids only when the status is
        OPEN. Absorbed operations are linearized, unlinked and appended to ``added``."""
        while p_ret < n_c and lin[ret_order[p_ret]]:
            p_ret += 1
        if p_ret == n_c:
            return COMPLETE, p_ret, None
        minret = rets[ret_order[p_ret]]
        kids: list[tuple[int, Any]] = []
        by_class: dict[int, int] = {}
        j = nxt[n]
        while True:
            absorbed = False
            while j < n and calls[j] <= minret:
                ok, ns = step(state, inputs[j], outputs[j])
                if ok:
                    if ns == state and ((is_open[j] and skip_open_noops) or read_only[j]):
                        if not is_open[j]:
                            lin[j] = 1
                            a, b = prv[j], nxt[j]
                            nxt[a] = b
                            prv[b] = a
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
                      and not reset_pending(j, state, nxt[n])):
                    return DEAD, p_ret, None
                j = nxt[j]
            if not absorbed:
                break
            while p_ret < n_c and lin[ret_order[p_ret]]:
                p_ret += 1
            if p_ret == n_c:
                return COMPLETE, p_ret, None
            minret = rets[ret_order[p_ret]]
        if prune:
            # Reads called later still constrain the present: a read that will see an
            # extension of today's value (say) fails now unless an overwrite can come first.
            # The next few reads of each kind (same input: same key, say) are asked.
            first = nxt[n]
            for reads in read_kinds:
                a = bisect_left(reads, j)
                for q in reads[a:a + lookahead]:
                    if (not may_become(state, inputs[q], outputs[q])
                            and not reset_pending(q, state, first)):
                        return DEAD, p_ret, None
        if len(kids) > 1:  # earliest return first (rule 6): last in the list, popped first
            kids.sort(key=lambda kid: (rets[kid[0]], kid[0]), reverse=True)
        return OPEN, p_ret, kids

    def undo(added: list[int]) -> None:
        """Unlinearize ``added`` (relinking in reverse order: the list is a stack)."""
        for x in reversed(added):
            lin[x] = 0
            a, b = prv[x], nxt[x]
            nxt[a] = x
            prv[b] = x

    def advance(cb: int, crel: int, obits: int, added: list[int]) -> tuple[int, int, int]:
        """The set (``Frame``'s cb, crel, obits) with ``added`` linearized too."""
        for x in added:
            c = ci[x]
            if c >= 0:
                crel |= 1 << (c - cb)
            else:
                obits |= 1 << oi[x]
        if crel & 1:  # drop the leading run of linearized operations
            t = (crel ^ (crel + 1)).bit_length() - 1
            crel >>= t
            cb += t
        return cb, crel, obits

    def path_of(frame: Frame | None) -> list[tuple[int, Any]]:
        frames = []
        while frame is not None:
            frames.append(frame)
            frame = frame.parent
        return [(j, fr.state) for fr in reversed(frames) for j in fr.added]

    def explain(res: PartitionResult, frame: Frame) -> None:
        """What could not go on at the end of the longest partial linearization: the
        operations real time allows next that the model refuses, and the reads called later
        that can no longer succeed (dead-read pruning)."""
        saved = bytes(lin)
        lin[:] = bytes(n)
        for j, _ in path_of(frame):
            lin[j] = 1
        state, p_ret = frame.state, frame.p_ret
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
                            and not reset_pending(j, state, 0)):
                        res.stuck.append(j)
                        break
        lin[:] = saved

    init = model.init()
    nodes = 1
    best_depth = -1
    longest: list[Frame] = []  # the deepest nodes met (verbose), the first one first

    def note(frame: Frame) -> None:
        """Keep the longest partial linearizations, by completed operations (open ones are
        optional), as frames: their paths are written out at the end."""
        nonlocal best_depth, longest
        depth = frame.cb + frame.crel.bit_count()
        if depth > best_depth:
            best_depth = depth
            longest = [frame]
        elif depth == best_depth and len(longest) < MAX_LONGEST:
            longest.append(frame)

    result_verdict = Verdict.ILLEGAL
    root_added: list[int] = []
    status, pr0, kids0 = expand(init, 0, root_added)
    cb0, crel0, ob0 = advance(0, 0, 0, root_added)
    root = Frame(cb0, crel0, ob0, init, pr0, kids0 if status is OPEN else [], root_added,
                 len(root_added), None)
    stack: list[Frame] = [root]
    deepest = root.depth
    if verbose:
        note(root)
    if status is COMPLETE:
        result_verdict = Verdict.OK
    else:
        visited: set[tuple[int, int, int, Any]] = {(cb0, crel0, ob0, init)}
        dom: dict[tuple[int, int, Any], list[int]] = {}  # exhausted nodes (rule 2)
        while stack:
            fr = stack[-1]
            kids = fr.kids
            if not kids:
                stack.pop()
                undo(fr.added)
                if has_open:
                    dom.setdefault((fr.cb, fr.crel, fr.state), []).append(fr.obits)
                continue
            j, ns = kids.pop()
            added = [j]
            cb, crel, ob = advance(fr.cb, fr.crel, fr.obits, added)
            key = (cb, crel, ob, ns)
            if key in visited:
                continue
            if has_open:
                seen = dom.get((cb, crel, ns))
                if seen is not None and any((o1 | ob) == ob for o1 in seen):
                    continue
            visited.add(key)
            nodes += 1
            if nodes % CLOCK_EVERY == 0:
                if progress is not None:
                    progress.nodes, progress.deepest = nodes, deepest
                if ((deadline is not None and time.monotonic() > deadline)
                        or (max_nodes is not None and nodes >= max_nodes)):
                    result_verdict = Verdict.UNKNOWN
                    break
                yield nodes
            lin[j] = 1
            a, b = prv[j], nxt[j]
            nxt[a] = b
            prv[b] = a
            status, pr, kids2 = expand(ns, fr.p_ret, added)
            if len(added) > 1:
                cb, crel, ob = advance(cb, crel, ob, added[1:])
            depth = fr.depth + len(added)
            if depth > deepest:
                deepest = depth
            if status is DEAD:
                if verbose:  # a dead end is still a partial linearization worth showing
                    note(Frame(cb, crel, ob, ns, pr, [], added, depth, fr))
                undo(added)
                continue
            child = Frame(cb, crel, ob, ns, pr, kids2 or [], added, depth, fr)
            if status is COMPLETE:
                stack.append(child)
                result_verdict = Verdict.OK
                break
            if len(added) > 1:
                key = (cb, crel, ob, ns)
                pruned = key in visited
                if not pruned and has_open:
                    seen = dom.get((cb, crel, ns))
                    pruned = seen is not None and any((o1 | ob) == ob for o1 in seen)
                if pruned:
                    undo(added)
                    continue
                visited.add(key)
            stack.append(child)
            if verbose:
                note(child)

    if progress is not None:
        progress.nodes, progress.deepest = nodes, deepest
    res = PartitionResult(ops=ops, verdict=result_verdict, nodes=nodes, index=index)
    if verbose:
        if result_verdict is Verdict.OK:
            res.linearizations = [path_of(stack[-1])]
        else:
            res.linearizations = [path_of(f) for f in longest]
            if longest:
                explain(res, longest[0])
    res.elapsed = time.monotonic() - start
    return res
