"""The state machine of one sharded key/value group: its shards, each in one of three states.

Per shard the group holds a :class:`~faultlab.kv.store.KVStore` (data and duplicate table,
so a write retried after its shard moved still applies once) and a state:

* SERVING: the group serves the shard in the current configuration;
* PULLING: the current configuration gives the group the shard, whose data is still with
  its previous owner; clerks get ``ErrWrongGroup`` until :class:`InstallShard` brings it;
* OFFERING: the current configuration moved the shard away; its data is frozen (no clerk is
  served) and kept until the new owner has it (:class:`DeleteShard`).

``received`` lists the shards pulled whose previous owner has not yet confirmed it dropped
them (it is told with :class:`ShardDelete`); they are served meanwhile.

The group moves to configuration ``n`` + 1 only from a stable ``n``: no shard PULLING or
OFFERING. So configurations apply one at a time and in order, a shard's data leaves a group
only once, and at most one group serves a shard at any configuration. Shards that a
reconfiguration does not move keep serving through it, and a shard serves as soon as it
arrives.

Every command is checked when it is applied, against the state it finds (a stale or repeated
command changes nothing), because the log decides the order: a leader proposes from what it
has applied, which may be behind what the log holds.
"""

from __future__ import annotations

from typing import Any

from faultlab.kv.messages import Op
from faultlab.kv.store import KVStore, Result
from faultlab.shard.config import NSHARDS, Config, initial_config, key2shard
from faultlab.shard.messages import (
    ERR_WRONG_GROUP,
    DeleteShard,
    InstallShard,
    LeaderNoOp,
    Reconfigure,
    ShardReceived,
)
from faultlab.sim import codec

__all__ = ["SERVING", "PULLING", "OFFERING", "ShardStore"]

SERVING, PULLING, OFFERING = "serving", "pulling", "offering"


class ShardStore:
    """What group ``gid`` keeps (see the module docstring)."""

    def __init__(self, gid: int) -> None:
        self.gid = gid
        self.config: Config = initial_config()
        self.prev: Config = initial_config()
        self.state: dict[int, str] = {}          # shard -> SERVING | PULLING | OFFERING
        self.stores: dict[int, KVStore] = {}     # shard -> its data (not while PULLING)
        self.received: dict[int, tuple[int, tuple[str, ...]]] = {}  # shard -> (num, from)

    # ------------------------------------------------------------------ queries

    def serves(self, shard: int) -> bool:
        return self.state.get(shard) == SERVING and self.config.shards[shard] == self.gid

    def stable(self) -> bool:
        return all(s == SERVING for s in self.state.values())

    def shards_in(self, state: str) -> list[int]:
        return sorted(s for s, st in self.state.items() if st == state)

    def previous_owner(self, shard: int) -> tuple[str, ...]:
        """The servers of the group that held ``shard`` before the current configuration."""
        return self.prev.servers(self.prev.shards[shard])

    # ------------------------------------------------------------------ commands

    def apply(self, command: Any) -> Any:
        if isinstance(command, Op):
            return self.apply_op(command)
        if isinstance(command, Reconfigure):
            return self.reconfigure(command.config)
        if isinstance(command, InstallShard):
            return self.install(command)
        if isinstance(command, DeleteShard):
            return self.delete(command)
        if isinstance(command, ShardReceived):
            if self.received.get(command.shard, (None,))[0] == command.num:
                del self.received[command.shard]
            return None
        if isinstance(command, LeaderNoOp):
            return None
        raise ValueError(f"unknown command {command!r}")

    def apply_op(self, op: Op) -> Result:
        shard = key2shard(op.key)
        if not self.serves(shard):
            return ERR_WRONG_GROUP, "", 0
        return self.stores[shard].apply(op)

    def reconfigure(self, config: Config) -> None:
        if config.num != self.config.num + 1 or not self.stable():
            return
        old = self.config
        for s in range(NSHARDS):
            was, now = old.shards[s], config.shards[s]
            if now == self.gid and was != self.gid:
                if was == 0:
                    self.state[s] = SERVING
                    self.stores[s] = KVStore()
                else:
                    self.state[s] = PULLING
            elif was == self.gid and now != self.gid:
                self.state[s] = OFFERING
        self.prev, self.config = old, config

    def install(self, cmd: InstallShard) -> None:
        if cmd.num != self.config.num or self.state.get(cmd.shard) != PULLING:
            return
        store = KVStore()
        store.restore(cmd.data)
        self.stores[cmd.shard] = store
        self.state[cmd.shard] = SERVING
        self.received[cmd.shard] = (cmd.num, self.previous_owner(cmd.shard))

    def delete(self, cmd: DeleteShard) -> None:
        if cmd.num == self.config.num and self.state.get(cmd.shard) == OFFERING:
            del self.state[cmd.shard]
            del self.stores[cmd.shard]

    def offered(self, num: int, shard: int) -> bytes | None:
        """Shard ``shard``'s data when this group offers it in configuration ``num``."""
        if num == self.config.num and self.state.get(shard) == OFFERING:
            return self.stores[shard].snapshot()
        return None

    def dropped(self, num: int, shard: int) -> bool | None:
        """Whether this group dropped the ``shard`` it offered in configuration ``num``:
        True, False (still offered), or None (it has not reached ``num`` yet)."""
        if self.config.num < num:
            return None
        return not (self.config.num == num and self.state.get(shard) == OFFERING)

    # ------------------------------------------------------------------ snapshots

    def snapshot(self) -> bytes:
        shards = [(s, self.state[s], self.stores[s].snapshot() if s in self.stores else b"")
                  for s in sorted(self.state)]
        received = sorted((s, n, f) for s, (n, f) in self.received.items())
        return codec.encode((self.config, self.prev, shards, received))

    def restore(self, data: bytes) -> None:
        self.config, self.prev, shards, received = codec.decode(data)
        self.state, self.stores = {}, {}
        for s, st, blob in shards:
            self.state[s] = st
            if st != PULLING:
                self.stores[s] = KVStore()
                self.stores[s].restore(blob)
        self.received = {s: (n, tuple(f)) for s, n, f in received}
