"""Re-execute a recorded run step by step and report whether it fails the same way.

A replay file (written by :class:`faultlab.tools.explore.WorldMachine` on a failure) names the
machine class, the seed and the World's recorded primitive steps. Because a World is a pure
function of its seed and its steps, applying the steps to a World built with that seed
reproduces the run exactly; the machine's invariants are checked after every step and its
end checks at the end, so the replay stops at the same failure.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from faultlab.sim.world import World
from faultlab.tools.explore import REPLAY_FORMAT, WorldMachine

__all__ = ["ReplayError", "ReplayOutcome", "load_replay", "replay", "machine_class"]


class ReplayError(Exception):
    """The replay file is missing, malformed, or names a machine that cannot be loaded."""


@dataclass
class ReplayOutcome:
    steps_applied: int
    total_steps: int
    error: str | None          # the failure reached, or None when the run passed
    recorded_error: str
    in_end_checks: bool = False  # it was reached by the end checks, after every step
    world: World | None = None   # the World as the replay left it

    @property
    def reproduced(self) -> bool:
        return self.error is not None and self.error == self.recorded_error


def load_replay(path: str | Path) -> dict:
    p = Path(path)
    try:
        record = json.loads(p.read_text())
    except FileNotFoundError:
        raise ReplayError(f"{p}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ReplayError(f"{p}: not a replay file ({e})") from None
    if not isinstance(record, dict) or record.get("faultlab_replay") != REPLAY_FORMAT:
        raise ReplayError(f"{p}: not a faultlab replay file (format {REPLAY_FORMAT})")
    for key in ("machine", "seed", "steps"):
        if key not in record:
            raise ReplayError(f"{p}: missing field {key!r}")
    return record


def machine_class(spec: str) -> type[WorldMachine]:
    """The WorldMachine named ``module:Qualname`` (as replay files name it); ReplayError when
    it cannot be loaded or is no machine, so every command reports a bad name alike."""
    module_name, _, qualname = spec.partition(":")
    try:
        obj = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as e:
        raise ReplayError(f"cannot load machine {spec!r}: {e}") from None
    if not (isinstance(obj, type) and issubclass(obj, WorldMachine)):
        raise ReplayError(f"{spec!r} is not a WorldMachine")
    return obj


def replay(record: dict, on_step: Callable[[int, list], None] | None = None, *,
           log_events: bool = False) -> ReplayOutcome:
    """Apply the recorded steps, checking invariants after each and end checks at the end.
    ``log_events`` keeps the World's event log of the replayed steps (for a diagram)."""
    cls = machine_class(record["machine"])
    machine = cls()
    machine.seed = record["seed"]
    machine.faults = frozenset(record.get("faults", ()))
    machine.world = cls.build_world(record["seed"])
    if log_events:
        machine.world.keep_events()
    steps = record["steps"]
    applied = 0
    error = None
    ending = False
    try:
        machine.check_safety()
        for step in steps:
            machine.world.apply_step(step)
            applied += 1
            if on_step is not None:
                on_step(applied, step)
            machine.check_safety()
        ending = True
        machine.final_checks()
    except Exception as e:  # the failure under replay, reported rather than raised
        error = f"{type(e).__name__}: {e}"
    return ReplayOutcome(applied, len(steps), error, record.get("error", ""),
                         in_end_checks=ending and error is not None, world=machine.world)
