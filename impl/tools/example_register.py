"""A register replicated by a primary and a backup: the runtime's own test protocol.

Clerks send writes to the primary and reads to the backup. The primary numbers each write,
sends it to the backup, and answers the clerk once the backup acknowledged it; the backup
keeps the highest-numbered value and answers reads. A write has therefore reached the backup
before it completes, and every read that starts afterwards sees it (or a later one).

``ack_before_replicate=True`` seeds the classic bug: the primary answers the clerk as soon as
it has numbered the write, so a read that starts after the write completed can still see the
old value at the backup. The runtime's tests show that the Hypothesis machine finds this and
shrinks it to a few steps, and that the correct variant survives the same exploration.

Both servers persist their state on every change, so crashes and restarts lose nothing; a
clerk retries every 100 ms with the same sequence number and the primary applies a retried
write at most once.
"""

from __future__ import annotations

from typing import Any

from faultlab.sim import codec
from faultlab.sim.messages import message
from faultlab.sim.network import ADVERSARIAL
from faultlab.sim.node import ClientNode, Node
from faultlab.sim.world import CallRecord, World
from faultlab.tools.explore import WorldMachine
from faultlab.tools.history import operations
from hypothesis import strategies as st

PRIMARY, BACKUP = "primary", "backup"
RETRY = 0.1


@message
class Write:
    client: str
    seq: int
    value: str


@message(reply=True)
class WriteOk:
    seq: int


@message
class Read:
    seq: int


@message(reply=True)
class ReadOk:
    seq: int
    value: str


@message
class Replicate:
    version: int
    value: str


@message(reply=True)
class ReplicateAck:
    version: int


class Primary(Node):
    accepts = (Write, ReplicateAck)

    def __init__(self, ack_before_replicate: bool = False) -> None:
        self.ack_before_replicate = ack_before_replicate
        self.version = 0
        # client -> (seq, version, value, acknowledged by the backup)
        self.clients: dict[str, tuple[int, int, str, bool]] = {}

    def on_start(self) -> None:
        saved = self.ctx.persister.read_state()
        if saved:
            self.version, clients = codec.decode(saved)
            self.clients = {c: tuple(v) for c, v in clients.items()}

    def _persist(self) -> None:
        self.ctx.persister.save(codec.encode((self.version, self.clients)))

    def on_message(self, src: str, msg: Any) -> None:
        if isinstance(msg, Write):
            seen = self.clients.get(msg.client)
            if seen is not None and seen[0] == msg.seq:  # a retry: never number it twice
                _, version, value, acked = seen
                if acked or self.ack_before_replicate:
                    self.ctx.send(msg.client, WriteOk(msg.seq))
                else:
                    self.ctx.send(BACKUP, Replicate(version, value))
                return
            if seen is not None and seen[0] > msg.seq:
                return  # an old duplicate
            self.version += 1
            self.clients[msg.client] = (msg.seq, self.version, msg.value, False)
            self._persist()
            self.ctx.send(BACKUP, Replicate(self.version, msg.value))
            if self.ack_before_replicate:
                self.ctx.send(msg.client, WriteOk(msg.seq))
        elif isinstance(msg, ReplicateAck):
            for client, (seq, version, value, acked) in list(self.clients.items()):
                if version == msg.version and not acked:
                    self.clients[client] = (seq, version, value, True)
                    self._persist()
                    if not self.ack_before_replicate:
                        self.ctx.send(client, WriteOk(seq))


class Backup(Node):
    accepts = (Replicate, Read)

    def __init__(self) -> None:
        self.version = 0
        self.value = ""

    def on_start(self) -> None:
        saved = self.ctx.persister.read_state()
        if saved:
            self.version, self.value = codec.decode(saved)

    def on_message(self, src: str, msg: Any) -> None:
        if isinstance(msg, Replicate):
            if msg.version > self.version:
                self.version, self.value = msg.version, msg.value
                self.ctx.persister.save(codec.encode((self.version, self.value)))
            self.ctx.send(src, ReplicateAck(msg.version))
        elif isinstance(msg, Read):
            self.ctx.send(src, ReadOk(msg.seq, self.value))


class Clerk(ClientNode):
    """Calls are ``{"op": "write", "value": v}`` (output None) and ``{"op": "read"}``."""

    accepts = (WriteOk, ReadOk)

    def __init__(self) -> None:
        self.seq = 0
        self.request: Write | Read | None = None

    def on_call(self, input: Any) -> None:
        self.seq += 1
        if input["op"] == "write":
            self.request = Write(self.ctx.name, self.seq, input["value"])
        else:
            self.request = Read(self.seq)
        self._send()

    def _send(self) -> None:
        if self.request is not None:
            self.ctx.send(PRIMARY if isinstance(self.request, Write) else BACKUP, self.request)
            self.ctx.set_timer("retry", RETRY)

    def on_timer(self, name: str) -> None:
        self._send()

    def on_message(self, src: str, msg: Any) -> None:
        if self.request is None or getattr(msg, "seq", None) != self.seq:
            return
        self.request = None
        self.ctx.cancel_timer("retry")
        self.ctx.complete(msg.value if isinstance(msg, ReadOk) else None)


def build(seed: int = 0, *, clerks: int = 2, ack_before_replicate: bool = False,
          **world_options: Any) -> World:
    """A World with the primary, the backup and ``clerks`` clerks named c0, c1, ..."""
    world = World(seed, **world_options)
    world.add_node(PRIMARY, lambda: Primary(ack_before_replicate))
    world.add_node(BACKUP, Backup)
    for i in range(clerks):
        world.add_client(f"c{i}", Clerk)
    return world.start()


def stale_reads(history: list[CallRecord]) -> list[CallRecord]:
    """Completed reads that returned a value already overwritten when they began.

    A read is stale when it returns the value of write A although some write B began after A
    completed and B completed before the read began (the initial "" counts as a write that
    completed at time minus infinity). Written values must be unique. A stale read makes a
    history non-linearizable; this is the property the example protocol is meant to keep.
    """
    writes = {r.input["value"]: r for r in history if r.input["op"] == "write"}
    completed = [r for r in history if r.input["op"] == "write" and r.done]
    bad = []
    for r in history:
        if r.input["op"] != "read" or not r.done:
            continue
        source = writes.get(r.output)
        source_end = source.ret if source is not None else float("-inf")
        if source is not None and source_end is None:
            continue
        if any(w.call > source_end and w.ret < r.call for w in completed):
            bad.append(r)
    return bad



# ---------------------------------------------------------------------- the adversarial machine

class RegisterMachine(WorldMachine):
    """Hypothesis explores the correct register: no stale read may ever appear."""

    ack_before_replicate = False

    @classmethod
    def build_world(cls, seed: int) -> World:
        return build(seed, clerks=2, ack_before_replicate=cls.ack_before_replicate,
                     profile=ADVERSARIAL)

    def call_input(self) -> st.SearchStrategy:
        self.written = getattr(self, "written", 0) + 1
        return st.sampled_from([{"op": "read"}, {"op": "write", "value": f"v{self.written}"}])

    def search_workload(self) -> dict[str, list]:
        clerks = sorted(self.world.clients)
        return {clerks[0]: [{"op": "write", "value": "v1"}, {"op": "read"}],
                clerks[1]: [{"op": "read"}, {"op": "write", "value": "v2"}]}

    def check_safety(self) -> None:
        stale = stale_reads(self.world.history)
        assert not stale, f"stale read: {stale[0]}"

    def end_checks(self) -> None:
        from faultlab.checker.linearizability import Verdict, check
        from faultlab.checker.models import Register

        result = check(operations(self.world), Register(""), timeout=10)
        assert result.verdict != Verdict.ILLEGAL, "history is not linearizable"


class BuggyRegisterMachine(RegisterMachine):
    """The same exploration of the seeded bug (the primary acknowledges too early)."""

    ack_before_replicate = True
