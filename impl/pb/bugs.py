"""Seeded bugs of the primary/backup service, as subclasses of the correct nodes: each is one
mistake a student's pbservice makes, and the Hypothesis machine (faultlab.pb.explore) must
catch every one of them. The production classes carry no bug flags; a machine or the demo
passes one of these to :func:`faultlab.pb.cluster.build`.

* :class:`ReplyBeforeBackupAck`: the primary applies and answers an operation at once and
  forwards it to the backup without waiting (the backup can be behind what a clerk saw).
* :class:`NoDuplicateDetection`: the primary ignores the at-most-once table, so a retried
  or duplicated Put/Append is applied again.
* :class:`AdvanceWithoutAck`: the viewservice changes views without the primary's
  acknowledgement of the current one.
"""

from __future__ import annotations

from faultlab.pb.server import PBServer
from faultlab.pb.viewservice import ViewServer

__all__ = ["ReplyBeforeBackupAck", "NoDuplicateDetection", "AdvanceWithoutAck"]


class ReplyBeforeBackupAck(PBServer):
    def replicate(self) -> None:
        self.send_forward()
        self.ctx.cancel_timer("peer")
        self.commit()


class NoDuplicateDetection(PBServer):
    def is_duplicate(self, client: str, seq: int) -> bool:
        return False


class AdvanceWithoutAck(ViewServer):
    def may_change_view(self) -> bool:
        return True
