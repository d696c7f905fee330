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
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

from faultlab.sim.world import StepError, World
from faultlab.tools.explore import END_CHECKS, WorldMachine
from faultlab.tools.replay_schema import SchemaError, validate

__all__ = ["ReplayError", "ReplayOutcome", "load_replay", "replay", "machine_class",
           "registered_machine"]


class ReplayError(Exception):
    """The replay file is missing, malformed, names a machine that is not allowed or cannot
    be loaded, or holds a step that does not apply."""


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


def load_replay(path: str | Path, *, allow_modules: Collection[str] = ()) -> dict:
    """The checked record of a replay file: the schema of :mod:`faultlab.tools.replay_schema`,
    and a machine from faultlab's registry or from one of ``allow_modules`` (a file never
    chooses what is imported). ReplayError, naming the file and the field, otherwise."""
    p = Path(path)
    try:
        record = json.loads(p.read_bytes())
    except FileNotFoundError:
        raise ReplayError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise ReplayError(f"{p}: is a folder, not a replay file") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:  # JSONDecodeError is a ValueError
        raise ReplayError(f"{p}: not a replay file ({e})") from None
    except RecursionError:
        raise ReplayError(f"{p}: not a replay file (JSON nested too deeply)") from None
    try:
        validate(record)
    except SchemaError as e:
        raise ReplayError(f"{p}: {e}") from None
    try:
        record["machine"] = registered_machine(record["machine"], allow_modules)
    except ReplayError as e:
        raise ReplayError(f"{p}: field 'machine': {e}") from None
    return record


def registered_machine(name: str, allow_modules: Collection[str] = ()) -> str:
    """The ``module:Class`` of a machine a replay file names: a registry name or spec, or a
    class in one of ``allow_modules``."""
    from faultlab.tools.machines import MACHINES

    if name in MACHINES:
        return MACHINES[name][0]
    if any(spec == name for spec, _ in MACHINES.values()):
        return name
    module = name.partition(":")[0]
    if module in allow_modules:
        return name
    raise ReplayError(f"{name!r} is not one of faultlab's machines ('faultlab explore --help' "
                      f"lists them); to replay a machine of your own, pass --allow-module "
                      f"{module}")


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


def replay(record: dict, on_step: Callable[[int, list, str], None] | None = None, *,
           log_events: bool = False) -> ReplayOutcome:
    """Apply the recorded steps, checking invariants after each and end checks at the end.
    ``on_step(number, step, text)`` hears of each step applied, ``text`` saying it in words
    (``deliver Write c0 -> primary: ...``). ``log_events`` keeps the World's event log of the
    replayed steps (for a diagram). A step that does not apply is a ReplayError."""
    from faultlab.tools.shrink import describe_step

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
            if list(step) == ["mark", END_CHECKS]:
                break  # what the end checks did, they do again below
            text = describe_step(machine.world, step) if on_step is not None else ""
            machine.world.apply_step(step)
            applied += 1
            if on_step is not None:
                on_step(applied, step, text)
            machine.check_safety()
        ending = True
        machine.final_checks()
    except StepError as e:
        if not ending:
            raise ReplayError(f"step {applied + 1} {steps[applied]} does not apply: {e} (the "
                              "steps were not recorded on this machine and seed, or the "
                              "system changed since)") from None
        error = f"{type(e).__name__}: {e}"
    except Exception as e:  # the failure under replay, reported rather than raised
        error = f"{type(e).__name__}: {e}"
    return ReplayOutcome(applied, len(steps), error, record.get("error", ""),
                         in_end_checks=ending and error is not None, world=machine.world)
