"""Seeded bugs of the key/value service, as subclasses of the correct server: each is one
mistake a student's kvraft makes, and the tests must catch every one of them. The
production classes carry no bug flags; a test passes one of these as ``server=``.

* :class:`NoDuplicateDetection`: a retried write is applied again.
* :class:`LocalGet`: a Get is answered from this replica's state, without the log (a stale
  or minority replica answers).
* :class:`SnapshotWithoutDuplicates`: the snapshot holds the store but not the duplicate
  table, so after a restart from it a retried write is applied again.
* :class:`ReplyForAnyCommand`: a proposal whose index committed another command is answered
  as if it were the clerk's (the write was lost, the clerk is told OK).
"""

from __future__ import annotations

from typing import Any

from faultlab.consensus import Outcome
from faultlab.kv.messages import GET, OK, KVReply, Op
from faultlab.kv.server import KVServer
from faultlab.kv.store import KVStore, Result
from faultlab.sim import codec

__all__ = ["BUGS", "NoDuplicateDetection", "LocalGet", "SnapshotWithoutDuplicates",
           "ReplyForAnyCommand"]


class _StoreWithoutDuplicates(KVStore):
    def apply(self, op: Op) -> Result:
        return self.execute(op)


class NoDuplicateDetection(KVServer):
    def make_state_machine(self) -> KVStore:
        return _StoreWithoutDuplicates()


class LocalGet(KVServer):
    def serve(self, src: str, op: Op, forwarded_for: str) -> None:
        if op.kind == GET:
            err, value, version = self.sm.execute(op)
            self.reply_to(src, forwarded_for, KVReply(op.seq, err, value, version))
            return
        super().serve(src, op, forwarded_for)


class _StoreSnapshotWithoutDuplicates(KVStore):
    def snapshot(self) -> bytes:
        return codec.encode(([], sorted((k, v, n) for k, (v, n) in self.data.items())))


class SnapshotWithoutDuplicates(KVServer):
    def make_state_machine(self) -> KVStore:
        return _StoreSnapshotWithoutDuplicates()


class ReplyForAnyCommand(KVServer):
    def answer(self, waiter: Any, outcome: Outcome, result: Result | None) -> None:
        if outcome is Outcome.LOST:
            outcome, result = Outcome.COMMITTED, (OK, "", 0)
        super().answer(waiter, outcome, result)


BUGS: dict[str, type[KVServer]] = {
    "no_duplicate_detection": NoDuplicateDetection,
    "local_get": LocalGet,
    "snapshot_without_duplicates": SnapshotWithoutDuplicates,
    "reply_for_any_command": ReplyForAnyCommand,
}
