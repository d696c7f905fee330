"""Messages: frozen dataclasses, registered with the wire codec.

A message is a value: hashable, comparable, printable, and encoded by :mod:`faultlab.sim.codec`.
The network treats *requests* and *replies* differently only in the lossy profiles (the labs
lose a reply after its request was executed), so a message class says which it is::

    @message
    class AppendEntries:            # a request (the default)
        term: int
        ...

    @message(reply=True)
    class AppendEntriesReply:
        term: int
        success: bool
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar, overload

from faultlab.sim.codec import register

T = TypeVar("T", bound=type)

__all__ = ["message", "is_reply"]


@overload
def message(cls: T) -> T: ...
@overload
def message(*, reply: bool = False) -> Callable[[T], T]: ...


def message(cls: Any = None, *, reply: bool = False) -> Any:
    """Turn a class into a frozen, slotted, registered message dataclass."""

    def wrap(c: T) -> T:
        dc = dataclasses.dataclass(frozen=True, slots=True)(c)
        dc.__faultlab_reply__ = reply
        dc.__deepcopy__ = _deepcopy_message
        register(dc)
        return dc

    return wrap(cls) if cls is not None else wrap


_ATOMIC = frozenset({int, str, bytes, bool, float, type(None)})


def _deepcopy_message(self: Any, memo: dict) -> Any:
    """A message whose fields are all plain values is its own copy (it is frozen); one
    holding a list, dict or another message is copied field by field."""
    values = [getattr(self, f) for f in self.__slots__]
    if all(type(v) in _ATOMIC for v in values):
        return self
    return type(self)(*(copy.deepcopy(v, memo) for v in values))


def is_reply(msg: object) -> bool:
    """True for messages declared with ``@message(reply=True)``."""
    return getattr(type(msg), "__faultlab_reply__", False)
