"""The replay file's schema, version :data:`REPLAY_FORMAT`: what each field must hold.

A replay file is input a user may have been handed, so it is checked whole before anything
runs: each problem is reported as the file, the field (``steps[3][1]``) and what it should
be. Which machine may run is decided separately (:func:`faultlab.tools.replay.load_replay`
takes only the registry's machines).

Version 1 fields (any other field is an error: a newer format changes the version)::

    faultlab_replay    1
    machine            "module:Class" of a WorldMachine, or a registry name
    seed               a whole number
    steps              a list of World steps, each [op, args...]:
                         deliver | drop | duplicate | fire     [op, id]
                         crash | restart | isolate | deafen    [op, node]
                         block                                 [op, node, node]
                         partition                             [op, [[node, ...], ...]]
                         heal                                  [op]
                         slow                                  [op, node, seconds]
                         advance                               [op, seconds]
                         invoke                                [op, clerk, input]
                         set_profile | mark                    [op, name]
    faults             (optional) fault kinds, each one of drop, duplicate, crash, partition
    error              (optional) the recorded failure, "Type: message"
    shrunk_from, exploration_steps   (optional, written by --shrink) whole numbers >= 0
    described          (optional, written by --shrink) the steps in words
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

__all__ = ["REPLAY_FORMAT", "SchemaError", "validate"]

REPLAY_FORMAT = 1


class SchemaError(ValueError):
    """A field of a replay record does not hold what the schema says."""


Check = tuple[Callable[[Any], bool], str]  # a test and what it wants, in words

WHOLE: Check = (lambda v: type(v) is int, "a whole number")
COUNT: Check = (lambda v: type(v) is int and v >= 0, "a whole number >= 0")
ID: Check = (WHOLE[0], "a message or timer id (a whole number)")
NODE: Check = (lambda v: type(v) is str and v != "", "a node name (a string)")
LABEL: Check = (lambda v: type(v) is str, "a label (a string)")
SECONDS: Check = (lambda v: type(v) in (int, float) and math.isfinite(v) and v >= 0,
                  "seconds (a finite number >= 0)")
GROUPS: Check = (lambda v: type(v) is list and all(
    type(g) is list and all(NODE[0](n) for n in g) for g in v), "a list of lists of node names")
ANY: Check = (lambda v: True, "a value")
STRINGS: Check = (lambda v: type(v) is list and all(type(s) is str for s in v),
                  "a list of strings")

_STEPS: dict[str, tuple[Check, ...]] = {
    **{op: (ID,) for op in ("deliver", "drop", "duplicate", "fire")},
    **{op: (NODE,) for op in ("crash", "restart", "isolate", "deafen", "set_profile")},
    "mark": (LABEL,),
    "block": (NODE, NODE),
    "partition": (GROUPS,),
    "heal": (),
    "slow": (NODE, SECONDS),
    "advance": (SECONDS,),
    "invoke": (NODE, ANY),
}
_OPTIONAL: dict[str, Check] = {
    "faults": (lambda v: STRINGS[0](v) and set(v) <= set(_fault_kinds()),
               "a list of fault kinds (drop, duplicate, crash, partition)"),
    "error": (lambda v: type(v) is str, "the recorded failure (a string)"),
    "shrunk_from": COUNT,
    "exploration_steps": COUNT,
    "described": STRINGS,
}


def _fault_kinds() -> tuple[str, ...]:
    from faultlab.tools.explore import FAULTS  # the explorer's (it imports this module)

    return FAULTS


def _show(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def validate(record: Any) -> dict:
    """``record`` itself if it is a version-1 replay record; else SchemaError naming the
    first field that is wrong and what it should hold."""
    if type(record) is not dict:
        raise SchemaError("not a JSON object")
    version = record.get("faultlab_replay")
    if version != REPLAY_FORMAT or type(version) is not int:
        raise SchemaError(f"field 'faultlab_replay': {_show(version)} is not a replay format "
                          f"this faultlab reads (it reads {REPLAY_FORMAT})")
    for key in ("machine", "seed", "steps"):
        if key not in record:
            raise SchemaError(f"missing field {key!r}")
    if not NODE[0](record["machine"]):
        raise SchemaError(f"field 'machine': {_show(record['machine'])} is not a machine name")
    if not WHOLE[0](record["seed"]):
        raise SchemaError(f"field 'seed': {_show(record['seed'])} is not a whole number")
    if type(record["steps"]) is not list:
        raise SchemaError("field 'steps': not a list of steps")
    for i, step in enumerate(record["steps"]):
        _check_step(i, step)
    for key, value in record.items():
        if key in ("faultlab_replay", "machine", "seed", "steps"):
            continue
        if key not in _OPTIONAL:
            raise SchemaError(f"unknown field {key!r} (version {REPLAY_FORMAT} has "
                              f"machine, seed, steps, {', '.join(_OPTIONAL)})")
        check, what = _OPTIONAL[key]
        if not check(value):
            raise SchemaError(f"field {key!r}: {_show(value)} is not {what}")
    return record


def _check_step(i: int, step: Any) -> None:
    where = f"field 'steps[{i}]'"
    if type(step) is not list or not step or type(step[0]) is not str:
        raise SchemaError(f"{where}: {_show(step)} is not a step [op, args...]")
    op, args = step[0], step[1:]
    shape = _STEPS.get(op)
    if shape is None:
        raise SchemaError(f"field 'steps[{i}][0]': unknown step {_show(op)} (one of "
                          f"{', '.join(sorted(_STEPS))})")
    if len(args) != len(shape):
        raise SchemaError(f"{where}: {op} takes {len(shape)} argument"
                          f"{'' if len(shape) == 1 else 's'}, not {len(args)}")
    for k, ((check, what), arg) in enumerate(zip(shape, args, strict=True), 1):
        if not check(arg):
            raise SchemaError(f"field 'steps[{i}][{k}]': {_show(arg)} is not {what}")
