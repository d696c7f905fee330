"""The viewservice: decides which server is primary and which is backup, one view at a time.

Protocol (2015 lab 2A). Every server pings every ``PING_INTERVAL`` with the number of the
view it has accepted; the viewservice answers with the current view. Views are numbered
1, 2, ...; the viewservice moves from view n to view n+1 only when

* the primary of view n has acknowledged view n (pinged with n): until then the primary may
  not know view n and may not have initialised its backup, so promoting that backup could
  lose data. While view n is unacknowledged the viewservice stays in it, whatever happens;
* and one of these happened: the primary died (no ping for ``DEAD_PINGS`` intervals) or
  restarted (pinged 0), so the backup becomes primary and an idle server (if any) becomes
  backup, in a single view change; the backup died or restarted, so an idle server (or
  none) replaces it; there is no backup and an idle server is alive.

The primary of view n+1 is always the primary or the backup of view n (any server for view
1, the first one to ping). A server that pings 0 is treated as dead for its role in the view
(it lost its state) but as alive otherwise: it may come back as backup. An idle server never
becomes primary directly, so a server that was never initialised cannot serve.

``genesis`` in a ping reply marks the one incarnation (by its boot id) that the viewservice
made primary of view 1: it may start the store from empty. A restarted view-1 primary has
another boot id and gets ``genesis=False``, so it cannot serve an empty store as if it were
the data.

Seeded bug: :class:`faultlab.pb.bugs.AdvanceWithoutAck` overrides
:meth:`ViewServer.may_change_view` to change views without the primary's acknowledgement.

Abstract state (``abstract_state``, for traces):
``view`` = [num, primary, backup]; ``acked`` = whether the primary acknowledged ``view``;
``alive`` = sorted names of servers pinged within ``DEAD_PINGS`` intervals.
"""

from __future__ import annotations

from typing import Any

from faultlab.pb.common import (
    DEAD_PINGS,
    NO_VIEW,
    PING_INTERVAL,
    View,
    VSGetView,
    VSPing,
    VSPingReply,
    VSViewReply,
)
from faultlab.sim.node import Node

__all__ = ["ViewServer"]

DEAD_AFTER = DEAD_PINGS * PING_INTERVAL


class ViewServer(Node):
    """The viewservice node; see the module docstring for the rules it follows."""

    def __init__(self) -> None:
        self.view = NO_VIEW
        self.acked = False  # the primary of ``view`` pinged with view.num
        self.primary_restarted = False  # the primary of ``view`` pinged 0 since
        self.last_ping: dict[str, float] = {}
        self.genesis_boot = -1  # boot id of view 1's primary

    def on_start(self) -> None:
        self.ctx.set_timer("tick", PING_INTERVAL)

    def on_timer(self, name: str) -> None:
        self.tick()
        self.ctx.set_timer("tick", PING_INTERVAL)

    def on_message(self, src: str, msg: Any) -> None:
        if isinstance(msg, VSPing):
            self.last_ping[src] = self.ctx.now()
            self._ping(src, msg)
            v = self.view
            genesis = v.num == 1 and v.primary == src and msg.boot == self.genesis_boot
            self.ctx.send(src, VSPingReply(v, genesis))
        elif isinstance(msg, VSGetView):
            self.ctx.send(src, VSViewReply(self.view))

    # ------------------------------------------------------------------ rules

    def may_change_view(self) -> bool:
        """The rule: no new view until the primary acknowledged the current one."""
        return self.acked

    def _alive(self, name: str) -> bool:
        seen = self.last_ping.get(name)
        return seen is not None and self.ctx.now() - seen < DEAD_AFTER

    def _idle(self, *exclude: str) -> str:
        """The first alive server with no role (and not excluded), or ""."""
        v = self.view
        for name in sorted(self.last_ping):
            if name not in (v.primary, v.backup, *exclude) and self._alive(name):
                return name
        return ""

    def _change(self, primary: str, backup: str) -> None:
        self.view = View(self.view.num + 1, primary, backup)
        self.acked = False
        self.primary_restarted = False
        self.ctx.log("view", num=self.view.num, primary=primary, backup=backup)

    def _ping(self, src: str, msg: VSPing) -> None:
        v = self.view
        if v.num == 0:
            self.genesis_boot = msg.boot
            self._change(src, "")
            return
        if src == v.primary:
            if msg.viewnum == v.num:
                self.acked = True
                self.primary_restarted = False
            elif msg.viewnum == 0:  # restarted: as good as dead
                self.primary_restarted = True
                if self.may_change_view():
                    self._primary_lost()
                    return
        elif src == v.backup and msg.viewnum == 0 and self.may_change_view():
            self._change(v.primary, self._idle(src))  # restarted backup loses its role
            return
        self._fill_backup()

    def _primary_lost(self) -> None:
        v = self.view
        if v.backup and self._alive(v.backup):
            self._change(v.backup, self._idle(v.primary))
        # no live backup: nobody else has the data, so the view must stay

    def _fill_backup(self) -> None:
        v = self.view
        if v.primary and not v.backup and self.may_change_view():
            idle = self._idle()
            if idle:
                self._change(v.primary, idle)

    def tick(self) -> None:
        """Every ping interval: replace dead servers, give a backup-less view a backup."""
        v = self.view
        if v.num == 0 or not self.may_change_view():
            return
        if self.primary_restarted or not self._alive(v.primary):
            self._primary_lost()
        elif v.backup and not self._alive(v.backup):
            self._change(v.primary, self._idle(v.backup))
        else:
            self._fill_backup()

    def abstract_state(self) -> Any:
        v = self.view
        return {"view": [v.num, v.primary, v.backup], "acked": self.acked,
                "alive": sorted(n for n in self.last_ping if self._alive(n))}
