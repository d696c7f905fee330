"""Seeded bugs of the sharded service, as subclasses of the correct servers: each is one
mistake a student's shardkv or shardctrler makes, and the tests must catch every one. The
production classes carry no bug flags; a test passes one of these as ``server=``.

Group servers (:class:`~faultlab.shard.server.ShardKVServer`):

* :class:`ServeBeforeArrival`: a group serves a shard it is still pulling, from an empty
  store (reads miss the data, writes go to a copy the pull then overwrites).
* :class:`MigrateWithoutDuplicates`: a shard's data moves without its duplicate table, so a
  write retried at the new owner is applied a second time.
* :class:`SkipConfigurations`: a group jumps to the latest configuration instead of the
  next, so it misses the moves of the ones between.

Controller servers (:class:`~faultlab.shard.ctrler.CtrlerServer`):

* :class:`ReplicaDependentRebalance`: the rebalance hands free shards out in an order that
  depends on the replica (as iterating over a Go map does), so replicas disagree.
* :class:`NonMinimalRebalance`: the rebalance deals every shard out again, round robin.
"""

from __future__ import annotations

import zlib
from typing import Any

from faultlab.kv.store import KVStore, Result
from faultlab.shard.config import NSHARDS, Config, key2shard, rebalance
from faultlab.shard.ctrler import QUERY, ConfigStore, CtrlerServer, CtrlOp, CtrlReply, CtrlRequest
from faultlab.shard.messages import InstallShard, Reconfigure
from faultlab.shard.server import ShardKVServer
from faultlab.shard.store import PULLING, ShardStore
from faultlab.sim import codec

__all__ = ["GROUP_BUGS", "CTRLER_BUGS", "ServeBeforeArrival", "MigrateWithoutDuplicates",
           "SkipConfigurations", "ReplicaDependentRebalance", "NonMinimalRebalance"]


# ---------------------------------------------------------------------- group servers

class _ServingWhilePulling(ShardStore):
    def apply_op(self, op: Any) -> Result:
        shard = key2shard(op.key)
        if self.state.get(shard) == PULLING:
            self.stores.setdefault(shard, KVStore())
            return self.stores[shard].apply(op)
        return super().apply_op(op)


class ServeBeforeArrival(ShardKVServer):
    def make_state_machine(self) -> ShardStore:
        return _ServingWhilePulling(self.gid)


class _InstallWithoutDuplicates(ShardStore):
    def install(self, cmd: InstallShard) -> None:
        dups, rows = codec.decode(cmd.data)
        super().install(InstallShard(cmd.num, cmd.shard, codec.encode(([], rows))))


class MigrateWithoutDuplicates(ShardKVServer):
    def make_state_machine(self) -> ShardStore:
        return _InstallWithoutDuplicates(self.gid)


class SkipConfigurations(ShardKVServer):
    """Asks the controller for the latest configuration and applies it as the next."""

    def make_state_machine(self) -> ShardStore:
        return _SkippingStore(self.gid)

    def poll(self) -> None:
        if self.sm.stable():
            self.ctx.send(self.pick(self.ctrlers),
                          CtrlRequest(CtrlOp(QUERY, num=-1, client=self.ctx.name)))
        super().poll()

    def on_request(self, src: str, msg: Any) -> None:
        if (isinstance(msg, CtrlReply) and msg.config is not None
                and msg.config.num > self.sm.config.num + 1):
            self.submit(Reconfigure(msg.config), None)
            return
        super().on_request(src, msg)


class _SkippingStore(ShardStore):
    def reconfigure(self, config: Config) -> None:
        if config.num > self.config.num + 1 and self.stable():
            skipped = Config(self.config.num + 1, config.shards, config.groups)
            super().reconfigure(skipped)
            return
        super().reconfigure(config)


GROUP_BUGS = (ServeBeforeArrival, MigrateWithoutDuplicates, SkipConfigurations)


# ---------------------------------------------------------------------- controller servers

class _SaltedStore(ConfigStore):
    def __init__(self, salt: str) -> None:
        super().__init__()
        self.salt = salt

    def rebalance(self, shards: tuple[int, ...], groups: dict) -> tuple[int, ...]:
        # the correct rebalance, on gids renamed in an order of this replica's own
        order = sorted(groups, key=lambda g: zlib.crc32(f"{self.salt}:{g}".encode()))
        rank = {g: i + 1 for i, g in enumerate(order)}
        ranked = rebalance([rank.get(g, 0) for g in shards], rank.values())
        return tuple(order[r - 1] if r else 0 for r in ranked)


class ReplicaDependentRebalance(CtrlerServer):
    def make_state_machine(self) -> ConfigStore:  # type: ignore[override]
        return _SaltedStore(self.ctx.name)


class _RoundRobinStore(ConfigStore):
    def rebalance(self, shards: tuple[int, ...], groups: dict) -> tuple[int, ...]:
        gids = sorted(groups)
        if not gids:
            return (0,) * NSHARDS
        return tuple(gids[s % len(gids)] for s in range(NSHARDS))


class NonMinimalRebalance(CtrlerServer):
    def make_state_machine(self) -> ConfigStore:  # type: ignore[override]
        return _RoundRobinStore()


CTRLER_BUGS = (ReplicaDependentRebalance, NonMinimalRebalance)
