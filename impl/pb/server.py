"""A pbservice server: a key/value store replicated by a primary and a backup.

Protocol (2015 lab 2B, as message passing):

* **Views.** Every ``PING_INTERVAL`` the server pings the viewservice and learns the current
  view. It pings with 0 while it holds no state (just started or restarted), so the
  viewservice treats a restarted server as dead for its old role.
* **State and readiness.** ``synced`` is the number of the view for which this server's store
  is known to be complete. The primary of view 1 starts from the empty store (only the
  incarnation the viewservice marked ``genesis``). A server that learns view n+1 in which it
  is primary takes over only if it held the complete state of view n (it was that view's
  primary, or its backup and received the state transfer); otherwise it never serves in that
  view (its data was lost with a crash), which is the lab's "uninitialised server can't
  become primary".
* **State transfer.** A primary whose view has a backup sends it the whole state (store,
  at-most-once table, operation index) and serves nothing until the backup acknowledged it.
  Only then does the primary acknowledge the view to the viewservice, so a backup is never
  promoted before it has the data.
* **Operations.** The primary handles one operation at a time, in arrival order. It gives a
  Put/Append the next operation index and forwards it to the backup, which applies it only in
  index order, in the same view, and only if it is that view's backup with the state of that
  view; the primary applies it and answers the clerk after the backup acknowledged. A Get is
  forwarded too: the backup's acknowledgement proves that no newer view has started (the
  backup would have learned it before any new primary serves), so a primary cut off from the
  viewservice, whose backup moved on, does not serve a stale value. A backup that knows a
  newer view answers ``ErrWrongView`` and the old primary stops serving; one that lacks the
  state answers ``ErrNotSynced`` and gets a new transfer.
* **At most once.** Clerks number their requests; the at-most-once table keeps each clerk's
  highest applied Put/Append number and travels with the state, so a retried or duplicated
  request is applied once, even after a failover.

Seeded bugs are subclasses in :mod:`faultlab.pb.bugs` that override a hook:
:meth:`PBServer.is_duplicate` (the at-most-once check) or :meth:`PBServer.replicate` (what the
primary does with an operation while it has a backup).

Abstract state (``abstract_state``, for traces): ``view`` = [num, primary, backup] as this
server knows it; ``role`` = "primary", "backup" or "idle" in that view; ``serving`` = whether
it answers clerks now (primary, with the view's state, backup initialised, not stale);
``synced`` = the view whose complete state it holds (0 = none); ``backup_synced`` = the view
for which its backup acknowledged the transfer (primaries); ``applied`` = the number of
Put/Appends in its store; ``store`` = the key/value map.
"""

from __future__ import annotations

from typing import Any

from faultlab.pb.common import (
    ERR_NOT_SYNCED,
    ERR_WRONG_SERVER,
    ERR_WRONG_VIEW,
    NO_VIEW,
    OK,
    PEER_RETRY,
    PING_INTERVAL,
    VIEWSERVICE,
    PBForward,
    PBForwardReply,
    PBGet,
    PBPutAppend,
    PBReply,
    PBTransfer,
    PBTransferReply,
    View,
    VSPing,
    VSPingReply,
)
from faultlab.sim.node import Node

__all__ = ["PBServer"]

# A request waiting at the primary: (client, seq, op, key, value), op in get/put/append.
Request = tuple[str, int, str, str, str]


class PBServer(Node):
    """One pbservice server; see the module docstring for the protocol."""

    def __init__(self, *, viewservice: str = VIEWSERVICE) -> None:
        self.vs = viewservice
        self.view = NO_VIEW
        self.synced = 0
        self.backup_synced = 0
        self.applied = 0
        self.xfer = 0  # primary: number of my latest state transfer
        self.installed = (0, 0)  # backup: (view, xfer) of the transfer my state came from
        self.store: dict[str, str] = {}
        self.dedup: dict[str, int] = {}
        self.last_ping = 0  # the view number last sent in a ping
        self.stale = False  # my backup knows a newer view than mine
        self.queue: list[Request] = []
        self.current: Request | None = None  # forwarded, waiting for the backup

    def on_start(self) -> None:
        self.me = self.ctx.name
        self.boot = self.ctx.random.getrandbits(48)
        self.on_timer("tick")

    # ------------------------------------------------------------------ roles

    def is_active(self) -> bool:
        """Primary of my view, with that view's complete state (public: the explorer's view
        monitor asks it too)."""
        return self.view.primary == self.me and self.synced == self.view.num > 0

    def is_serving(self) -> bool:
        """Active, not stale, and the view's backup (if any) has the state: only then may
        the primary answer clients, so the explorer's monitor checks who claims to."""
        v = self.view
        return (self.is_active() and not self.stale
                and (not v.backup or self.backup_synced == v.num))

    def _ping_num(self) -> int:
        if self.synced == 0:
            return 0
        if self.view.primary == self.me and not self.is_serving():
            return self.last_ping  # not ready: do not acknowledge the view yet
        return self.view.num

    # ------------------------------------------------------------------ events

    def on_timer(self, name: str) -> None:
        if name == "tick":
            self.last_ping = self._ping_num()
            self.ctx.send(self.vs, VSPing(self.last_ping, self.boot))
            self.ctx.set_timer("tick", PING_INTERVAL)
        elif name == "peer":
            self._to_backup()

    def on_message(self, src: str, msg: Any) -> None:
        if isinstance(msg, VSPingReply):
            self._learn(msg.view, msg.genesis)
        elif isinstance(msg, (PBGet, PBPutAppend)):
            self._request(src, msg)
        elif isinstance(msg, PBForward):
            self._forwarded(src, msg)
        elif isinstance(msg, PBForwardReply):
            self._forward_reply(msg)
        elif isinstance(msg, PBTransfer):
            self._transfer(src, msg)
        elif isinstance(msg, PBTransferReply):
            self._transfer_reply(msg)

    # ------------------------------------------------------------------ views

    def _learn(self, v: View, genesis: bool) -> None:
        old = self.view
        if v.num <= old.num:
            return
        if v.primary == self.me:
            if v.num == 1 and genesis and self.synced == 0:
                self.synced = 1
            elif (self.synced == old.num > 0 and v.num == old.num + 1
                  and self.me in (old.primary, old.backup)):
                self.synced = v.num  # I held the complete state of the previous view
        self._set_view(v)

    def _set_view(self, v: View) -> None:
        was_primary = self.view.primary == self.me
        self.view = v
        self.stale = False
        self.backup_synced = 0
        self.ctx.cancel_timer("peer")
        if v.primary != self.me:
            if was_primary:
                self._abort()
            return
        self._resume()

    def _resume(self) -> None:
        """Carry on as primary: initialise the backup, or go on with the operations."""
        if not self.is_active() or self.stale:
            return
        if self.view.backup and self.backup_synced != self.view.num:
            self._to_backup()
            return
        if self.current is not None:
            if self.view.backup:
                self.send_forward()
                return
            self.commit()
        self._pump()

    def _abort(self) -> None:
        """I cannot serve: turn every waiting clerk away so it asks the viewservice."""
        waiting = ([self.current] if self.current else []) + self.queue
        self.current, self.queue = None, []
        for client, seq, *_ in waiting:
            self.ctx.send(client, PBReply(seq, ERR_WRONG_SERVER, "", self.view.num))
        self.ctx.cancel_timer("peer")

    # ------------------------------------------------------------------ primary

    def _request(self, src: str, msg: PBGet | PBPutAppend) -> None:
        if not self.is_active() or self.stale:
            self.ctx.send(src, PBReply(msg.seq, ERR_WRONG_SERVER, "", self.view.num))
            return
        if isinstance(msg, PBGet):
            req: Request = (src, msg.seq, "get", msg.key, "")
        else:
            req = (src, msg.seq, "append" if msg.append else "put", msg.key, msg.value)
            if self.is_duplicate(src, msg.seq):
                self.ctx.send(src, PBReply(msg.seq, OK, "", self.view.num))
                return
        if self.current is not None and self.current[:2] == req[:2]:
            return  # a retry of the operation in progress
        if any(q[:2] == req[:2] for q in self.queue):
            return
        self.queue = [q for q in self.queue if q[0] != src]  # the clerk gave up on those
        self.queue.append(req)
        self._pump()

    def is_duplicate(self, client: str, seq: int) -> bool:
        """Whether this clerk's request ``seq`` was applied already (the at-most-once table)."""
        return self.dedup.get(client, 0) >= seq

    def _pump(self) -> None:
        while self.current is None and self.queue and self.is_serving():
            req = self.queue.pop(0)
            client, seq, op = req[:3]
            if op != "get" and self.is_duplicate(client, seq):
                self.ctx.send(client, PBReply(seq, OK, "", self.view.num))
                continue
            self.current = req
            if not self.view.backup:
                self.commit()
            else:
                self.replicate()

    def replicate(self) -> None:
        """With a backup, the operation in progress goes to it first; its acknowledgement
        commits and answers it."""
        self.send_forward()

    def send_forward(self) -> None:
        client, seq, op, key, value = self.current
        idx = self.applied if op == "get" else self.applied + 1
        self.ctx.send(self.view.backup,
                      PBForward(self.view.num, idx, client, seq, op, key, value))
        self.ctx.set_timer("peer", PEER_RETRY)

    def _to_backup(self) -> None:
        """(Re)send what the backup still has to acknowledge: the state, or the operation."""
        if not self.is_active() or self.stale or not self.view.backup:
            return
        if self.backup_synced != self.view.num:
            self.xfer += 1
            self.ctx.send(self.view.backup, PBTransfer(self.view, self.xfer, self.applied,
                                                       dict(self.store), dict(self.dedup)))
            self.ctx.set_timer("peer", PEER_RETRY)
        elif self.current is not None:
            self.send_forward()

    def commit(self) -> None:
        client, seq, op, key, value = self.current
        self.current = None
        if op == "get":
            self.ctx.send(client, PBReply(seq, OK, self.store.get(key, ""), self.view.num))
            return
        self._apply(client, seq, op, key, value)
        self.ctx.send(client, PBReply(seq, OK, "", self.view.num))

    def _apply(self, client: str, seq: int, op: str, key: str, value: str) -> None:
        self.store[key] = self.store.get(key, "") + value if op == "append" else value
        self.dedup[client] = max(seq, self.dedup.get(client, 0))
        self.applied += 1

    def _forward_reply(self, msg: PBForwardReply) -> None:
        if msg.viewnum != self.view.num or not self.is_active():
            return
        if msg.err == ERR_WRONG_VIEW:
            self.stale = True
            self._abort()
        elif msg.err == ERR_NOT_SYNCED:
            if self.backup_synced == self.view.num:  # once per loss of the backup's state
                self.backup_synced = 0
                self._to_backup()
        elif (self.current is not None and msg.err == OK
              and (msg.client, msg.seq) == self.current[:2]):
            self.ctx.cancel_timer("peer")
            self.commit()
            self._pump()

    def _transfer_reply(self, msg: PBTransferReply) -> None:
        if (msg.viewnum != self.view.num or not self.is_active() or msg.xfer != self.xfer
                or self.backup_synced == msg.viewnum):
            return
        if msg.err == ERR_WRONG_VIEW:
            self.stale = True
            self._abort()
        elif msg.err == OK:
            self.backup_synced = msg.viewnum
            self.ctx.cancel_timer("peer")
            self._resume()

    # ------------------------------------------------------------------ backup

    def _forwarded(self, src: str, m: PBForward) -> None:
        v = self.view
        if m.viewnum < v.num or (m.viewnum == v.num and v.backup != self.me):
            err = ERR_WRONG_VIEW
        elif m.viewnum > v.num or self.synced != v.num:
            err = ERR_NOT_SYNCED
        elif m.op == "get" or m.idx <= self.applied:
            err = OK  # a Get only needs the confirmation; a lower index is a duplicate
        elif m.idx == self.applied + 1:
            self._apply(m.client, m.seq, m.op, m.key, m.value)
            err = OK
        else:
            err = ERR_NOT_SYNCED
        self.ctx.send(src, PBForwardReply(m.viewnum, m.idx, m.client, m.seq, err))

    def _transfer(self, src: str, m: PBTransfer) -> None:
        v = m.view
        if v.num < self.view.num or v.backup != self.me or v.primary != src:
            err = ERR_WRONG_VIEW
        elif (v.num, m.xfer) <= self.installed:
            err = OK  # an old copy of a transfer I already built on: keep the newer state
        else:
            if v.num > self.view.num:
                self._set_view(v)
            self.store, self.dedup = dict(m.store), dict(m.dedup)
            self.applied = m.applied
            self.synced = v.num
            self.installed = (v.num, m.xfer)
            err = OK
        self.ctx.send(src, PBTransferReply(v.num, m.xfer, err))

    # ------------------------------------------------------------------ observation

    def abstract_state(self) -> Any:
        v = self.view
        role = ("primary" if v.primary == self.me else
                "backup" if v.backup == self.me else "idle")
        return {"view": [v.num, v.primary, v.backup], "role": role,
                "serving": self.is_serving(), "synced": self.synced,
                "backup_synced": self.backup_synced, "applied": self.applied,
                "store": dict(sorted(self.store.items()))}
