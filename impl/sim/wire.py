"""The real transport's trust boundary: what a frame's payload must be before a node sees it.

Bytes from a socket are untrusted, while a node's handlers assume well-formed messages (a
handler that raises is a bug and stops the node). So :func:`parse_frame` lets through only
what a simulated network could have delivered, and rejects the rest with a
:class:`FrameError`, in time linear in the payload's length:

1. the payload decodes within :data:`WIRE_LIMITS` (integers of 64 bits, bounded lengths and
   nesting: what the protocols send, see :class:`~faultlab.sim.codec.Limits`);
2. it is a ``(sender, message)`` pair: a name and a ``@message`` record;
3. every record in it, the message and any carried in its fields, holds values of its
   fields' declared types (``int``, ``str``, ``tuple[X, ...]``, ``dict``, ``X | None``,
   another record, ``Any``, ...).

Whether the sender is a known node and whether the node takes that message is the runtime's
check (:mod:`faultlab.sim.realnet`): it depends on the node.
"""

from __future__ import annotations

import collections.abc as cabc
import types
import typing
from collections.abc import Callable
from typing import Any

from faultlab.sim import codec

__all__ = ["FrameError", "MAX_FRAME", "WIRE_LIMITS", "parse_frame", "check_fields",
           "field_checks"]

MAX_FRAME = 16 * 1024 * 1024  # a frame's payload: a Raft snapshot or a shard fits many times
WIRE_LIMITS = codec.Limits(max_int_bits=64, max_length=MAX_FRAME, max_items=1 << 20,
                           max_depth=32)

Check = Callable[[Any], bool]


class FrameError(ValueError):
    """A payload that is not a well-formed ``(sender, message)`` pair; the reason in words."""


def parse_frame(payload: bytes, limits: codec.Limits = WIRE_LIMITS) -> tuple[str, Any]:
    """The ``(sender, message)`` a frame's payload carries, checked as the module says."""
    try:
        value = codec.decode(payload, limits)
    except codec.CodecError as e:
        raise FrameError(f"undecodable: {e}") from None
    if not (type(value) is tuple and len(value) == 2 and type(value[0]) is str):
        raise FrameError("not a (sender, message) pair")
    src, msg = value
    if codec.record_fields(type(msg)) is None:
        raise FrameError(f"from {src!r}: a {type(msg).__name__}, not a message")
    check_fields(msg)
    return src, msg


def check_fields(value: Any) -> None:
    """Raise FrameError unless every record inside ``value`` has fields of their types."""
    t = type(value)
    if t is tuple or t is frozenset:
        for item in value:
            check_fields(item)
    elif t is dict:
        for kv in value.items():
            check_fields(kv)
    elif codec.record_fields(t) is not None:
        names, checks = field_checks(t)
        for name, check in zip(names, checks, strict=True):
            field = getattr(value, name)
            if not check(field):
                raise FrameError(f"{t.__name__}.{name} is a {type(field).__name__}, "
                                 f"not {_describe(t, name)}")
            check_fields(field)


_CACHE: dict[type, tuple[tuple[str, ...], tuple[Check, ...]]] = {}


def field_checks(cls: type, *, strict: bool = False) -> tuple[tuple[str, ...], tuple[Check, ...]]:
    """A record class's field names and a type test for each, from its annotations.

    An annotation that cannot be resolved or is of a form not known here admits any value
    (``strict`` raises TypeError instead: the tests hold every message class to it)."""
    cached = _CACHE.get(cls)
    if cached is not None and not strict:
        return cached
    names = codec.record_fields(cls)
    if names is None:
        raise TypeError(f"{cls.__name__} is not a registered message class")
    try:
        hints = typing.get_type_hints(cls)
    except Exception as e:  # a forward reference that does not resolve
        if strict:
            raise TypeError(f"{cls.__name__}: annotations do not resolve: {e}") from None
        hints = {}
    checks = []
    for name in names:
        try:
            checks.append(_check_for(hints.get(name, Any)))
        except TypeError:
            if strict:
                raise TypeError(f"{cls.__name__}.{name}: unsupported annotation "
                                f"{hints.get(name)!r}") from None
            checks.append(_anything)
    _CACHE[cls] = result = (names, tuple(checks))
    return result


def _describe(cls: type, name: str) -> str:
    hint = typing.get_type_hints(cls).get(name, Any)
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def _anything(_v: Any) -> bool:
    return True


_EXACT: dict[Any, Check] = {
    str: lambda v: type(v) is str,
    bytes: lambda v: type(v) is bytes,
    bool: lambda v: type(v) is bool,
    int: lambda v: type(v) is int or type(v) is bool,
    float: lambda v: type(v) is float or type(v) is int,
    type(None): lambda v: v is None,
}
_SEQUENCES = (tuple, list, cabc.Sequence)
_SETS = (frozenset, set, cabc.Set)
_MAPS = (dict, cabc.Mapping)


def _check_for(tp: Any) -> Check:
    """A test for one annotation (a decoded value: sequences are tuples, sets frozensets)."""
    if tp is Any or tp is object:
        return _anything
    if tp in _EXACT:
        return _EXACT[tp]
    if tp is None:
        return _EXACT[type(None)]
    if isinstance(tp, type) and codec.record_fields(tp) is not None:
        return lambda v: type(v) is tp
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Union or origin is types.UnionType:
        alternatives = tuple(_check_for(a) for a in args)
        return lambda v: any(c(v) for c in alternatives)
    kind = origin or tp
    if kind in _SEQUENCES:
        if origin is tuple and args and args[-1] is not Ellipsis:
            return _fixed_tuple(tuple(_check_for(a) for a in args))
        item = _check_for(args[0]) if args else _anything
        return lambda v: type(v) is tuple and all(item(x) for x in v)
    if kind in _SETS:
        item = _check_for(args[0]) if args else _anything
        return lambda v: type(v) is frozenset and all(item(x) for x in v)
    if kind in _MAPS:
        key, val = (_check_for(args[0]), _check_for(args[1])) if args else (_anything,) * 2
        return lambda v: type(v) is dict and all(key(k) and val(x) for k, x in v.items())
    raise TypeError(f"unsupported annotation {tp!r}")


def _fixed_tuple(items: tuple[Check, ...]) -> Check:
    return lambda v: (type(v) is tuple and len(v) == len(items)
                      and all(c(x) for c, x in zip(items, v, strict=True)))
