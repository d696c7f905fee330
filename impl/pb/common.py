"""Constants and messages shared by the viewservice, the pbservice servers and the clerks.

Names follow the 2015 lab: ``PingInterval`` = 100 ms, ``DeadPings`` = 5. Message classes are
prefixed (``VS``, ``PB``) because the wire codec registers records by class name and other
systems have their own ``Get`` and ``PutAppend``.
"""

from __future__ import annotations

from faultlab.sim.messages import message

__all__ = [
    "PING_INTERVAL", "DEAD_PINGS", "CLERK_RETRY", "PEER_RETRY", "VIEWSERVICE",
    "OK", "ERR_WRONG_SERVER", "ERR_WRONG_VIEW", "ERR_NOT_SYNCED",
    "View", "NO_VIEW", "VSPing", "VSPingReply", "VSGetView", "VSViewReply",
    "PBGet", "PBPutAppend", "PBReply", "PBForward", "PBForwardReply", "PBTransfer",
    "PBTransferReply",
]

PING_INTERVAL = 0.1  # seconds between two pings of a server (and two viewservice ticks)
DEAD_PINGS = 5  # a server is dead after this many ping intervals without a ping
CLERK_RETRY = 0.1  # a clerk without an answer asks the viewservice again after this
PEER_RETRY = 0.05  # a primary re-sends an unacknowledged forward or state transfer after this
VIEWSERVICE = "vs"  # the viewservice's node name unless a World says otherwise

OK = "OK"
ERR_WRONG_SERVER = "ErrWrongServer"  # to a clerk: I am not (or cannot act as) the primary
ERR_WRONG_VIEW = "ErrWrongView"  # to a primary: I know a newer view than yours
ERR_NOT_SYNCED = "ErrNotSynced"  # to a primary: I lack your state, send me a full transfer


@message
class View:
    """View ``num`` names a primary and a backup ("" = none); view 0 is "no view yet"."""

    num: int
    primary: str
    backup: str


NO_VIEW = View(0, "", "")


@message
class VSPing:
    """A server's heartbeat: the view it has accepted (0 = I have no state, e.g. just
    restarted) and a random id of this incarnation."""

    viewnum: int
    boot: int


@message(reply=True)
class VSPingReply:
    """The current view; ``genesis`` is true only for the incarnation the viewservice made
    primary of view 1, which alone may start the store from empty."""

    view: View
    genesis: bool


@message
class VSGetView:
    """A clerk (or a test) asks for the current view without pinging."""


@message(reply=True)
class VSViewReply:
    view: View


@message
class PBGet:
    seq: int
    key: str


@message
class PBPutAppend:
    seq: int
    key: str
    value: str
    append: bool


@message(reply=True)
class PBReply:
    """Answer to a clerk's request ``seq``; ``viewnum`` is the view the primary served in."""

    seq: int
    err: str
    value: str
    viewnum: int


@message
class PBForward:
    """Primary to backup: apply operation ``idx`` of the store's history (a Get carries the
    current index and only asks the backup to confirm it still backs up view ``viewnum``)."""

    viewnum: int
    idx: int
    client: str
    seq: int
    op: str
    key: str
    value: str


@message(reply=True)
class PBForwardReply:
    viewnum: int
    idx: int
    client: str
    seq: int
    err: str


@message
class PBTransfer:
    """Primary to backup: the whole state (store, at-most-once table, op index) for a view.
    ``xfer`` numbers the primary's transfers: a backup never installs an older one again."""

    view: View
    xfer: int
    applied: int
    store: dict
    dedup: dict


@message(reply=True)
class PBTransferReply:
    viewnum: int
    xfer: int
    err: str
