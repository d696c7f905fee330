"""Bounded exhaustive search: every interleaving of a system's steps up to a depth.

Hypothesis samples runs; this enumerates them, breadth first, the way DSLabs' search tests
and model checkers do. From the machine's starting World it tries every enabled primitive
step (deliver each message in flight, fire each armed timer, and, for the fault kinds asked
for, drop or duplicate each message, crash or restart each server, isolate a server or
heal), plus the next call of each idle clerk from the machine's ``search_workload``. Each
new state gets the machine's ``check_safety``. States are merged by the World's fingerprint
together with the history's shape (which calls were made, in what order, with what
answers), so a history-based invariant such as linearizability still sees every history.

Because the search goes level by level, the first violation it meets has the fewest steps
possible: a minimal counterexample without any shrinking. It is written as a replay file,
so ``faultlab replay`` re-executes it.

What merging cannot see: state a machine keeps outside the World (an observer such as the
primary/backup view monitor) is copied along each path but not compared, so two paths that
reach one World state with different observer records are merged as one.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faultlab.sim.world import SimError, World
from faultlab.tools.explore import FAULTS, WorldMachine

__all__ = ["SearchResult", "search", "transitions", "state_key"]


@dataclass
class SearchResult:
    """What a search covered and, if it found a violation, the shortest path to one."""

    machine: str
    seed: int
    faults: list[str]
    states: int = 0            # distinct states reached (the start included)
    transitions: int = 0       # steps tried
    depth: int = 0             # deepest level completed
    complete: bool = False     # every reachable state was seen within the bounds
    stopped: str = ""          # why the search ended early ("", "states", "time")
    elapsed: float = 0.0
    error: str | None = None
    steps: list = field(default_factory=list)
    replay: Path | None = None

    @property
    def verdict(self) -> str:
        if self.error is not None:
            return "violation"
        if self.complete:
            return "exhausted"
        return f"bounded ({self.stopped or 'depth'} limit)"


def transitions(machine: WorldMachine, workload: dict[str, list]) -> Iterator[tuple]:
    """Every step enabled in ``machine.world``, as recorded steps, in a fixed order."""
    w, faults = machine.world, machine.faults
    for mid in sorted(w.in_flight):
        yield ("deliver", mid)
        if "drop" in faults:
            yield ("drop", mid)
        if "duplicate" in faults:
            yield ("duplicate", mid)
    for pid in sorted(w.pending):
        yield ("fire", pid)
    if "crash" in faults:
        for name in machine.crash_candidates():
            yield ("crash", name)
    for name in sorted(w.crashed):
        yield ("restart", name)
    if "partition" in faults:
        for name in w.servers:
            yield ("isolate", name)
    if w.blocked or w.deaf:
        yield ("heal",)
    for client, inputs in workload.items():
        made = sum(1 for r in w.history if r.client == client)
        if client not in w.open_calls and client not in w.crashed and made < len(inputs):
            yield ("invoke", client, inputs[made])


def state_key(world: World) -> bytes:
    """What the search merges states by: the World's fingerprint with the history's shape
    (public so tests can show which states merge)."""
    return bytes.fromhex(world.fingerprint(history=True))


def search(
    cls: type[WorldMachine],
    *,
    seed: int = 0,
    faults: frozenset[str] | set[str] = frozenset(),
    max_depth: int = 12,
    max_states: int = 200_000,
    time_limit: float = 60.0,
    workload: dict[str, list] | None = None,
    progress: Callable[[SearchResult, int, bool], None] | None = None,
    progress_every: float = 10.0,
    save: bool = True,
) -> SearchResult:
    """Breadth-first search of ``cls``'s World from ``cls.build_world(seed)``.

    Stops at the first safety violation (then ``steps`` is a shortest failing path and
    ``replay`` its replay file), when no new state remains (``complete``), at ``max_depth``,
    or when ``max_states`` or ``time_limit`` runs out. ``progress(result, frontier, done)``
    is called after each level (``done``: ``frontier`` states are new at ``result.depth``)
    and every ``progress_every`` seconds within a long one (``done`` False: ``frontier`` of
    the level's states are expanded so far). ``save=False`` writes no replay file.
    """
    unknown = set(faults) - set(FAULTS)
    if unknown:
        raise ValueError(f"unknown fault kinds {sorted(unknown)}: choose from {list(FAULTS)}")
    started = time.perf_counter()
    probe = cls()
    base = set(vars(probe))  # Hypothesis' own attributes; the rest is the machine's state
    probe.seed, probe.faults = seed, frozenset(faults)
    probe.world = cls.build_world(seed)
    work = workload if workload is not None else probe.search_workload()
    result = SearchResult(f"{cls.__module__}:{cls.__qualname__}", seed, sorted(faults))

    def own_state() -> dict[str, Any]:
        return {k: v for k, v in vars(probe).items() if k not in base}

    def enter(state: dict[str, Any]) -> None:
        for k in [k for k in vars(probe) if k not in base]:
            delattr(probe, k)
        vars(probe).update(state)

    def violation(e: Exception) -> SearchResult:
        result.error = f"{type(e).__name__}: {e}"
        result.steps = list(probe.world.steps or [])
        result.replay = probe.write_replay(e, found_by="search") if save else None
        result.elapsed = time.perf_counter() - started
        return result

    try:
        probe.check_safety()
    except AssertionError as e:
        return violation(e)
    seen = {state_key(probe.world)}
    frontier = [own_state()]
    result.states = 1
    reported = started
    for depth in range(1, max_depth + 1):
        following: list[dict[str, Any]] = []
        for expanded, state in enumerate(frontier):
            if progress is not None and time.perf_counter() - reported >= progress_every:
                reported = time.perf_counter()
                result.elapsed = reported - started
                progress(result, expanded, False)
            enter(state)
            for step in list(transitions(probe, work)):
                if result.states >= max_states:
                    result.stopped = "states"
                elif time.perf_counter() - started > time_limit:
                    result.stopped = "time"
                if result.stopped:
                    result.elapsed = time.perf_counter() - started
                    return result
                enter(copy.deepcopy(state))
                result.transitions += 1
                try:
                    probe.world.apply_step(step)
                except SimError:
                    continue  # not applicable here after all (e.g. a crashed clerk)
                except Exception as e:  # a node handler raised: a bug like any other
                    return violation(e)
                key = state_key(probe.world)
                if key in seen:
                    continue
                seen.add(key)
                result.states += 1
                try:
                    probe.check_safety()
                except AssertionError as e:
                    return violation(e)
                following.append(own_state())
        result.depth = depth
        frontier = following
        if progress is not None:
            reported = time.perf_counter()
            result.elapsed = reported - started
            progress(result, len(frontier), True)
        if not frontier:
            result.complete = True
            break
    result.elapsed = time.perf_counter() - started
    return result
