"""What a sharded key/value group puts in its log, and what groups send each other.

Clerks speak the key/value service's messages (:mod:`faultlab.kv.messages`) to a group; a
group that does not serve the key's shard now answers ``ErrWrongGroup``.

The group's log holds, beside the clerks' operations:

* :class:`Reconfigure`: move to the next configuration (one at a time, in order);
* :class:`InstallShard`: a shard's data and duplicate table, pulled from its previous owner;
* :class:`DeleteShard`: the new owner has a shard this group offered: drop it;
* :class:`ShardReceived`: the previous owner dropped a shard this group pulled;
* :class:`LeaderNoOp`: proposed by a server when it starts leading a term. Raft commits the
  entries of earlier terms only with one of the current term (Figure 8), and a group that
  waits for its own offered shards to be deleted proposes nothing else: without it, a new
  leader whose log holds the Deletes uncommitted never applies them, never moves to the
  next configuration, and the group that pulls from it waits for ever.

Between groups: :class:`ShardPull` (send me shard ``s`` as of configuration ``num``) and
:class:`ShardDelete` (I have shard ``s`` of configuration ``num``: drop your copy), each with
its reply.
"""

from __future__ import annotations

from faultlab.shard.config import Config
from faultlab.sim.messages import message

__all__ = ["ERR_WRONG_GROUP", "ERR_NOT_READY", "Reconfigure", "InstallShard", "DeleteShard",
           "ShardReceived", "LeaderNoOp", "ShardPull", "ShardPullReply", "ShardDelete",
           "ShardDeleteReply"]

ERR_WRONG_GROUP = "ErrWrongGroup"
ERR_NOT_READY = "ErrNotReady"   # the asked group has not reached that configuration


@message
class Reconfigure:
    config: Config


@message
class InstallShard:
    """Shard ``shard`` as its owner in configuration ``num`` - 1 left it (a key/value store
    snapshot: data and duplicate table)."""

    num: int
    shard: int
    data: bytes


@message
class DeleteShard:
    num: int
    shard: int


@message
class ShardReceived:
    num: int
    shard: int


@message
class LeaderNoOp:
    term: int


@message
class ShardPull:
    num: int
    shard: int


@message(reply=True)
class ShardPullReply:
    num: int
    shard: int
    err: str
    data: bytes = b""


@message
class ShardDelete:
    num: int
    shard: int


@message(reply=True)
class ShardDeleteReply:
    num: int
    shard: int
    err: str
