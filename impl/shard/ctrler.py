"""The shard controller: a replicated service that keeps the numbered configurations.

Join (new groups and their servers), Leave (gids) and Move (one shard to one group) each
make a new configuration; Query(num) returns configuration ``num``, or the latest for -1 (or
any number past it). Queries go through the log like the rest: a replica answering from its
own state could be cut off and stale (the 2015 ``TestFreshQuery``). Join and Leave rebalance
(:func:`~faultlab.shard.config.rebalance`); Move does not, and a later Join or Leave may undo
it. The duplicate table makes a retried Join, Leave or Move apply once.

The server is a :class:`~faultlab.kv.rsm.ReplicatedServer` (the key/value server's
serving, with other messages) on either engine: the
configurations and the duplicate table are its whole state, and its snapshot.
"""

from __future__ import annotations

from typing import Any

from faultlab.kv.messages import ERR_WRONG_LEADER, OK
from faultlab.kv.server import KVServer
from faultlab.kv.store import DuplicateTable
from faultlab.shard.config import Config, Groups, groups_of, initial_config, rebalance
from faultlab.sim import codec
from faultlab.sim.messages import message

__all__ = ["JOIN", "LEAVE", "MOVE", "QUERY", "CtrlOp", "CtrlRequest", "CtrlReply",
           "ConfigStore", "CtrlerServer", "ctrl_op_from_input"]

JOIN, LEAVE, MOVE, QUERY = "join", "leave", "move", "query"
CTRL_OPS = (JOIN, LEAVE, MOVE, QUERY)


@message
class CtrlOp:
    """One command of the controller: ``groups`` for a Join, ``gids`` for a Leave,
    ``shard`` and ``gid`` for a Move, ``num`` for a Query; the caller's id and sequence
    number for the duplicate table."""

    kind: str
    groups: Groups = ()
    gids: tuple[int, ...] = ()
    shard: int = 0
    gid: int = 0
    num: int = -1
    client: str = ""
    seq: int = 0


@message
class CtrlRequest:
    op: CtrlOp


@message(reply=True)
class CtrlReply:
    """The answer to request ``seq``: an error code, a Query's configuration, and the
    server the replier believes takes proposals."""

    seq: int
    err: str
    config: Config | None = None
    leader: str = ""


def ctrl_op_from_input(input: Any, client: str, seq: int) -> CtrlOp:
    """The CtrlOp of a controller call's input dict: ``{"op": "join", "groups": {gid:
    [servers]}}``, ``{"op": "leave", "gids": [...]}``, ``{"op": "move", "shard": s, "gid":
    g}``, ``{"op": "query", "num": n}`` (a one-line ValueError for a bad one)."""
    if not isinstance(input, dict) or input.get("op") not in CTRL_OPS:
        raise ValueError(f"not a controller operation: {input!r} (op must be one of "
                         f"{CTRL_OPS})")
    kind = input["op"]
    return CtrlOp(kind, groups_of(input.get("groups", {})),
                  tuple(int(g) for g in input.get("gids", ())), int(input.get("shard", 0)),
                  int(input.get("gid", 0)), int(input.get("num", -1)), client, seq)


class ConfigStore:
    """The controller's state machine: every configuration so far, and the duplicate table."""

    def __init__(self) -> None:
        self.configs: list[Config] = [initial_config()]
        self.dups = DuplicateTable()

    def latest(self) -> Config:
        return self.configs[-1]

    def apply(self, op: CtrlOp) -> tuple[str, Config | None]:
        if op.kind == QUERY:
            num = op.num
            return OK, self.configs[num if 0 <= num < len(self.configs) else -1]
        if op.client and self.dups.seen(op.client, op.seq) is not None:
            return OK, None
        self.execute(op)
        if op.client:
            self.dups.record(op.client, op.seq, OK)
        return OK, None

    def execute(self, op: CtrlOp) -> None:
        last = self.latest()
        groups = dict(last.groups)
        shards = last.shards
        if op.kind == JOIN:
            groups.update(op.groups)
            shards = self.rebalance(shards, groups)
        elif op.kind == LEAVE:
            for gid in op.gids:
                groups.pop(gid, None)
            shards = self.rebalance(shards, groups)
        elif op.kind == MOVE:
            if not 0 <= op.shard < len(shards):
                return
            shards = shards[:op.shard] + (op.gid,) + shards[op.shard + 1:]
        else:
            raise ValueError(f"unknown controller operation {op.kind!r}")
        self.configs.append(Config(last.num + 1, shards, groups_of(groups)))

    def rebalance(self, shards: tuple[int, ...], groups: dict) -> tuple[int, ...]:
        """The assignment after a Join or Leave (a seeded bug overrides this)."""
        return rebalance(shards, groups)

    def snapshot(self) -> bytes:
        return codec.encode((self.dups.dump(), self.configs))

    def restore(self, data: bytes) -> None:
        dups, configs = codec.decode(data)
        self.configs = list(configs)
        self.dups.load(dups)


class CtrlerServer(KVServer):
    """One replica of the shard controller (engine and maxraftstate: see ReplicatedServer).
    It serves as the key/value server does (through the log, forwarded to the leader), on
    a :class:`ConfigStore` and with the controller's own request and reply."""

    def make_state_machine(self) -> ConfigStore:  # type: ignore[override]
        return ConfigStore()

    def on_request(self, src: str, msg: Any) -> None:
        if isinstance(msg, CtrlRequest):
            self.serve(src, msg.op, forwarded_for="")
        else:
            super().on_request(src, msg)

    def reply_for(self, seq: int, result: Any) -> CtrlReply:
        err, config = result
        return CtrlReply(seq, err, config)

    def refusal(self, seq: int, hint: str) -> CtrlReply:
        return CtrlReply(seq, ERR_WRONG_LEADER, leader=hint)
