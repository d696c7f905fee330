"""Rule 8 at work: a hard search split into independent groups, each searched alone.

Without partitioning, chronological backtracking re-explores the choices of unrelated
operations (other keys) under every doomed choice: the search space is the product of the
parts'. ``search_with_groups`` runs the plain search and, once it has searched a while,
``search_groups`` beside it (first verdict wins; both are exact). ``search_groups`` takes
the groups ``discover`` guessed, searches each alone and certifies the answer (a merged
replay for OK, a relaxed search for ILLEGAL), merging groups when the guess was wrong.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Generator, Sequence

from ..history import UNKNOWN, Operation
from ..models import Model, overridden_hint
from ..results import DEFAULT_PRUNING, PartitionResult, Pruning, Verdict
from ..search import SearchProgress, search
from .certify import Witness, explains, merge_orders, replay
from .groups import Groups, discover

__all__ = ["MOST_IN_ONE_GROUP", "search_groups", "search_with_groups"]

#: Rule 8 gives up (the plain search goes on alone) once one group holds more than this
#: share of the operations: searching it would redo the plain search's work.
MOST_IN_ONE_GROUP = 0.75


def search_with_groups(
    part: Sequence[Operation], model: Model, deadline: float | None, verbose: bool,
    index: int, pruning: Pruning = DEFAULT_PRUNING,
) -> Generator[int, None, PartitionResult]:
    """The plain search, joined by rule 8 (independent groups) once it has wasted
    ``pruning.components_after`` nodes (searched beyond its deepest path: it backtracks):
    from then on both advance in turn with a doubling budget and the first verdict wins
    (both are exact). Quick checks, and long searches that go straight through (a long
    partition with little concurrency), never pay for rule 8."""
    start = time.monotonic()
    progress = SearchProgress()
    plain = search(part, model, deadline, verbose, index, pruning, progress)
    if not pruning.components or len(part) < 3:
        return (yield from plain)
    plain_nodes = split_nodes = 0
    try:
        while progress.nodes - progress.deepest < pruning.components_after:
            plain_nodes = next(plain)
            yield plain_nodes
    except StopIteration as stop:
        return stop.value
    split: Generator[int, None, PartitionResult | None] | None = search_groups(
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


def search_groups(
    part: Sequence[Operation], model: Model, deadline: float | None, verbose: bool,
    index: int, pruning: Pruning,
) -> Generator[int, None, PartitionResult | None]:
    """Rule 8: check groups of operations that looked independent, then certify.

    The groups come from ``discover`` (operations that failed to commute at a
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
    may_become = overridden_hint(model, "may_become")
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
        active["g", cid] = search([ops[i] for i in members], model, deadline, True, cid,
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
        active["r", cid] = search(relaxed, model, deadline, True, index, pruning)

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
