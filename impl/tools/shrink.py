"""Shrink a recorded failure to a minimal list of steps (delta debugging on World steps).

Hypothesis shrinks the *choices* of an exploration, but a choice such as "deliver the 3rd
message in flight" changes meaning when an earlier step is removed, so its shrinker often
stops at a local minimum. This module shrinks the World's own steps instead, naming each
message and timer by what it is (sender, receiver, contents; node and timer name) rather than
by its id. A candidate (a subset of the steps) is re-executed on a fresh World: a step whose
message or timer no longer exists is skipped, the invariants run after every step and the
settling end checks at the end. A candidate is kept when it fails the same way: same
exception type and the same message up to its first colon (``stale read: ...``).

The result is the shortest failing subset that ddmin finds, followed by a pass that tries
removing each remaining step; it is written back as an ordinary replay file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from faultlab.sim import codec
from faultlab.sim.world import SimError, StepError, World
from faultlab.tools.explore import SETTLE, WorldMachine
from faultlab.tools.replay import ReplayError, machine_class

__all__ = ["shrink", "failure_signature"]

Key = tuple


def failure_signature(error: BaseException | str) -> str:
    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    kind, _, message = text.partition(": ")
    return f"{kind}: {message.split(':')[0].strip()}"


def _key(world: World, step: Sequence[Any]) -> Key:
    op = step[0]
    if op in ("deliver", "drop", "duplicate"):
        e = world.in_flight[step[1]]
        return (op, e.src, e.dst, e.data)
    if op == "fire":
        p = world.pending[step[1]]
        return (op, p.node, p.kind, p.name, p.dst, codec.encode(p.msg))
    return tuple(_freeze(x) for x in step)


def _freeze(v: Any) -> Any:
    if isinstance(v, list):
        return tuple(_freeze(x) for x in v)
    if isinstance(v, dict):
        return ("__dict__", tuple((k, _freeze(x)) for k, x in v.items()))
    return v


def _thaw(v: Any) -> Any:
    if isinstance(v, tuple) and len(v) == 2 and v[0] == "__dict__":
        return {k: _thaw(x) for k, x in v[1]}
    if isinstance(v, tuple):
        return [_thaw(x) for x in v]
    return v


def _resolve(world: World, key: Key) -> list | None:
    op = key[0]
    if op in ("deliver", "drop", "duplicate"):
        for e in world.in_flight.values():
            if (e.src, e.dst, e.data) == key[1:4]:
                return [op, e.id]
        return None
    if op == "fire":
        for p in world.pending.values():
            if (p.node, p.kind, p.name, p.dst) == key[1:5] and codec.encode(p.msg) == key[5]:
                return [op, p.id]
        return None
    return _thaw(key)


def _run(cls: type[WorldMachine], record: dict, keys: Sequence[Key]) -> tuple[str | None, list]:
    """Execute keyed steps on a fresh World; the failure (or None) and the steps taken."""
    machine = cls()
    machine.seed = record["seed"]
    machine.faults = frozenset(record.get("faults", ()))
    machine.world = cls.build_world(record["seed"])
    try:
        machine.check_safety()
        for key in keys:
            step = _resolve(machine.world, key)
            if step is None:
                continue
            try:
                machine.world.apply_step(step)
            except SimError:
                continue  # the step makes no sense any more (a clerk is busy, ...)
            machine.check_safety()
        machine.settle_and_check()
    except Exception as e:
        return f"{type(e).__name__}: {e}", list(machine.world.steps or [])
    return None, list(machine.world.steps or [])


def _ddmin(items: list, fails: Callable[[list], bool]) -> list:
    n = 2
    while len(items) >= 2:
        chunk = max(1, len(items) // n)
        subsets = [items[i:i + chunk] for i in range(0, len(items), chunk)]
        reduced = False
        for k in range(len(subsets)):
            complement = [x for j, s in enumerate(subsets) if j != k for x in s]
            if fails(complement):
                items, n, reduced = complement, max(n - 1, 2), True
                break
        if not reduced:
            if n >= len(items):
                break
            n = min(len(items), 2 * n)
    k = 0
    while k < len(items):  # one more pass: is any single step still unnecessary?
        candidate = items[:k] + items[k + 1:]
        if fails(candidate):
            items = candidate
        else:
            k += 1
    return items


def shrink(record: dict, *, max_runs: int = 2000) -> dict:
    """A replay record whose steps are a minimal subset that fails the same way.
    ReplayError when the record has no recorded error or a step that does not apply;
    ValueError when its steps do not fail that way."""
    if not record.get("error"):
        raise ReplayError("no recorded failure (field 'error') to shrink towards")
    cls = machine_class(record["machine"])
    target = failure_signature(record["error"])
    world = cls.build_world(record["seed"])
    keys: list[Key] = []
    for i, step in enumerate(record["steps"], 1):
        if list(step) == ["mark", SETTLE]:
            break
        try:
            keys.append(_key(world, step))
            world.apply_step(step)
        except (StepError, KeyError) as e:  # KeyError: an id that names nothing in flight
            raise ReplayError(f"step {i} {step} does not apply: {e}") from None
        except SimError:
            raise
        except Exception:  # the failure itself (a monitor observing the World raised)
            break
    runs = 0

    def fails(candidate: list) -> bool:
        nonlocal runs
        runs += 1
        if runs > max_runs:
            return False
        error = _run(cls, record, candidate)[0]
        return error is not None and failure_signature(error) == target

    if not fails(keys):
        raise ValueError(f"the recorded steps do not fail with {target!r}")
    small = _ddmin(keys, fails)
    error, steps = _run(cls, record, small)
    return {**record, "steps": steps, "error": error, "shrunk_from": len(keys),
            "exploration_steps": len(small), "described": [describe(k) for k in small]}


def describe_steps(cls: type[WorldMachine], seed: int, steps: Sequence[Any]) -> list[str]:
    """Recorded steps as a person reads them, by replaying them on a fresh World."""
    world = cls.build_world(seed)
    texts = []
    for step in steps:
        texts.append(describe_step(world, step))
        world.apply_step(step)
    return texts


def describe_step(world: World, step: Sequence[Any]) -> str:
    """A step about to be applied to ``world``, in words (the raw step when it does not
    apply: its id names nothing)."""
    try:
        return describe(_key(world, step))
    except (KeyError, IndexError, TypeError):
        return " ".join(map(str, step))


def describe(key: Key) -> str:
    """A step as a person reads it: ``deliver Write c0 -> primary``."""
    op = key[0]
    if op in ("deliver", "drop", "duplicate"):
        msg = codec.decode(key[3])
        return f"{op} {type(msg).__name__} {key[1]} -> {key[2]}: {msg}"
    if op == "fire":
        _, node, kind, name, dst, _msg = key
        return f"fire timer {name!r} at {node}" if name else f"{node} learns a send to {dst} failed"
    return " ".join(str(_thaw(a)) for a in key)
