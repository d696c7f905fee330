"""The key/value operations, the RPCs that carry them, and the errors.

A clerk call is the checker's kv input: ``{"op": "get", "key": k}`` returns the value (""
for a missing key); ``{"op": "put" | "append", "key": k, "value": v}`` returns None;
``{"op": "vput", "key": k, "value": v, "version": n}`` (the versioned conditional Put of the
2025 labs) returns an error code: OK, ErrVersion or ErrNoKey.

The command that goes through the log is an :class:`Op`: the operation plus the clerk's id
and sequence number, which the state machine's duplicate table uses to apply a retried write
once.
"""

from __future__ import annotations

from typing import Any

from faultlab.sim.messages import message

__all__ = [
    "OK", "ERR_NO_KEY", "ERR_WRONG_LEADER", "ERR_VERSION", "ERR_MAYBE",
    "GET", "PUT", "APPEND", "VPUT", "OPS", "Op", "KVRequest", "KVReply", "KVForward",
    "KVForwardReply", "op_from_input",
]

OK = "OK"
ERR_NO_KEY = "ErrNoKey"
ERR_WRONG_LEADER = "ErrWrongLeader"   # not taken here, or lost: try again (maybe elsewhere)
ERR_VERSION = "ErrVersion"
ERR_MAYBE = "ErrMaybe"                # a clerk's answer: the write may or may not have applied

GET, PUT, APPEND, VPUT = "get", "put", "append", "vput"
OPS = (GET, PUT, APPEND, VPUT)


@message
class Op:
    """One command of the key/value state machine."""

    kind: str
    key: str
    value: str = ""
    version: int = 0
    client: str = ""
    seq: int = 0


@message
class KVRequest:
    """A clerk's operation, sent to one server."""

    op: Op


@message(reply=True)
class KVReply:
    """The answer to the request ``seq`` of the clerk: an error code, a Get's value and
    version, and the server the replier believes takes proposals ("" when unknown)."""

    seq: int
    err: str
    value: str = ""
    version: int = 0
    leader: str = ""


@message
class KVForward:
    """A server that does not lead passes a clerk's request to the one it believes does
    (``op``: the service's command, an :class:`Op` for the key/value service)."""

    client: str
    op: Any


@message(reply=True)
class KVForwardReply:
    """The leader's answer to a forwarded request, for the forwarder to pass on (the
    service's reply: a :class:`KVReply` for the key/value service)."""

    client: str
    reply: Any


def op_from_input(input: Any, client: str, seq: int) -> Op:
    """The Op of a clerk call's input dict (a one-line ValueError for a bad one)."""
    if not isinstance(input, dict) or input.get("op") not in OPS:
        raise ValueError(f"not a key/value operation: {input!r} (op must be one of {OPS})")
    kind = input["op"]
    return Op(kind, str(input["key"]), str(input.get("value", "")),
              int(input.get("version", 0)), client, seq)
