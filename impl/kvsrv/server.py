"""The kvsrv server: one node that executes each Get and Put on a
:class:`~faultlab.kv.store.KVStore` (the replicated service's state machine, whose versioned
Put is the lab's) as it arrives, and answers.

It keeps nothing per clerk: no duplicate table, no cached replies, so its memory is the
store's and nothing else, however many clerks and retries there are (the lab's memory test).
A resent Put is executed again; the version makes that harmless, because a Put that applied
bumped the version and its copy is refused with ErrVersion.
"""

from __future__ import annotations

from typing import Any

from faultlab.kv.messages import GET, VPUT, Op
from faultlab.kv.store import KVStore
from faultlab.kvsrv.messages import GetArgs, GetReply, PutArgs, PutReply
from faultlab.sim.node import Node

__all__ = ["KVServer"]


class KVServer(Node):
    """The single key/value server (see the module docstring)."""

    def on_start(self) -> None:
        self.store = KVStore()

    def on_message(self, src: str, msg: Any) -> None:
        if isinstance(msg, GetArgs):
            err, value, version = self.store.execute(Op(GET, msg.key))
            self.ctx.send(src, GetReply(msg.rid, value, version, err))
        elif isinstance(msg, PutArgs):
            self.ctx.send(src, PutReply(msg.rid, self.put(msg)))

    def put(self, msg: PutArgs) -> str:
        """Execute a versioned Put; its error code."""
        return self.store.execute(Op(VPUT, msg.key, msg.value, msg.version))[0]

    def fingerprint_state(self) -> Any:
        return sorted(self.store.data.items())
