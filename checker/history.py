"""Histories: operations with call/return times, and the equivalent ordered event list.

An operation's interval is closed: two operations that touch at one instant are concurrent,
so ``a`` precedes ``b`` in real time only when ``a.ret < b.call``. An operation with
``ret is None`` is *open* (indeterminate): it may take effect at any point after its call,
or never, and its output is unknown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal


class _Unknown:
    """Sentinel passed to ``Model.step`` as the output of an open operation."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __reduce__(self):
        return (_Unknown, ())


#: The output a model sees for an open operation: it must match anything.
UNKNOWN: Any = _Unknown()


@dataclass(frozen=True, slots=True)
class Operation:
    """One client operation: what was asked, what came back, and when (slots: a long
    history holds millions)."""

    client: int | str
    input: Any
    output: Any
    call: float
    ret: float | None
    meta: Mapping | None = None

    @property
    def is_open(self) -> bool:
        """True when the operation never returned (it may or may not have taken effect)."""
        return self.ret is None


@dataclass(frozen=True)
class Event:
    """A call or return event; ``id`` pairs a return with its call."""

    kind: Literal["call", "return"]
    id: int
    client: int | str
    value: Any
    meta: Mapping | None = None


def is_key(v: Any) -> bool:
    """Whether ``v`` can name a key (a register, a partition): a number or a string."""
    return isinstance(v, int | float | str) and not isinstance(v, bool)


def events_to_operations(events: Iterable[Event]) -> list[Operation]:
    """Turn an ordered event list into operations, using each event's position as its time.

    A call without a return becomes an open operation. Raises ValueError for a return
    without a call or a duplicated id, since those histories are not well formed.
    """
    pending: dict[int, tuple[Event, int]] = {}
    done: list[tuple[int, Operation]] = []
    seen: set[int] = set()
    for t, ev in enumerate(events):
        if ev.kind == "call":
            if ev.id in seen:
                raise ValueError(f"event {t}: duplicate call id {ev.id!r}")
            seen.add(ev.id)
            pending[ev.id] = (ev, t)
        elif ev.kind == "return":
            if ev.id not in pending:
                raise ValueError(f"event {t}: return for id {ev.id!r} without a pending call")
            call_ev, call_t = pending.pop(ev.id)
            meta = _merge_meta(call_ev.meta, ev.meta)
            op = Operation(call_ev.client, call_ev.value, ev.value, float(call_t), float(t), meta)
            done.append((call_t, op))
        else:
            raise ValueError(f"event {t}: unknown kind {ev.kind!r}")
    for call_ev, call_t in pending.values():
        done.append((call_t, Operation(call_ev.client, call_ev.value, None, float(call_t), None,
                                       call_ev.meta)))
    done.sort(key=lambda p: p[0])
    return [op for _, op in done]


def operations_to_events(ops: Sequence[Operation]) -> list[Event]:
    """Turn operations into an ordered event list (ids are list positions).

    At equal times calls are placed before returns, which keeps touching operations
    concurrent as the closed-interval semantics requires. Open operations give only a call.
    """
    keyed: list[tuple[float, int, int, Event]] = []
    for i, op in enumerate(ops):
        keyed.append((op.call, 0, i, Event("call", i, op.client, op.input, op.meta)))
        if op.ret is not None:
            if op.ret < op.call:
                raise ValueError(f"operation {i}: returns ({op.ret}) before its call ({op.call})")
            keyed.append((op.ret, 1, i, Event("return", i, op.client, op.output)))
    keyed.sort(key=lambda k: k[:3])
    return [k[3] for k in keyed]


def _merge_meta(a: Mapping | None, b: Mapping | None) -> Mapping | None:
    if not a:
        return b or None
    if not b:
        return a
    return {**a, **b}
