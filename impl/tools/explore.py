"""The adversarial driver: a Hypothesis state machine over any World.

Hypothesis chooses every step: which message to deliver, drop or duplicate, which timer to
fire, which server to crash or restart, how to partition, which clerk to call with what. A
system's machine subclasses :class:`WorldMachine` and fills in four hooks::

    class RegisterMachine(WorldMachine):
        @classmethod
        def build_world(cls, seed):            # the system, on the ADVERSARIAL profile
            return example_register.build(seed, profile=ADVERSARIAL)
        def call_input(self):                   # a strategy for one clerk call's input
            return st.sampled_from([{"op": "read"}, ...])
        def check_safety(self):            # safety, after every step
            assert not stale_reads(self.world.history)
        def end_checks(self):                  # after heal and settle, at teardown
            ...

*Swarm testing*: each example enables a random subset of the fault kinds (drop, duplicate,
crash, partition), so some runs are fault-free and deep while others are fault-heavy, which
finds more bugs than one fixed mix. At teardown the machine heals the network, restarts
crashed servers, switches to the reliable profile, lets the World run until
``settled()`` holds (within ``settle_timeout`` virtual seconds) and runs ``end_checks``.

Every failure gets a note with its seed and the path of a replay file holding the World's
recorded steps; ``faultlab replay FILE`` re-executes them and reaches the same failure. The
last file written is the shrunk counterexample, because Hypothesis replays it last.
A replay checks ``check_safety`` after every World step, so a system rule that takes several
steps at once (``run_until``, ``call``) must check it after each of them too (pass a
predicate that calls ``check_safety``); otherwise a state that is wrong only in the middle of
such a rule passes unseen in the run and fails earlier, differently, in its replay.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from faultlab.sim.network import RELIABLE
from faultlab.sim.world import World
from faultlab.tools.replay_schema import REPLAY_FORMAT
from hypothesis import Phase
from hypothesis import strategies as st
from hypothesis.database import ExampleDatabase
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

__all__ = ["WorldMachine", "CallAll", "FAULTS", "replay_dir", "explore", "Exploration", "FIND_ONLY",
           "NO_EXPLAIN", "pick", "Stopped"]

FAULTS = ("drop", "duplicate", "crash", "partition")
# Hypothesis phases for tests of a machine. Finding a seeded bug is Hypothesis's job; shrinking
# it is done faster and better by faultlab.tools.shrink on the replay file.
FIND_ONLY = [Phase.explicit, Phase.reuse, Phase.generate]
# Everything but the explain phase, which re-runs a failing example under a tracer: slow with
# World machines, and the replay file already says what happened.
NO_EXPLAIN = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink]

SETTLE = "settle"  # the mark a teardown leaves in the World's steps
END_CHECKS = "end checks"  # and where its end checks begin (a replay runs them itself)


def replay_dir() -> Path:
    """Where replay files go: ``$FAULTLAB_REPLAY_DIR`` or ``.faultlab/replays``."""
    return Path(os.environ.get("FAULTLAB_REPLAY_DIR", ".faultlab/replays"))


def pick(ids: Any, i: int) -> Any:
    """The ``i``-th of ``ids`` modulo their number: how a rule turns a drawn integer into
    one of the messages, timers or nodes enabled now (shared by the labs' own rules)."""
    seq = list(ids)
    return seq[i % len(seq)]


def _enabled(fault: str) -> Callable[[WorldMachine], bool]:
    return lambda self: fault in self.faults


class WorldMachine(RuleBasedStateMachine):
    """Generic rules over a World; subclasses give the system and its checks."""

    settle_timeout: ClassVar[float] = 30.0
    faults: frozenset[str]
    world: World

    # ---------------------------------------------------------------- hooks for subclasses

    @classmethod
    def build_world(cls, seed: int) -> World:
        """The system under test, started, on the ADVERSARIAL profile."""
        raise NotImplementedError

    def call_input(self) -> st.SearchStrategy:
        """Strategy for the input of one clerk call."""
        raise NotImplementedError

    def check_safety(self) -> None:
        """Safety properties that must hold after every step; raise AssertionError if not."""

    def settled(self) -> bool:
        """At teardown: the state the healed system must reach (default: every call returned)."""
        return not self.world.open_calls

    def end_checks(self) -> None:
        """Checks once the system settled (e.g. the history is linearizable)."""

    def crash_candidates(self) -> list[str]:
        """Nodes the machine may crash now (default: every server that is up). Override to
        spare a node the system assumes never fails, or to bound how many are down."""
        return [n for n in self.world.servers if n not in self.world.crashed]

    @staticmethod
    def warm_up(world: World, ready: Callable[[], bool], timeout: float) -> World:
        """For ``build_world``: run the seeded scheduler until ``ready()`` (at most
        ``timeout`` virtual seconds), then forget those steps, so examples and replays start
        from there (``build_world`` is deterministic, so a replay gets there too)."""
        world.run_until(ready, timeout)
        if world.steps is not None:
            world.steps.clear()
        return world

    def search_workload(self) -> dict[str, list]:
        """For bounded exhaustive search (:mod:`faultlab.tools.search`): each clerk's calls, made
        one at a time whenever the search chooses. Default: none (the system's own steps)."""
        return {}

    # ---------------------------------------------------------------- rules

    @initialize(seed=st.integers(0, 2**32 - 1), faults=st.frozensets(st.sampled_from(FAULTS)))
    def start_world(self, seed: int, faults: frozenset[str]) -> None:
        self.seed = seed
        self.faults = faults
        self.world = self.build_world(seed)

    @precondition(lambda self: self.world.in_flight)
    @rule(i=st.integers(0, 255))
    def deliver(self, i: int) -> None:
        self._guard(lambda: self.world.deliver(pick(self.world.in_flight, i)))

    @precondition(lambda self: self.world.pending)
    @rule(i=st.integers(0, 255))
    def fire(self, i: int) -> None:
        self._guard(lambda: self.world.fire(pick(self.world.pending, i)))

    @precondition(lambda self: self.world.in_flight or self.world.pending)
    @rule()
    def next_event(self) -> None:
        """Let the earliest event happen, as the seeded scheduler would."""
        self._guard(self.world.step)

    @precondition(lambda self: self.faults or self.world.crashed or self.world.blocked
                  or self.world.deaf)
    @rule(kind=st.integers(0, 255), i=st.integers(0, 255), j=st.integers(0, 255))
    def fault(self, kind: int, i: int, j: int) -> None:
        """One fault, of a kind this example enabled. A single rule for all faults keeps
        them to about one step in five, so examples also get deep into the protocol."""
        actions = self._fault_actions()
        if actions:
            action = actions[kind % len(actions)]
            self._guard(lambda: action(i, j))

    def _fault_actions(self) -> list[Callable[[int, int], None]]:
        w, f = self.world, self.faults
        actions: list[Callable[[int, int], None]] = []
        if "drop" in f and w.in_flight:
            actions.append(lambda i, j: w.drop(pick(w.in_flight, i)))
        if "duplicate" in f and w.in_flight:
            actions.append(lambda i, j: w.duplicate(pick(w.in_flight, i)) and None)
        up = self.crash_candidates() if "crash" in f else []
        if up:
            actions.append(lambda i, j: w.crash(pick(up, i)))
        if w.crashed:
            actions.append(lambda i, j: w.restart(pick(sorted(w.crashed), i)))
        if "partition" in f:
            actions.append(self._partition)
            actions.append(self._block)
            actions.append(lambda i, j: w.deafen(pick(w.servers, i)))
        if w.blocked or w.deaf:
            actions.append(lambda i, j: w.heal())
        return actions

    def _partition(self, mask: int, more: int) -> None:
        """Split the servers in two by the bits of ``mask`` (one side may hold one node)."""
        servers = self.world.servers
        bits = mask | more << 8
        side = [n for k, n in enumerate(servers) if bits >> k & 1]
        self.world.partition(side, [n for n in servers if n not in side])

    def _block(self, i: int, j: int) -> None:
        """Cut one directed link between two servers (an asymmetric partition)."""
        servers = self.world.servers
        src = pick(servers, i)
        others = [n for n in servers if n != src]
        if others:
            self.world.block(src, pick(others, j))

    @precondition(lambda self: any(c not in self.world.open_calls for c in self.world.clients))
    @rule(i=st.integers(0, 255), data=st.data())
    def call(self, i: int, data: st.DataObject) -> None:
        idle = sorted(c for c in self.world.clients if c not in self.world.open_calls)
        client = pick(idle, i)
        value = data.draw(self.call_input(), label="input")
        self._guard(lambda: self.world.invoke(client, value))

    @invariant()
    def safety(self) -> None:
        if getattr(self, "world", None) is not None:
            self._guard(self.check_safety)

    def teardown(self) -> None:
        # Hypothesis calls teardown after a failed step too; settling then would run more
        # steps and overwrite the replay file (and the error) of the real failure.
        if getattr(self, "world", None) is not None and not getattr(self, "_failed", False):
            self._guard(self.settle_and_check)

    # ---------------------------------------------------------------- settling and failure

    def settle_and_check(self) -> None:
        """Heal, restart, go reliable, run until settled, then the end checks."""
        self.settle()
        self.final_checks()

    def settle(self) -> None:
        """Mark where the teardown begins; heal, restart, go reliable, run until settled
        (within ``settle_timeout``), checking safety after every step."""
        w = self.world
        w.mark(SETTLE)
        if w.blocked or w.deaf:
            w.heal()
        for name in sorted(w.crashed):
            w.restart(name)
        w.set_profile(RELIABLE)
        w.run_until(self._settled_and_safe, self.settle_timeout)

    def _settled_and_safe(self) -> bool:
        self.check_safety()
        return self.settled()

    def final_checks(self) -> None:
        if not self.settled():
            raise AssertionError(
                f"the healed system did not settle within {self.settle_timeout}s of virtual "
                f"time (open calls: {sorted(self.world.open_calls)})")
        self.world.mark(END_CHECKS)
        self.end_checks()

    def _guard(self, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except Exception as e:
            self._failed = True
            path = self.write_replay(e)
            e.add_note(f"faultlab: seed {self.seed}, faults {sorted(self.faults)}; "
                       f"replay with: faultlab replay {path} (add --shrink to minimize it)")
            raise

    def write_replay(self, error: BaseException, *, found_by: str = "") -> Path:
        """Save the failure as ``<Machine>.json`` in :func:`replay_dir`, or
        ``<Machine>.<found_by>.json`` (the search's, so it never overwrites an
        exploration's counterexample)."""
        cls = type(self)
        record = {
            "faultlab_replay": REPLAY_FORMAT,
            "machine": f"{cls.__module__}:{cls.__qualname__}",
            "seed": self.seed,
            "faults": sorted(self.faults),
            "error": f"{type(error).__name__}: {error}",
            "steps": self.world.steps,
        }
        folder = replay_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{cls.__name__}{'.' + found_by if found_by else ''}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record, default=repr) + "\n")
        tmp.replace(path)
        return path


class CallAll:
    """A rule for a :class:`WorldMachine`: start a call on every idle clerk at once (the
    labs' concurrent clients), each input drawn from ``call_input``."""

    world: World

    @precondition(lambda self: any(c not in self.world.open_calls for c in self.world.clients))
    @rule(data=st.data())
    def call_all(self, data: st.DataObject) -> None:
        for client in sorted(c for c in self.world.clients if c not in self.world.open_calls):
            value = data.draw(self.call_input(), label="input")  # type: ignore[attr-defined]
            self._guard(  # type: ignore[attr-defined]
                lambda client=client, value=value: self.world.invoke(client, value))


# ---------------------------------------------------------------------- running an exploration

class Stopped(KeyboardInterrupt):
    """Raised between examples when an exploration is told to stop (time up, another worker
    failed, Ctrl-C). A KeyboardInterrupt, because that is what Hypothesis lets through at
    once without reporting it as a failure or saving the example in its database."""


@dataclass
class Exploration:
    """What one exploration did and, if it failed, where the counterexample is."""

    machine: str
    seed: int
    examples: int = 0
    steps: int = 0
    elapsed: float = 0.0
    error: str | None = None
    replay: Path | None = None
    stopped: bool = False


def explore(
    cls: type[WorldMachine],
    *,
    seed: int,
    examples: int,
    steps: int = 50,
    progress: Callable[[Exploration], None] | None = None,
    database: ExampleDatabase | None = None,
    stop: Callable[[], bool] | None = None,
) -> Exploration:
    """Run ``cls`` under Hypothesis for ``examples`` examples, seeded by ``seed``.

    Hypothesis only generates: its shrinker re-runs thousands of examples and stops at local
    minima with World steps, whereas :func:`faultlab.tools.shrink.shrink`, run on the replay file
    this writes, minimizes the failure in milliseconds. With a ``database``, the failures saved
    there (by any earlier run, on any machine sharing it) are replayed first and a new one is
    saved. ``stop`` is asked before every example; when it says so, the run ends there
    (``stopped`` set, no error).
    """
    from hypothesis import HealthCheck, Phase, settings
    from hypothesis import seed as seed_with
    from hypothesis.stateful import get_state_machine_test

    result = Exploration(f"{cls.__module__}:{cls.__qualname__}", seed)
    started = time.perf_counter()

    class Counted(cls):  # type: ignore[valid-type, misc]
        @classmethod
        def build_world(klass, seed: int) -> World:
            if stop is not None and stop():
                raise Stopped
            result.examples += 1
            if progress is not None:
                result.elapsed = time.perf_counter() - started
                progress(result)
            return super().build_world(seed)

        def check_safety(self) -> None:
            result.steps += 1
            super().check_safety()

    Counted.__name__ = Counted.__qualname__ = cls.__name__
    Counted.__module__ = cls.__module__
    phases = [Phase.explicit, Phase.generate] if database is None else \
        [Phase.explicit, Phase.reuse, Phase.generate]
    test = get_state_machine_test(Counted, settings=settings(
        max_examples=examples, stateful_step_count=steps, deadline=None, database=database,
        phases=phases, report_multiple_bugs=False, suppress_health_check=list(HealthCheck)))
    replay = replay_dir() / f"{cls.__name__}.json"
    replay.unlink(missing_ok=True)  # so a file found afterwards is this run's failure
    seeded = seed_with(seed)(test)
    if database is not None:
        # @seed turns the database off (a seeded run is meant to repeat itself); a campaign
        # wants both: its own seed, and the failures others saved replayed first.
        seeded._hypothesis_internal_use_settings = settings(
            seeded._hypothesis_internal_use_settings, database=database)
    try:
        seeded()
    except Stopped:
        result.stopped = True
    except Exception as e:
        result.error = f"{type(e).__name__}: {e}"
        result.replay = replay if replay.exists() else None
    result.elapsed = time.perf_counter() - started
    return result
