"""The lab's lock, built on a clerk's Get and versioned Put alone.

The lock is the key ``key``: free when it is missing or holds "", held by whoever's id it
holds. ``acquire`` reads it; when free, it writes its own id with the version it read, which
succeeds for exactly one of the clerks that read that version. ``release`` writes "" over its
own id, with the version it read.

ErrMaybe (a resent Put met ErrVersion) is settled by reading again: the key holds this
holder's id exactly when its Put applied. An ErrMaybe release is settled the same way (the
key no longer holds the id).

``acquire`` and ``release`` are clerk loops, as :class:`faultlab.tools.clients.Clients` runs
them: generators that yield ``("call", input)`` (a call on their clerk; the output is sent
back) and ``("sleep", seconds)``. Use them with ``yield from lock.acquire()``.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from faultlab.kv.messages import ERR_NO_KEY, OK

__all__ = ["Lock", "POLL", "Steps"]

POLL = 0.001  # how long a clerk that found the lock held waits before reading it again
Steps = Generator[tuple[str, Any], Any, None]


class Lock:
    """The lock on ``key`` as holder ``me`` (an id no other holder uses)."""

    def __init__(self, key: str, me: str, *, poll: float = POLL) -> None:
        if not me:
            raise ValueError("a lock holder's id must not be empty (\"\" means free)")
        self.key = key
        self.me = me
        self.poll = poll

    def _get(self) -> dict:
        return {"op": "get", "key": self.key}

    def _put(self, value: str, version: int) -> dict:
        return {"op": "put", "key": self.key, "value": value, "version": version}

    def acquire(self) -> Steps:
        """Return once this holder holds the lock."""
        while True:
            value, version, err = yield ("call", self._get())
            if err == OK and value == self.me:
                return  # an ErrMaybe Put of ours had applied
            if err == ERR_NO_KEY or (err == OK and value == ""):
                if (yield ("call", self._put(self.me, version))) == OK:
                    return
                continue  # ErrVersion: another holder came first; ErrMaybe: read again
            yield ("sleep", self.poll)

    def release(self) -> Steps:
        """Return once the lock no longer names this holder."""
        while True:
            value, version, err = yield ("call", self._get())
            if err != OK or value != self.me:
                return  # not (or no longer) ours: an ErrMaybe release had applied
            if (yield ("call", self._put("", version))) == OK:
                return
