"""The kvsrv RPCs: Get and the versioned Put, as the lab's ``rpc`` package has them.

Each request carries ``rid``, the clerk's number for the call, and each reply echoes it: that
is what labrpc does for a Go call (a reply goes back to the call that sent its request), so a
reply that arrives late can never be taken for the answer to a later call. The server looks
at nothing else of it.

A clerk call's input is the checker's versioned-kv input: ``{"op": "get", "key": k}``
returns ``(value, version, err)``; ``{"op": "put", "key": k, "value": v, "version": n}``
returns an error code (OK, ErrVersion, ErrNoKey, or the clerk's ErrMaybe).
"""

from __future__ import annotations

from typing import Any

from faultlab.sim.messages import message

__all__ = ["GetArgs", "GetReply", "PutArgs", "PutReply", "request_from_input"]


@message
class GetArgs:
    rid: int
    key: str


@message(reply=True)
class GetReply:
    rid: int
    value: str
    version: int
    err: str


@message
class PutArgs:
    rid: int
    key: str
    value: str
    version: int


@message(reply=True)
class PutReply:
    rid: int
    err: str


def request_from_input(input: Any, rid: int) -> GetArgs | PutArgs:
    """The request of a clerk call's input (a one-line ValueError for a bad one)."""
    op = input.get("op") if isinstance(input, dict) else None
    try:
        if op == "get":
            return GetArgs(rid, str(input["key"]))
        if op == "put":
            return PutArgs(rid, str(input["key"]), str(input["value"]), int(input["version"]))
    except (KeyError, TypeError, ValueError):
        pass
    raise ValueError(f"not a kvsrv call: {input!r} (get with key, or put with key, value "
                     "and version)")
