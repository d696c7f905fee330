"""Abstract-state traces: what the TLA+ conformance checker reads.

A :class:`TraceRecorder` observes a World. After every primitive step it writes one JSON
line with the step, the message or timer it handled, the virtual time, and the
``abstract_state()`` of every live node that has one (crashed nodes appear as null, so a
restart is visible). Systems document the fields of their abstract state beside their code.

Line schema (``faultlab_trace`` version 1; the first line is a header)::

    {"faultlab_trace": 1, "system": "raft", "seed": 7, "nodes": ["s0", "s1", "s2"]}
    {"i": 1, "t": 0.153, "step": ["fire", 3], "event": {"kind": "timer", "node": "s0",
     "name": "election"}, "states": {"s0": {...}, "s1": {...}, "s2": {...}}}

``event`` is ``{"kind": "message", "src", "dst", "type", "fields"}`` for a delivery,
``{"kind": "timer", "node", "name"}`` for a timer, ``{"kind": "send-failed", "node", "dst",
"type", "fields"}`` for a send-failure notice (the request that was not delivered),
``{"kind": "duplicate", "src", "dst", "type", "fields"}`` for the message a duplicate step
copied, or absent for steps that handle nothing (a delivery lost on arrival, crash, restart,
partition, heal, invoke...). ``lost``, when present, lists the messages this step made sure
will never arrive (``{"src", "dst", "type", "fields", "why"}``: lost on send or on arrival,
dropped), so a checker can take them out of its model of the network.

Every lab tester and machine records a trace per run when ``FAULTLAB_TRACE_DIR`` names a
folder; :func:`trace_path` is the one place that reads it.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import IO, Any

from faultlab.sim.world import Envelope, Pending, World

__all__ = ["TraceRecorder", "TRACE_FORMAT", "TRACE_ENV", "trace_path"]

TRACE_FORMAT = 1
TRACE_ENV = "FAULTLAB_TRACE_DIR"


def trace_path(file_name: str) -> Path | None:
    """``$FAULTLAB_TRACE_DIR/file_name`` (the folder created), or None when tracing is off."""
    folder = os.environ.get(TRACE_ENV)
    if not folder:
        return None
    Path(folder).mkdir(parents=True, exist_ok=True)
    return Path(folder) / file_name


def _plain(v: Any) -> Any:
    """JSON-compatible form of a state or message field (tuples become lists)."""
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return {f.name: _plain(getattr(v, f.name)) for f in dataclasses.fields(v)}
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, (set, frozenset)):
        return sorted((_plain(x) for x in v), key=repr)
    if isinstance(v, bytes):
        return v.hex()
    return v


class TraceRecorder:
    """Observer that records one trace line per World step (into ``lines``, and a file)."""

    def __init__(self, world: World, system: str, out: IO[str] | None = None) -> None:
        self.world = world
        self.out = out
        self.lines: list[dict] = []
        self._count = 0
        self._emit({"faultlab_trace": TRACE_FORMAT, "system": system, "seed": world.seed,
                    "nodes": world.servers})
        self._emit({"i": 0, "t": world.now, "step": ["init"], "states": self._states()})
        self._lost: list[dict] = []
        world.observers.append(self)
        world.loss_observers.append(self._on_lose)

    def _on_lose(self, env: Envelope, why: str) -> None:
        self._lost.append({"src": env.src, "dst": env.dst, "type": type(env.msg).__name__,
                           "fields": _plain(env.received()), "why": why})

    def _states(self) -> dict[str, Any]:
        w = self.world
        return {name: (_plain(w.nodes[name].abstract_state()) if name in w.nodes else None)
                for name in w.servers}

    def _emit(self, line: dict) -> None:
        self.lines.append(line)
        if self.out is not None:
            self.out.write(json.dumps(line, separators=(",", ":")) + "\n")

    def __call__(self, world: World, step: tuple) -> None:
        self._count += 1
        line: dict[str, Any] = {"i": self._count, "t": world.now, "step": _plain(step)}
        last = world.last
        # ``last`` is what the latest handled delivery or firing was: it belongs to this step
        # only when its id is the step's (a message lost on arrival handles nothing)
        this = len(step) > 1 and last is not None and last.id == step[1]
        if step[0] == "deliver" and isinstance(last, Envelope) and this:
            line["event"] = {"kind": "message", "src": last.src, "dst": last.dst,
                             "type": type(last.msg).__name__, "fields": _plain(last.received())}
        elif step[0] == "fire" and isinstance(last, Pending) and this:
            line["event"] = ({"kind": "timer", "node": last.node, "name": last.name}
                             if last.is_timer else
                             {"kind": "send-failed", "node": last.node, "dst": last.dst,
                              "type": type(last.msg).__name__, "fields": _plain(last.msg)})
        elif step[0] == "duplicate" and step[1] in world.in_flight:
            env = world.in_flight[step[1]]
            line["event"] = {"kind": "duplicate", "src": env.src, "dst": env.dst,
                             "type": type(env.msg).__name__, "fields": _plain(env.received())}
        if self._lost:
            line["lost"], self._lost = self._lost, []
        line["states"] = self._states()
        self._emit(line)
